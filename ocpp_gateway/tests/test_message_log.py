"""The OCPP message log: batched writer, retention and admin."""

import asyncio
import logging
import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from asgiref.sync import sync_to_async
from django.contrib.auth.models import Permission
from django.db import OperationalError, connection, connections
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ocpp_gateway import message_log
from ocpp_gateway.admin import MessageLogAdmin
from ocpp_gateway.message_log import (
    buffered_count,
    discard_buffered_frames,
    dropped_count,
    flush_message_log,
    flush_message_log_sync,
    log_frame,
    prune_message_log,
    start_message_log_writer,
    stop_message_log_writer,
)
from ocpp_gateway.models import MessageLog
from ocpp_gateway.tasks import prune_message_log_task


@pytest.fixture(autouse=True)
def empty_buffer():
    discard_buffered_frames()
    yield
    discard_buffered_frames()


def _call(cp="CP-1", message_id="m1", action="Heartbeat", payload=None, **kwargs):
    log_frame(
        charge_point_id=cp,
        direction=kwargs.pop("direction", "in"),
        message_type=kwargs.pop("message_type", 2),
        message_id=message_id,
        action=action,
        payload={} if payload is None else payload,
        **kwargs,
    )


def _inserts(queries) -> list[str]:
    """Inserts: Django logs an executemany as "<n> times: INSERT ..."; PostgreSQL's are a COPY."""
    return [q["sql"] for q in queries if any(verb in q["sql"].upper().split("(")[0] for verb in ("INSERT", "COPY"))]


# --- the writer ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_log_frame_does_not_touch_the_database_and_flush_is_one_batched_insert(django_assert_num_queries):
    connection_id = uuid.uuid4()
    with django_assert_num_queries(0):
        for n in range(5):
            _call(message_id=f"m{n}", payload={"n": n}, connection_id=connection_id)
    assert buffered_count() == 5
    assert MessageLog.objects.count() == 0

    with CaptureQueriesContext(connection) as captured:
        assert flush_message_log_sync() == 5
    assert len(_inserts(captured.captured_queries)) == 1  # (plus a savepoint inside the test's transaction)
    assert buffered_count() == 0
    assert list(MessageLog.objects.values_list("message_id", flat=True)) == [f"m{n}" for n in range(5)]
    assert {row.connection_id for row in MessageLog.objects.all()} == {connection_id}
    assert flush_message_log_sync() == 0


@pytest.mark.django_db
def test_payloads_and_fields_round_trip_in_order():
    at = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)
    payloads = [
        {"idTag": "ABC", "meterStart": 0, "nested": {"list": [1, 2.5, None, True]}, "text": "ünïcødé ⚡"},
        [1, "two", {"three": 3}],
        None,
    ]
    for n, payload in enumerate(payloads):
        log_frame(
            charge_point_id="CP-RT",
            direction="out",
            message_type=3,
            message_id=f"id-{n}",
            payload=payload,
            timestamp=at + timedelta(seconds=n),
        )
    log_frame(
        charge_point_id="CP-RT",
        direction="in",
        message_type=None,
        raw="x" * 5000,
        error_code="FormationViolation",
        error_description="not JSON",
        timestamp=at + timedelta(seconds=9),
    )
    assert flush_message_log_sync() == 4

    rows = list(MessageLog.objects.filter(charge_point_id="CP-RT"))
    assert [r.payload for r in rows[:3]] == payloads
    assert [r.timestamp for r in rows] == [at + timedelta(seconds=s) for s in (0, 1, 2, 9)]
    unparseable = rows[3]
    assert unparseable.message_type is None
    assert unparseable.payload is None
    assert len(unparseable.raw) == 4096
    assert unparseable.error_code == "FormationViolation"


@pytest.mark.django_db
def test_the_payload_is_kept_as_it_was_logged_with_its_connection_and_big_integers():
    connection_id = uuid.uuid4()
    payload = {"meterValue": [{"sampledValue": [{"value": "12"}]}], "big": 2**70}
    log_frame(charge_point_id="CP-KEEP", direction="in", message_type=2, payload=payload, connection_id=connection_id)
    payload["meterValue"].clear()  # the caller's object, changed after logging
    assert flush_message_log_sync() == 1
    row = MessageLog.objects.get(charge_point_id="CP-KEEP")
    assert row.payload == {"meterValue": [{"sampledValue": [{"value": "12"}]}], "big": 2**70}
    assert row.connection_id == connection_id


@pytest.mark.django_db
def test_timestamp_defaults_to_now_in_utc():
    before = datetime.now(UTC)
    _call()
    flush_message_log_sync()
    row = MessageLog.objects.get()
    assert before <= row.timestamp <= datetime.now(UTC)


@pytest.mark.django_db
def test_over_long_charger_strings_are_cut_to_the_columns():
    _call(cp="C" * 100, message_id="m" * 100, action="A" * 100, error_code="E" * 100, error_description="d" * 500)
    assert flush_message_log_sync() == 1
    row = MessageLog.objects.get()
    assert (len(row.charge_point_id), len(row.message_id), len(row.action)) == (48, 64, 64)
    assert (len(row.error_code), len(row.error_description)) == (64, 255)


@pytest.mark.django_db
def test_a_payload_the_database_refuses_is_kept_as_text_without_losing_the_batch():
    _call(message_id="good-1")
    _call(message_id="bad", payload={"not json": {1, 2}})
    _call(message_id="good-2")
    assert flush_message_log_sync() == 3
    rows = {r.message_id: r for r in MessageLog.objects.all()}
    assert rows["good-1"].payload == {}
    assert rows["good-2"].payload == {}
    assert rows["bad"].payload is None
    assert "not json" in rows["bad"].raw


def test_disabled_log_buffers_nothing(settings):
    settings.OCPP_MESSAGE_LOG_ENABLED = False
    _call()
    assert buffered_count() == 0


def test_full_buffer_drops_the_oldest_rows_and_counts_them(settings, caplog, db):
    settings.OCPP_MESSAGE_LOG_MAX_BUFFER = 3
    dropped_before = dropped_count()
    for n in range(5):
        _call(message_id=f"m{n}")
    assert buffered_count() == 3
    assert dropped_count() - dropped_before == 2

    with caplog.at_level(logging.WARNING, logger="ocpp_gateway.message_log"):
        assert flush_message_log_sync() == 3
    assert list(MessageLog.objects.values_list("message_id", flat=True)) == ["m2", "m3", "m4"]
    assert any("dropped 2 oldest" in r.getMessage() for r in caplog.records)


@pytest.mark.django_db
def test_a_failed_flush_keeps_the_rows_for_the_next_flush(caplog):
    def database_down(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "COPY")):  # COPY: how PostgreSQL is written to
            raise OperationalError("connection refused")
        return execute(sql, params, many, context)

    for n in range(3):
        _call(message_id=f"m{n}")
    with connection.execute_wrapper(database_down), caplog.at_level(logging.ERROR):
        assert flush_message_log_sync() == 0
    assert buffered_count() == 3
    assert "kept for retry" in caplog.text

    _call(message_id="m3")  # arrived while the database was down
    assert flush_message_log_sync() == 4
    assert list(MessageLog.objects.values_list("message_id", flat=True)) == ["m0", "m1", "m2", "m3"]


@pytest.mark.django_db
def test_rows_put_back_after_a_failure_stay_within_the_bound(settings):
    settings.OCPP_MESSAGE_LOG_MAX_BUFFER = 4

    def database_down(execute, sql, params, many, context):
        raise OperationalError("connection refused")

    for n in range(3):
        _call(message_id=f"m{n}")
    dropped_before = dropped_count()
    with connection.execute_wrapper(database_down):
        flush_message_log_sync()
    for n in range(3, 6):
        _call(message_id=f"m{n}")
    assert buffered_count() == 4
    assert dropped_count() - dropped_before == 2
    flush_message_log_sync()
    assert list(MessageLog.objects.values_list("message_id", flat=True)) == ["m2", "m3", "m4", "m5"]


@pytest.mark.django_db
def test_frames_logged_from_threads_during_flushes_are_all_written():
    def worker(k):
        for n in range(200):
            _call(cp=f"CP-T{k}", message_id=str(n))

    threads = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    written = 0
    while any(t.is_alive() for t in threads):
        written += flush_message_log_sync()
    for t in threads:
        t.join()
    written += flush_message_log_sync()
    assert written == MessageLog.objects.count() == 800
    for k in range(4):
        ids = list(MessageLog.objects.filter(charge_point_id=f"CP-T{k}").order_by("id").values_list("message_id"))
        assert [int(i) for (i,) in ids] == list(range(200))


async def _close_async_orm_connections() -> None:
    # The async ORM (acount) runs in asgiref's shared thread, whose connection would otherwise
    # stay open and keep PostgreSQL from dropping the test database.
    await sync_to_async(connections.close_all)()


async def _count_tolerating_sqlite_table_locks(cp: str) -> int:
    # The SQLite test database is in memory with a shared cache, where a read that meets the
    # writer thread's insert fails with "database table is locked" instead of waiting.
    try:
        return await MessageLog.objects.filter(charge_point_id=cp).acount()
    except OperationalError:
        return -1


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_background_writer_flushes_within_a_second(settings):
    settings.OCPP_MESSAGE_LOG_FLUSH_SECONDS = 0.1
    start_message_log_writer()
    start_message_log_writer()  # idempotent
    try:
        for n in range(10):
            _call(cp="CP-ASYNC", message_id=str(n))
        deadline = asyncio.get_running_loop().time() + 1.0
        while await _count_tolerating_sqlite_table_locks("CP-ASYNC") < 10:
            assert asyncio.get_running_loop().time() < deadline, "not flushed within a second"
            await asyncio.sleep(0.05)
        assert buffered_count() == 0
    finally:
        await stop_message_log_writer()
        await _close_async_orm_connections()


@pytest.mark.asyncio
@pytest.mark.django_db(transaction=True)
async def test_stopping_the_writer_flushes_what_is_left(settings):
    settings.OCPP_MESSAGE_LOG_FLUSH_SECONDS = 60
    start_message_log_writer()
    _call(cp="CP-STOP")
    await stop_message_log_writer()
    assert message_log._writer_task is None
    assert await MessageLog.objects.filter(charge_point_id="CP-STOP").acount() == 1
    _call(cp="CP-STOP")
    assert await flush_message_log() == 1
    await stop_message_log_writer()  # releases the writer thread's connection
    await _close_async_orm_connections()


# --- retention ----------------------------------------------------------------------------


def _stored(cp: str, age: timedelta) -> MessageLog:
    return MessageLog.objects.create(
        charge_point_id=cp, direction="in", message_type=2, action="Heartbeat", timestamp=datetime.now(UTC) - age
    )


@pytest.mark.django_db
def test_prune_deletes_only_rows_older_than_the_retention():
    old = [_stored("CP-OLD", timedelta(days=31 + n)) for n in range(5)]
    young = _stored("CP-NEW", timedelta(days=29))
    interleaved_old = _stored("CP-OLD", timedelta(days=40))  # written late, e.g. after an outage
    assert prune_message_log(older_than_days=30, batch_size=2) == len(old) + 1
    assert list(MessageLog.objects.all()) == [young]
    assert interleaved_old.pk > young.pk
    assert prune_message_log(older_than_days=30) == 0


@pytest.mark.django_db
def test_prune_task_uses_the_retention_setting(settings):
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 7
    _stored("CP", timedelta(days=8))
    _stored("CP", timedelta(days=6))
    assert prune_message_log_task() == 1
    assert MessageLog.objects.count() == 1
    settings.OCPP_MESSAGE_LOG_RETENTION_DAYS = 0  # keep forever
    assert prune_message_log() == 0


def test_prune_is_scheduled_daily(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["prune-ocpp-message-log"]
    assert entry["task"] == prune_message_log_task.name
    assert entry["schedule"] == 86400


# --- admin --------------------------------------------------------------------------------

XSS = '"><script>alert(1)</script>'


@pytest.fixture
def hostile_frames(db):
    at = datetime.now(UTC) - timedelta(minutes=5)
    log_frame(
        charge_point_id="CP-X",
        direction="in",
        message_type=2,
        message_id="call-1",
        action="DataTransfer",
        payload={"vendorId": XSS, "data": [XSS]},
        timestamp=at,
    )
    log_frame(
        charge_point_id="CP-X",
        direction="out",
        message_type=4,
        message_id="call-1",
        payload={},
        error_code="NotSupported",
        error_description=XSS,
        timestamp=at + timedelta(seconds=1),
    )
    log_frame(charge_point_id="CP-X", direction="in", message_type=None, raw=XSS, timestamp=at + timedelta(seconds=2))
    flush_message_log_sync()
    return list(MessageLog.objects.filter(charge_point_id="CP-X"))


def test_changelist_renders_and_escapes(admin_client, hostile_frames):
    url = reverse("admin:ocpp_gateway_messagelog_changelist")
    body = admin_client.get(url).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert reverse("admin:ocpp_gateway_messagelog_conversation", args=["CP-X"]) in body
    assert "DataTransfer" in body

    for query in ({"q": "CP-X"}, {"direction": "out"}, {"action": "DataTransfer"}, {"error_code": "NotSupported"}):
        response = admin_client.get(url, query)
        assert response.status_code == 200
    assert admin_client.get(url, {"error_code": "NotSupported"}).context["cl"].result_count == 1


def test_change_view_shows_the_payload_pretty_printed_and_escaped(admin_client, hostile_frames):
    call = hostile_frames[0]
    body = admin_client.get(reverse("admin:ocpp_gateway_messagelog_change", args=[call.pk])).content.decode()
    assert "<pre" in body
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert '"vendorId": ' in body.replace("&quot;", '"')

    raw_frame = hostile_frames[2]
    body = admin_client.get(reverse("admin:ocpp_gateway_messagelog_change", args=[raw_frame.pk])).content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "&lt;script&gt;" in body


def test_conversation_view_lists_the_frames_in_order_and_escapes(admin_client, hostile_frames):
    _stored("CP-OTHER", timedelta(0))
    response = admin_client.get(reverse("admin:ocpp_gateway_messagelog_conversation", args=["CP-X"]))
    assert response.status_code == 200
    assert [e["frame"].pk for e in response.context["entries"]] == [f.pk for f in hostile_frames]
    assert response.context["entries"][1]["action"] == "DataTransfer"  # the CALLERROR answers the CALL
    body = response.content.decode()
    assert "<script>alert(1)</script>" not in body
    assert "charger &rarr; CSMS" in body
    assert "CSMS &rarr; charger" in body


def test_conversation_view_is_paginated_and_opens_on_the_latest_page(admin_client, db):
    at = datetime.now(UTC) - timedelta(hours=1)
    for n in range(250):
        log_frame(
            charge_point_id="CP/odd id", direction="in", message_type=2, message_id=str(n), timestamp=at, payload={}
        )
    flush_message_log_sync()
    url = reverse("admin:ocpp_gateway_messagelog_conversation", args=["CP/odd id"])
    latest = admin_client.get(url)
    assert latest.context["page"].number == 3
    assert [e["frame"].message_id for e in latest.context["entries"]] == [str(n) for n in range(200, 250)]
    first = admin_client.get(url, {"page": 1})
    assert len(first.context["entries"]) == 100
    assert first.context["entries"][0]["frame"].message_id == "0"


def test_conversation_of_an_unknown_charger_renders(admin_client, db):
    response = admin_client.get(reverse("admin:ocpp_gateway_messagelog_conversation", args=["NOPE"]))
    assert response.status_code == 200
    assert "No frames logged" in response.content.decode()


def test_the_log_is_read_only_and_only_superusers_delete(admin_client, django_user_model, hostile_frames):
    assert admin_client.get(reverse("admin:ocpp_gateway_messagelog_add")).status_code == 403
    model_admin = MessageLogAdmin(MessageLog, admin_site=None)
    request = RequestFactory().get("/")
    staff = django_user_model.objects.create_user(email="staff@example.com", password="x", is_staff=True)
    staff.user_permissions.add(Permission.objects.get(codename="view_messagelog"))
    staff.user_permissions.add(Permission.objects.get(codename="delete_messagelog"))
    request.user = django_user_model.objects.get(pk=staff.pk)
    assert model_admin.has_view_permission(request)
    assert not model_admin.has_change_permission(request, hostile_frames[0])
    assert not model_admin.has_delete_permission(request, hostile_frames[0])
    request.user = django_user_model.objects.filter(is_superuser=True).first()
    assert model_admin.has_delete_permission(request, hostile_frames[0])
    assert not model_admin.has_add_permission(request)


def test_conversation_view_needs_view_permission(client, django_user_model, db):
    staff = django_user_model.objects.create_user(email="nobody@example.com", password="x", is_staff=True)
    client.force_login(staff)
    response = client.get(reverse("admin:ocpp_gateway_messagelog_conversation", args=["CP-X"]))
    assert response.status_code == 403


@pytest.mark.django_db
def test_a_nul_character_in_a_payload_does_not_block_the_log():
    # PostgreSQL's jsonb refuses \u0000; the row must still be stored (as text) with its batch.
    _call(message_id="before")
    _call(message_id="nul", payload={"idTag": "a\x00b"})
    _call(message_id="after")
    assert flush_message_log_sync() == 3
    row = MessageLog.objects.get(message_id="nul")
    assert row.payload == {"idTag": "a\x00b"} or "a\\u0000b" in row.raw
    assert MessageLog.objects.filter(message_id__in=["before", "after"]).count() == 2


@pytest.mark.django_db
def test_frames_with_lone_surrogates_and_nuls_are_stored_escaped_in_one_batch():
    # Issue 15: every frame is logged (R27); 234 hostile frames were dropped in a fuzz run,
    # because neither PostgreSQL nor SQLite's driver takes a lone surrogate and jsonb no NUL.
    _call(message_id="\ud800", action="Heart\udc00beat", payload={"k": "\udfff"})
    _call(message_id="n\x00ul", action="A\x00", payload={"idTag": "a\x00b"}, error_description="x\ud800")
    _call(message_id="raw", payload=None, message_type=None, raw="[2, \x00 \ud800")
    _call(message_id="plain", payload={"data": "€"})
    with CaptureQueriesContext(connection) as captured:
        assert flush_message_log_sync() == 4
    assert len(_inserts(captured.captured_queries)) == 1  # no retry row by row
    rows = {row.message_id: row for row in MessageLog.objects.all()}
    assert set(rows) == {"\\ud800", "n\\u0000ul", "raw", "plain"}
    surrogate, nul = rows["\\ud800"], rows["n\\u0000ul"]
    assert surrogate.action == "Heart\\udc00beat"
    assert (surrogate.payload, surrogate.raw) == (None, '{"k":"\\udfff"}')  # as JSON text: jsonb refuses it
    assert (nul.action, nul.payload, nul.raw) == ("A\\u0000", None, '{"idTag":"a\\u0000b"}')
    assert nul.error_description.startswith("x\\ud800 ")
    assert rows["raw"].raw == "[2, \\u0000 \\ud800"
    assert rows["plain"].payload == {"data": "€"}


@pytest.mark.django_db
def test_an_outage_is_logged_as_one_line_per_interval_without_traceback(caplog):
    def database_down(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith(("INSERT", "COPY")):
            raise OperationalError("connection refused\nIs the server running?")
        return execute(sql, params, many, context)

    with connection.execute_wrapper(database_down), caplog.at_level(logging.WARNING):
        for number in range(20):
            _call(message_id=f"m{number}")
            assert flush_message_log_sync() == 0
    [record] = [r for r in caplog.records if r.name == "ocpp_gateway.message_log"]
    assert record.exc_info is None
    assert "OperationalError: connection refused" in record.getMessage()
    assert flush_message_log_sync() == 20


# --- times in the charger's site's time zone ------------------------------------------------

PARIS_MOMENT = datetime(2026, 12, 5, 13, 3, 7, 123456, tzinfo=UTC)


@pytest.fixture
def paris_frame(db):
    from sites.tests.factories import ChargerFactory, SiteFactory

    ChargerFactory(charge_point_id="CP-PARIS", site=SiteFactory(timezone="Europe/Paris"))
    log_frame(charge_point_id="CP-PARIS", direction="in", message_type=2, message_id="p1", action="Heartbeat",
              payload={}, timestamp=PARIS_MOMENT)  # fmt: skip
    log_frame(charge_point_id="CP-NOBODY", direction="in", message_type=2, message_id="n1", action="Heartbeat",
              payload={}, timestamp=PARIS_MOMENT)  # fmt: skip
    flush_message_log_sync()
    return MessageLog.objects.get(charge_point_id="CP-PARIS")


def _no_raw_times(body: str) -> None:
    assert "2026-12-05T13:03:07" not in body
    assert "13:03:07.123456" not in body
    assert "2026-12-05 13:03" not in body


def test_the_list_shows_each_frame_to_the_second_in_its_site_time_zone(admin_client, paris_frame):
    body = admin_client.get(reverse("admin:ocpp_gateway_messagelog_changelist")).content.decode()
    assert "5 Dec 2026, 14:03:07 CET" in body
    assert "5 Dec 2026, 13:03:07 UTC" in body  # an unknown charger's frame: UTC, said so
    _no_raw_times(body.replace("5 Dec 2026, 13:03:07 UTC", ""))


def test_the_frame_page_and_the_conversation_show_the_site_time(admin_client, paris_frame):
    body = admin_client.get(reverse("admin:ocpp_gateway_messagelog_change", args=[paris_frame.pk])).content.decode()
    assert "5 Dec 2026, 14:03:07 CET" in body
    _no_raw_times(body)
    body = admin_client.get(reverse("admin:ocpp_gateway_messagelog_conversation", args=["CP-PARIS"])).content.decode()
    assert "5 Dec 2026, 14:03:07 CET" in body
    assert "Time (Europe/Paris)" in body
    _no_raw_times(body)


def test_the_list_looks_the_time_zones_up_once_a_page(admin_client, paris_frame):
    for n in range(20):
        log_frame(charge_point_id=f"CP-{n}", direction="in", message_type=2, message_id=str(n), payload={},
                  timestamp=PARIS_MOMENT)  # fmt: skip
    flush_message_log_sync()
    with CaptureQueriesContext(connection) as queries:
        admin_client.get(reverse("admin:ocpp_gateway_messagelog_changelist"))
    assert sum("sites_charger" in q["sql"] for q in queries.captured_queries) == 1
