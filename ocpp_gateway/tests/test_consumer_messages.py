"""Every charger-initiated OCPP 1.6 message through the real consumer, with the reply frame
and what ends up in the database; and the reliability scenarios of ACCEPTANCE R1-R8, R10,
R11, R18, R19, R23 and S9."""

import datetime as dt
from collections import OrderedDict
from decimal import Decimal

import pytest
from django.utils import timezone

from charging.models import ChargingSession, IdToken, MeterValue, SessionState, UnmatchedStop
from charging.tests.factories import IdTokenFactory
from ocpp_gateway.consumer import _recent_calls, _request
from ocpp_gateway.data_transfer import DataTransferReply, register_vendor, unregister_vendor
from ocpp_gateway.group_commit import COMMITTER
from ocpp_gateway.message_log import flush_message_log
from ocpp_gateway.models import MessageLog
from ocpp_gateway.rpc import Call
from ocpp_gateway.tests.conftest import (
    CALLERROR,
    CALLRESULT,
    boot,
    db,
    iso,
    meter_values_payload,
    now_s,
    sampled,
    start_payload,
    stop_payload,
)
from sites.models import (
    Charger,
    ChargerReport,
    Connector,
    RegistrationStatus,
    SecurityEvent,
    StatusNotificationRecord,
)

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


# --- Fixtures and reads -----------------------------------------------------------------


@pytest.fixture
def tokens(charger) -> dict[str, IdToken]:
    """Tokens of the charger's organization, one per authorization outcome."""
    organization = charger.charger.site.organization
    now = timezone.now()
    return {
        "ok": IdTokenFactory(
            organization=organization, id_tag="TAG-OK", parent_id_tag="PARENT-1", expires_at=now + dt.timedelta(days=30)
        ),
        "plain": IdTokenFactory(organization=organization, id_tag="TAG-PLAIN"),
        "blocked": IdTokenFactory(organization=organization, id_tag="TAG-BLOCKED", status=IdToken.Status.BLOCKED),
        "expired": IdTokenFactory(
            organization=organization, id_tag="TAG-EXPIRED", expires_at=now - dt.timedelta(days=1)
        ),
    }


def _charger(pk: int) -> Charger:
    return Charger.objects.get(pk=pk)


def _connector(charger_pk: int, number: int) -> Connector:
    return Connector.objects.get(charger_id=charger_pk, connector_id=number, evse_id=None)


def _session(charger_pk: int, transaction_id: int) -> ChargingSession:
    return ChargingSession.objects.select_related("connector", "id_token").get(
        charger_id=charger_pk, transaction_id=transaction_id
    )


def _sessions(charger_pk: int) -> list[ChargingSession]:
    return list(ChargingSession.objects.filter(charger_id=charger_pk).order_by("pk"))


def _meter_values(**filters) -> list[MeterValue]:
    return list(MeterValue.objects.filter(**filters).order_by("pk"))


def _unmatched(charger_pk: int) -> list[UnmatchedStop]:
    return list(UnmatchedStop.objects.filter(charger_id=charger_pk).order_by("pk"))


def _security_events(charger_pk: int) -> list[SecurityEvent]:
    return list(SecurityEvent.objects.filter(charger_id=charger_pk).order_by("pk"))


def _status_history(charger_pk: int) -> list[StatusNotificationRecord]:
    return list(StatusNotificationRecord.objects.filter(charger_id=charger_pk).order_by("pk"))


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


async def _start(client, **options) -> int:
    reply = await client.result("StartTransaction", start_payload(**options))
    assert reply["transactionId"] > 0
    return reply["transactionId"]


def _status(connector_id: int, status: str, *, at: dt.datetime | None = None, **extra) -> dict:
    payload = {"connectorId": connector_id, "status": status, "errorCode": "NoError", **extra}
    if at is not None:
        payload["timestamp"] = iso(at)
    return payload


# --- BootNotification ---------------------------------------------------------------------


async def test_boot_notification_accepted_stores_identity_and_answers_the_heartbeat_interval(charger, connected):
    before = timezone.now()
    reply = await boot(
        connected,
        chargePointVendor="Acme",
        chargePointModel="Volt 22",
        chargePointSerialNumber="SN-0001",
        firmwareVersion="4.2.0",
    )
    assert reply["status"] == "Accepted"
    assert reply["interval"] == 300  # the charger's heartbeat_interval
    assert reply["currentTime"].endswith("Z")
    assert before - dt.timedelta(seconds=1) <= _parse(reply["currentTime"]) <= timezone.now()
    stored = await db(_charger)(charger.pk)
    assert (stored.vendor, stored.model, stored.serial_number, stored.firmware_version) == (
        "Acme", "Volt 22", "SN-0001", "4.2.0",
    )  # fmt: skip
    assert stored.last_boot_at is not None
    assert stored.last_boot_at >= before
    assert stored.is_online


async def test_boot_notification_falls_back_to_the_charge_box_serial_number(charger, connected):
    await boot(connected, chargeBoxSerialNumber="BOX-77")
    assert (await db(_charger)(charger.pk)).serial_number == "BOX-77"


@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_boot_notification_pending_or_rejected_answers_the_retry_interval(
    make_charger, open_client, settings, status
):
    settings.OCPP_BOOT_RETRY_INTERVAL = 45
    held = await db(make_charger)("CP-HELD", registration_status=status)
    client = await open_client(held)
    reply = await boot(client, chargePointVendor="Acme", chargePointModel="M1", firmwareVersion="0.9")
    assert reply["status"] == status
    assert reply["interval"] == 45
    stored = await db(_charger)(held.pk)
    assert (stored.vendor, stored.model, stored.firmware_version) == ("Acme", "M1", "0.9")
    assert stored.registration_status == status


# --- Heartbeat --------------------------------------------------------------------------


async def test_heartbeat_answers_current_time_and_records_it(charger, connected):
    before = timezone.now()
    reply = await connected.result("Heartbeat", {})
    after = timezone.now()
    assert set(reply) == {"currentTime"}
    assert reply["currentTime"].endswith("Z")
    assert before - dt.timedelta(milliseconds=1) <= _parse(reply["currentTime"]) <= after
    await COMMITTER.drain()  # heartbeats are written behind the answer
    stored = await db(_charger)(charger.pk)
    assert before <= stored.last_heartbeat_at <= after
    assert stored.last_seen_at >= stored.last_heartbeat_at


# --- StatusNotification -----------------------------------------------------------------


async def test_status_notification_for_connector_0_updates_the_charger(charger, connected):
    at = now_s()
    assert await connected.result("StatusNotification", _status(0, "Unavailable", at=at)) == {}
    await COMMITTER.drain()  # status is written behind the answer
    stored = await db(_charger)(charger.pk)
    assert (stored.status, stored.error_code, stored.status_timestamp) == ("Unavailable", "NoError", at)
    # Connectors are not touched by the charger-wide status.
    assert (await db(_connector)(charger.pk, 1)).status == "Unknown"


async def test_status_notification_updates_a_connector_and_keeps_history(charger, connected):
    at = now_s()
    payload = _status(
        1, "Faulted", at=at, errorCode="GroundFailure", info="RCD tripped", vendorId="acme", vendorErrorCode="E42"
    )
    assert await connected.result("StatusNotification", payload) == {}
    await COMMITTER.drain()  # status is written behind the answer
    connector = await db(_connector)(charger.pk, 1)
    assert (connector.status, connector.error_code, connector.info, connector.vendor_error_code) == (
        "Faulted", "GroundFailure", "RCD tripped", "E42",
    )  # fmt: skip
    assert connector.status_timestamp == at
    [record] = await db(_status_history)(charger.pk)
    assert (record.connector_id, record.status, record.error_code, record.vendor_id) == (
        1, "Faulted", "GroundFailure", "acme",
    )  # fmt: skip
    assert record.timestamp == at
    assert record.applied


async def test_status_notification_without_timestamp_uses_the_receipt_time(charger, connected):
    before = timezone.now()
    await connected.result("StatusNotification", _status(2, "Preparing"))
    await COMMITTER.drain()  # status is written behind the answer
    connector = await db(_connector)(charger.pk, 2)
    assert connector.status == "Preparing"
    assert before <= connector.status_timestamp <= timezone.now()


async def test_status_notification_creates_a_connector_we_did_not_know(charger, connected):
    assert await connected.result("StatusNotification", _status(5, "Available", at=now_s())) == {}
    await COMMITTER.drain()  # status is written behind the answer
    connector = await db(_connector)(charger.pk, 5)
    assert connector.status == "Available"


async def test_status_notifications_out_of_order_keep_the_latest_state_and_all_history(charger, connected):
    """R23."""
    newer, older = now_s(), now_s() - dt.timedelta(minutes=10)
    await connected.result("StatusNotification", _status(1, "Charging", at=newer))
    await connected.result("StatusNotification", _status(1, "Available", at=older))
    await connected.result("StatusNotification", _status(0, "Available", at=newer))
    await connected.result("StatusNotification", _status(0, "Faulted", at=older, errorCode="OtherError"))
    await COMMITTER.drain()  # status is written behind the answer

    connector = await db(_connector)(charger.pk, 1)
    assert (connector.status, connector.status_timestamp) == ("Charging", newer)
    stored = await db(_charger)(charger.pk)
    assert (stored.status, stored.error_code, stored.status_timestamp) == ("Available", "NoError", newer)
    history = await db(_status_history)(charger.pk)
    assert [(r.connector_id, r.status, r.timestamp, r.applied) for r in history] == [
        (1, "Charging", newer, True),
        (1, "Available", older, False),
        (0, "Available", newer, True),
        (0, "Faulted", older, False),
    ]


async def test_status_notification_touches_only_the_senders_own_connectors(charger, make_charger, open_client):
    """S9."""
    other = await db(make_charger)("CP-OTHER-1")
    client = await open_client(charger)
    await client.result("StatusNotification", _status(7, "Available", at=now_s()))
    await client.result("StatusNotification", _status(1, "Faulted", at=now_s(), errorCode="OtherError"))
    await COMMITTER.drain()  # status is written behind the answer

    def connector_numbers(pk: int) -> list[int]:
        return list(
            Connector.objects.filter(charger_id=pk).order_by("connector_id").values_list("connector_id", flat=True)
        )

    assert await db(connector_numbers)(charger.pk) == [1, 2, 7]
    assert await db(connector_numbers)(other.pk) == [1, 2]
    assert (await db(_connector)(other.pk, 1)).status == "Unknown"


# --- Authorize ----------------------------------------------------------------------------


async def test_authorize_accepted_carries_parent_and_expiry(tokens, connected):
    reply = await connected.result("Authorize", {"idTag": "TAG-OK"})
    info = reply["idTagInfo"]
    assert info["status"] == "Accepted"
    assert info["parentIdTag"] == "PARENT-1"
    assert _parse(info["expiryDate"]) == tokens["ok"].expires_at.replace(
        microsecond=(tokens["ok"].expires_at.microsecond // 1000) * 1000
    )
    # idTag is a case-insensitive string (CiString20Type).
    assert (await connected.result("Authorize", {"idTag": "tag-ok"}))["idTagInfo"]["status"] == "Accepted"
    # Without parent or expiry, neither field is sent.
    assert await connected.result("Authorize", {"idTag": "TAG-PLAIN"}) == {"idTagInfo": {"status": "Accepted"}}


@pytest.mark.parametrize(
    ("id_tag", "status"),
    [("NO-SUCH-TAG", "Invalid"), ("TAG-BLOCKED", "Blocked"), ("TAG-EXPIRED", "Expired")],
)
async def test_authorize_refusals(tokens, connected, id_tag, status):
    reply = await connected.result("Authorize", {"idTag": id_tag})
    assert reply["idTagInfo"]["status"] == status


async def test_authorize_token_from_another_organization_is_invalid(tokens, connected):
    await db(IdTokenFactory)(id_tag="TAG-FOREIGN")  # its own, different organization
    assert (await connected.result("Authorize", {"idTag": "TAG-FOREIGN"}))["idTagInfo"]["status"] == "Invalid"


async def test_authorize_a_token_with_an_active_session_is_concurrent_tx(tokens, connected):
    await _start(connected, id_tag="TAG-PLAIN")
    reply = await connected.result("Authorize", {"idTag": "TAG-PLAIN"})
    assert reply == {"idTagInfo": {"status": "ConcurrentTx"}}


# --- StartTransaction ---------------------------------------------------------------------


async def test_start_transaction_opens_a_session_with_a_real_transaction_id(charger, tokens, connected):
    at = now_s() - dt.timedelta(seconds=5)
    before = timezone.now()
    reply = await connected.result("StartTransaction", start_payload(connector_id=2, meter_start=1234, at=at))
    assert reply["idTagInfo"]["status"] == "Accepted"
    assert reply["idTagInfo"]["parentIdTag"] == "PARENT-1"
    transaction_id = reply["transactionId"]
    assert isinstance(transaction_id, int)
    assert transaction_id > 0

    session = await db(_session)(charger.pk, transaction_id)
    assert session.connector.connector_id == 2
    assert session.id_token_id == tokens["ok"].pk
    assert session.id_tag == "TAG-OK"
    assert session.state == SessionState.ACTIVE
    assert session.started_at == at
    assert before <= session.start_received_at <= timezone.now()
    assert session.meter_start_wh == 1234
    assert not session.needs_review

    second = await _start(connected, connector_id=1, id_tag="TAG-PLAIN")
    assert second != transaction_id


async def test_start_transaction_retransmitted_with_a_new_message_id_is_one_session(charger, tokens, connected):
    """R2 (1.6 sec. 4.8)."""
    payload = start_payload(at=now_s())
    first = await connected.result("StartTransaction", payload)
    again = await connected.result("StartTransaction", payload)  # new message id, same content
    assert again["transactionId"] == first["transactionId"]
    assert again["idTagInfo"]["status"] == "Accepted"  # not ConcurrentTx with itself
    assert len(await db(_sessions)(charger.pk)) == 1


@pytest.mark.parametrize(
    ("id_tag", "status"),
    [("NO-SUCH-TAG", "Invalid"), ("TAG-BLOCKED", "Blocked"), ("TAG-EXPIRED", "Expired")],
)
async def test_start_transaction_with_a_refused_tag_still_gets_a_session(charger, tokens, connected, id_tag, status):
    """R3: the charger may have authorized offline; never transactionId 0 as a rejection."""
    reply = await connected.result("StartTransaction", start_payload(id_tag=id_tag))
    assert reply["idTagInfo"]["status"] == status
    assert reply["transactionId"] > 0
    session = await db(_session)(charger.pk, reply["transactionId"])
    assert session.state == SessionState.ACTIVE
    assert session.id_tag == id_tag
    assert session.needs_review
    assert status in session.review_notes


# --- MeterValues --------------------------------------------------------------------------


async def test_meter_values_store_every_sample_and_update_the_session(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=1000)
    at = now_s()
    payload = meter_values_payload(
        sampled("12.5", measurand="Energy.Active.Import.Register", unit="kWh", context="Sample.Periodic"),
        sampled("7.2", measurand="Power.Active.Import", unit="kW", location="Outlet"),
        sampled("16.1", measurand="Current.Import", unit="A", phase="L1"),
        sampled("230.4", measurand="Voltage", unit="V", phase="L1-N", context="Sample.Clock"),
        sampled("3000", measurand="Power.Active.Import", unit="W", phase="L2"),  # per phase: not the total
        transaction_id=transaction_id,
        at=at,
    )
    assert await connected.result("MeterValues", payload) == {}

    rows = await db(_meter_values)(session__transaction_id=transaction_id, charger_id=charger.pk)
    assert [(r.measurand, r.phase, r.unit, r.context, r.location, r.raw_value, r.value) for r in rows] == [
        ("Energy.Active.Import.Register", "", "kWh", "Sample.Periodic", "", "12.5", Decimal("12.5")),
        ("Power.Active.Import", "", "kW", "Sample.Periodic", "Outlet", "7.2", Decimal("7.2")),
        ("Current.Import", "L1", "A", "Sample.Periodic", "", "16.1", Decimal("16.1")),
        ("Voltage", "L1-N", "V", "Sample.Clock", "", "230.4", Decimal("230.4")),
        ("Power.Active.Import", "L2", "W", "Sample.Periodic", "", "3000", Decimal("3000")),
    ]
    assert all(r.timestamp == at and r.flag == "" and r.connector_id is not None for r in rows)
    session = await db(_session)(charger.pk, transaction_id)
    assert session.energy_wh == 12500 - 1000  # kWh converted to Wh, minus meterStart
    assert session.last_power_w == Decimal("7200")
    assert not session.needs_review


async def test_meter_values_defaults_are_the_spec_defaults(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=0)
    await connected.result("MeterValues", meter_values_payload(sampled("1500"), transaction_id=transaction_id))
    [row] = await db(_meter_values)(charger_id=charger.pk)
    assert (row.measurand, row.unit, row.context, row.phase) == (
        "Energy.Active.Import.Register",
        "Wh",
        "Sample.Periodic",
        "",
    )
    assert (await db(_session)(charger.pk, transaction_id)).energy_wh == 1500


async def test_meter_values_of_the_main_meter_have_no_connector(charger, connected):
    assert await connected.result("MeterValues", meter_values_payload(sampled("99"), connector_id=0)) == {}
    [row] = await db(_meter_values)(charger_id=charger.pk)
    assert row.connector_id is None
    assert row.session_id is None
    assert row.flag == ""


# --- StopTransaction ----------------------------------------------------------------------


async def test_stop_transaction_closes_the_session_from_the_chargers_readings(charger, tokens, connected):
    started = now_s() - dt.timedelta(minutes=45)
    transaction_id = await _start(connected, meter_start=1000, at=started)
    stopped = started + dt.timedelta(minutes=40)
    before = timezone.now()
    data = [
        {
            "timestamp": iso(stopped),
            "sampledValue": [
                {"value": "8800", "context": "Transaction.End", "measurand": "Energy.Active.Import.Register"},
                {"value": "55", "context": "Transaction.End", "measurand": "SoC", "unit": "Percent"},
            ],
        }
    ]
    reply = await connected.result(
        "StopTransaction", stop_payload(transaction_id, meter_stop=8800, at=stopped, transactionData=data)
    )
    assert reply == {}  # no idTag sent, so no idTagInfo

    session = await db(_session)(charger.pk, transaction_id)
    assert session.state == SessionState.COMPLETED
    assert session.energy_wh == 7800
    assert session.meter_stop_wh == 8800
    assert session.stopped_at == stopped
    assert session.duration == dt.timedelta(minutes=40)  # from the charger's times
    assert before <= session.stop_received_at <= timezone.now()
    assert session.stop_reason == "Local"  # 1.6: an absent reason means Local
    assert not session.needs_review
    rows = await db(_meter_values)(session_id=session.pk)
    assert [(r.measurand, r.context, r.raw_value, r.unit, r.timestamp) for r in rows] == [
        ("Energy.Active.Import.Register", "Transaction.End", "8800", "Wh", stopped),
        ("SoC", "Transaction.End", "55", "Percent", stopped),
    ]


async def test_stop_transaction_with_id_tag_and_reason(charger, tokens, connected):
    transaction_id = await _start(connected, id_tag="TAG-OK")
    reply = await connected.result(
        "StopTransaction", stop_payload(transaction_id, idTag="TAG-BLOCKED", reason="EVDisconnected")
    )
    assert reply == {"idTagInfo": {"status": "Blocked"}}
    session = await db(_session)(charger.pk, transaction_id)
    assert (session.stop_reason, session.stop_id_tag) == ("EVDisconnected", "TAG-BLOCKED")


# --- DataTransfer and the status reports ---------------------------------------------------


async def test_data_transfer_for_an_unknown_vendor(connected):
    reply = await connected.result("DataTransfer", {"vendorId": "com.nobody", "messageId": "x", "data": "y"})
    assert reply == {"status": "UnknownVendorId"}


@pytest.fixture
def vendor_calls():
    calls = []

    @register_vendor("com.example.test")
    def handle(charger_id: int, message_id: str | None, data: str | None) -> DataTransferReply:
        # Runs in a worker thread and may use the ORM.
        charge_point_id = Charger.objects.get(pk=charger_id).charge_point_id
        calls.append((charger_id, message_id, data))
        if message_id == "ping":
            return DataTransferReply("Accepted", data=f"pong from {charge_point_id}: {data}")
        return DataTransferReply("UnknownMessageId")

    yield calls
    unregister_vendor("com.example.test")


async def test_data_transfer_to_a_registered_vendor(charger, connected, vendor_calls):
    reply = await connected.result("DataTransfer", {"vendorId": "com.example.test", "messageId": "ping", "data": "42"})
    assert reply == {"status": "Accepted", "data": "pong from CP-ACCEPTED-1: 42"}
    reply = await connected.result("DataTransfer", {"vendorId": "com.example.test", "messageId": "other"})
    assert reply == {"status": "UnknownMessageId"}
    assert vendor_calls == [(charger.pk, "ping", "42"), (charger.pk, "other", None)]


@pytest.mark.parametrize(
    ("action", "kind", "status"),
    [
        ("DiagnosticsStatusNotification", ChargerReport.Kind.DIAGNOSTICS, "Uploaded"),
        ("FirmwareStatusNotification", ChargerReport.Kind.FIRMWARE, "Installing"),
    ],
)
async def test_diagnostics_and_firmware_status_are_kept_as_reports(charger, connected, action, kind, status):
    assert await connected.result(action, {"status": status}) == {}

    def reports():
        return list(ChargerReport.objects.filter(charger_id=charger.pk).values_list("kind", "status"))

    assert await db(reports)() == [(kind, status)]


# --- R1: retransmitted CALLs --------------------------------------------------------------


async def test_same_call_resent_with_the_same_id_is_answered_the_same_without_a_second_effect(
    charger, tokens, connected
):
    payload = start_payload()
    first = await connected.call("StartTransaction", payload, message_id="start-1")
    again = await connected.call("StartTransaction", payload, message_id="start-1")
    assert again == first
    # The same CALL, whatever the order of its keys (a JSON object is unordered).
    reordered = dict(reversed(payload.items()))
    assert await connected.call("StartTransaction", reordered, message_id="start-1") == first
    assert len(await db(_sessions)(charger.pk)) == 1
    # Also for messages without a natural key: one history row.
    status = _status(1, "Charging", at=now_s())
    assert await connected.call("StatusNotification", status, message_id="st-1") == [CALLRESULT, "st-1", {}]
    assert await connected.call("StatusNotification", status, message_id="st-1") == [CALLRESULT, "st-1", {}]
    await COMMITTER.drain()  # status is written behind the answer
    assert len(await db(_status_history)(charger.pk)) == 1


async def test_same_call_resent_after_a_reconnect_gets_the_same_result(charger, tokens, open_client):
    payload = start_payload()
    first_socket = await open_client(charger)
    first = await first_socket.call("StartTransaction", payload, message_id="start-1")
    await first_socket.disconnect()

    second_socket = await open_client(charger)
    again = await second_socket.call("StartTransaction", payload, message_id="start-1")
    assert again == first
    assert len(await db(_sessions)(charger.pk)) == 1


async def test_same_id_with_a_different_payload_is_a_protocol_error(charger, tokens, connected):
    await connected.result("StartTransaction", start_payload(meter_start=100), message_id="start-1")
    code, description = await connected.error("StartTransaction", start_payload(meter_start=200), message_id="start-1")
    assert code == "ProtocolError"
    assert "different" in description
    sessions = await db(_sessions)(charger.pk)
    assert [s.meter_start_wh for s in sessions] == [100]


async def test_same_id_while_the_first_is_still_being_handled_is_a_protocol_error(charger, connected):
    """Within one socket frames are handled one after the other, so "in flight" means on
    another socket of the same charger (R15): simulated by the entry such a CALL leaves."""
    payload = _status(1, "Charging", at=now_s())
    call = Call("busy-1", "StatusNotification", payload)
    _recent_calls.setdefault(charger.charge_point_id, OrderedDict())["busy-1"] = (_request(call), None)
    code, description = await connected.error("StatusNotification", payload, message_id="busy-1")
    assert code == "ProtocolError"
    assert "still being handled" in description
    assert await db(_status_history)(charger.pk) == []


# --- R4: a whole transaction replayed after an offline period -------------------------------


async def test_offline_transaction_replayed_without_boot(charger, tokens, open_client):
    now = now_s()
    started, sampled_at, stopped = (
        now - dt.timedelta(hours=2),
        now - dt.timedelta(hours=1),
        now - dt.timedelta(minutes=30),
    )
    client = await open_client(charger)  # reconnect, no BootNotification
    before = timezone.now()
    # The charger reports its present state first, then replays what it queued.
    await client.result("StatusNotification", _status(1, "Available", at=now))
    await client.result("StatusNotification", _status(1, "Charging", at=started))
    reply = await client.result("StartTransaction", start_payload(meter_start=10_000, at=started))
    transaction_id = reply["transactionId"]
    assert transaction_id > 0
    assert reply["idTagInfo"]["status"] == "Accepted"
    assert (
        await client.result(
            "MeterValues", meter_values_payload(sampled("14000"), transaction_id=transaction_id, at=sampled_at)
        )
        == {}
    )
    assert await client.result("StopTransaction", stop_payload(transaction_id, meter_stop=16_500, at=stopped)) == {}
    after = timezone.now()
    await COMMITTER.drain()  # status is written behind the answer

    session = await db(_session)(charger.pk, transaction_id)
    assert session.state == SessionState.COMPLETED
    assert (session.started_at, session.stopped_at) == (started, stopped)  # the charger's times
    assert before <= session.start_received_at <= session.stop_received_at <= after  # and ours
    assert session.energy_wh == 6500
    assert session.duration == dt.timedelta(hours=1, minutes=30)
    assert not session.needs_review  # old is not suspicious by itself
    [row] = await db(_meter_values)(session_id=session.pk)
    assert row.timestamp == sampled_at
    assert before <= row.received_at <= after
    assert (await db(_connector)(charger.pk, 1)).status == "Available"  # now, not the past
    assert len(await db(_sessions)(charger.pk)) == 1


# --- R5, R6, R7: stops that do not close a session -------------------------------------------


@pytest.mark.parametrize("transaction_id", [987654, -1, 0])
async def test_stop_for_an_unknown_transaction_is_acknowledged_and_kept(charger, tokens, connected, transaction_id):
    at = now_s()
    data = [{"timestamp": iso(at), "sampledValue": [{"value": "4321"}]}]
    reply = await connected.result(
        "StopTransaction",
        stop_payload(transaction_id, meter_stop=4321, at=at, idTag="TAG-OK", reason="PowerLoss", transactionData=data),
    )
    assert reply["idTagInfo"]["status"] == "Accepted"
    [unmatched] = await db(_unmatched)(charger.pk)
    assert unmatched.transaction_id == transaction_id
    assert (unmatched.meter_stop_wh, unmatched.stopped_at, unmatched.id_tag, unmatched.reason) == (
        4321, at, "TAG-OK", "PowerLoss",
    )  # fmt: skip
    assert unmatched.transaction_data == data
    assert not unmatched.resolved
    assert await db(_security_events)(charger.pk) == []  # nobody else owns it


async def test_stop_sent_twice_closes_the_session_once(charger, tokens, connected):
    """R6."""
    started = now_s() - dt.timedelta(minutes=10)
    transaction_id = await _start(connected, meter_start=1000, at=started)
    first_at = started + dt.timedelta(minutes=5)
    assert await connected.result("StopTransaction", stop_payload(transaction_id, meter_stop=3000, at=first_at)) == {}
    data = [{"timestamp": iso(first_at), "sampledValue": [{"value": "9999"}]}]
    second = stop_payload(transaction_id, meter_stop=9999, at=first_at + dt.timedelta(minutes=1), transactionData=data)
    assert await connected.result("StopTransaction", second) == {}

    session = await db(_session)(charger.pk, transaction_id)
    assert (session.stopped_at, session.meter_stop_wh, session.energy_wh) == (first_at, 3000, 2000)
    assert await db(_meter_values)(session_id=session.pk) == []
    assert await db(_unmatched)(charger.pk) == []


async def test_foreign_transaction_id_in_stop_and_meter_values(charger, make_charger, tokens, open_client):
    """R7, S9: charger A quoting charger B's transaction leaves B's session untouched."""
    other = await db(make_charger)("CP-OTHER-1", site=charger.charger.site)
    b = await open_client(other)
    a = await open_client(charger)
    foreign = await _start(b, meter_start=500)

    assert await a.result("MeterValues", meter_values_payload(sampled("99999"), transaction_id=foreign)) == {}
    assert await a.result("StopTransaction", stop_payload(foreign, meter_stop=99999)) == {}

    session = await db(_session)(other.pk, foreign)
    assert session.state == SessionState.ACTIVE
    assert (session.energy_wh, session.meter_stop_wh, session.stopped_at) == (0, None, None)
    assert await db(_meter_values)(session_id=session.pk) == []
    [row] = await db(_meter_values)(charger_id=charger.pk)
    assert row.session_id is None
    assert row.flag
    [unmatched] = await db(_unmatched)(charger.pk)
    assert unmatched.transaction_id == foreign
    events = await db(_security_events)(charger.pk)
    assert [(e.kind, e.detail["action"], e.detail["transactionId"], e.detail["owner"]) for e in events] == [
        ("ForeignTransactionId", "MeterValues", foreign, "CP-OTHER-1"),
        ("ForeignTransactionId", "StopTransaction", foreign, "CP-OTHER-1"),
    ]
    assert await db(_security_events)(other.pk) == []
    # B can still stop its own session.
    assert await b.result("StopTransaction", stop_payload(foreign, meter_stop=700)) == {}
    assert (await db(_session)(other.pk, foreign)).energy_wh == 200


# --- R8: permanent bad data is acknowledged and flagged ------------------------------------


async def test_meter_values_for_a_missing_transaction_are_kept_and_flagged(charger, connected):
    reply = await connected.call("MeterValues", meter_values_payload(sampled("100"), transaction_id=424242))
    assert reply[0] == CALLRESULT
    assert reply[2] == {}
    [row] = await db(_meter_values)(charger_id=charger.pk)
    assert row.session_id is None
    assert "424242" in row.flag
    assert row.value == Decimal(100)


async def test_non_numeric_meter_value_is_kept_and_flagged(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=1000)
    payload = meter_values_payload(
        sampled("abc"),
        sampled("NaN", measurand="Power.Active.Import"),
        sampled("3000"),
        sampled("not-a-number-but-signed", format="SignedData"),
        transaction_id=transaction_id,
    )
    reply = await connected.call("MeterValues", payload)
    assert reply[0] == CALLRESULT
    assert reply[2] == {}
    rows = await db(_meter_values)(charger_id=charger.pk)
    assert [(r.raw_value, r.value, bool(r.flag)) for r in rows] == [
        ("abc", None, True),
        ("NaN", None, True),
        ("3000", Decimal(3000), False),
        ("not-a-number-but-signed", None, False),  # signed meter data is not a number by design
    ]
    session = await db(_session)(charger.pk, transaction_id)
    assert session.energy_wh == 2000
    assert session.last_power_w is None


# --- R10: odd timestamps ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("timestamp", "expected", "concern"),
    [
        ("2099-01-01T00:00:00Z", dt.datetime(2099, 1, 1, tzinfo=dt.UTC), "in the future"),
        ("1970-01-01T00:00:00Z", dt.datetime(1970, 1, 1, tzinfo=dt.UTC), "implausibly old"),
        ("1970-01-01T00:00:00.000+00:00", dt.datetime(1970, 1, 1, tzinfo=dt.UTC), "implausibly old"),
    ],
)
async def test_suspicious_start_times_are_stored_as_sent_and_flagged(
    charger, tokens, connected, timestamp, expected, concern
):
    payload = start_payload()
    payload["timestamp"] = timestamp
    reply = await connected.result("StartTransaction", payload)
    assert reply["transactionId"] > 0
    session = await db(_session)(charger.pk, reply["transactionId"])
    assert session.started_at == expected
    assert session.needs_review
    assert concern in session.review_notes


async def test_timestamps_with_offsets_and_fractions_are_stored_in_utc(charger, tokens, connected):
    local = (timezone.now() - dt.timedelta(minutes=3)).astimezone(dt.timezone(dt.timedelta(hours=2)))
    text = local.isoformat(timespec="microseconds")  # e.g. 2025-06-01T14:03:07.123456+02:00
    assert text.endswith("+02:00")
    payload = start_payload()
    payload["timestamp"] = text
    reply = await connected.result("StartTransaction", payload)
    session = await db(_session)(charger.pk, reply["transactionId"])
    assert session.started_at == local
    assert session.started_at.utcoffset() == dt.timedelta(0)
    assert not session.needs_review
    # A time without an offset is taken as UTC (the OCPP rule).
    naive = now_s().replace(tzinfo=None)
    await connected.result("StatusNotification", {**_status(2, "Charging"), "timestamp": naive.isoformat()})
    await COMMITTER.drain()  # status is written behind the answer
    assert (await db(_connector)(charger.pk, 2)).status_timestamp == naive.replace(tzinfo=dt.UTC)


async def test_stop_before_start_is_acknowledged_and_flagged(charger, tokens, connected):
    started = now_s()
    transaction_id = await _start(connected, meter_start=1000, at=started)
    stopped = started - dt.timedelta(minutes=5)
    assert await connected.result("StopTransaction", stop_payload(transaction_id, meter_stop=2000, at=stopped)) == {}
    session = await db(_session)(charger.pk, transaction_id)
    assert session.state == SessionState.COMPLETED
    assert session.stopped_at == stopped
    assert session.needs_review
    assert "before start" in session.review_notes
    assert session.energy_wh == 1000


# --- R11: meters going backwards ----------------------------------------------------------


async def test_meter_stop_below_meter_start_bills_no_energy(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=5000)
    assert await connected.result("StopTransaction", stop_payload(transaction_id, meter_stop=4000)) == {}
    session = await db(_session)(charger.pk, transaction_id)
    assert session.state == SessionState.COMPLETED
    assert session.energy_wh == 0
    assert session.meter_stop_wh == 4000
    assert session.needs_review
    assert "below meter start" in session.review_notes


async def test_energy_register_going_backwards_is_flagged_and_never_negative(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=1000)
    now = now_s()
    forward = meter_values_payload(sampled("5000"), transaction_id=transaction_id, at=now - dt.timedelta(minutes=2))
    backward = meter_values_payload(sampled("3000"), transaction_id=transaction_id, at=now - dt.timedelta(minutes=1))
    below_start = meter_values_payload(sampled("200"), transaction_id=transaction_id, at=now)
    for payload in (forward, backward, below_start):
        assert await connected.result("MeterValues", payload) == {}
    session = await db(_session)(charger.pk, transaction_id)
    assert session.energy_wh == 4000  # the highest reading so far
    assert session.needs_review
    assert "backwards" in session.review_notes
    assert len(await db(_meter_values)(session_id=session.pk)) == 3  # all kept as sent


async def test_energy_register_backwards_in_a_fresh_session_stays_at_zero(charger, tokens, connected):
    transaction_id = await _start(connected, meter_start=1000)
    await connected.result("MeterValues", meter_values_payload(sampled("400"), transaction_id=transaction_id))
    session = await db(_session)(charger.pk, transaction_id)
    assert session.energy_wh == 0
    assert session.needs_review


# --- R18, R19: ordering and interleaving ------------------------------------------------------


async def test_interleaved_frames_of_two_chargers_are_all_answered(charger, make_charger, tokens, open_client):
    other = await db(make_charger)("CP-OTHER-1", site=charger.charger.site)
    a, b = await open_client(charger), await open_client(other)
    sent_a, sent_b = [], []
    for n in range(5):
        sent_a.append(await a.send_call("Heartbeat", {}))
        sent_b.append(await b.send_call("StatusNotification", _status(1, "Charging" if n % 2 else "Available")))
        sent_a.append(await a.send_call("Authorize", {"idTag": "TAG-OK"}))
        sent_b.append(await b.send_call("Heartbeat", {}))
    replies_a = [await a.receive() for _ in sent_a]
    replies_b = [await b.receive() for _ in sent_b]
    assert [r[1] for r in replies_a] == sent_a
    assert [r[1] for r in replies_b] == sent_b
    assert all(r[0] == CALLRESULT for r in replies_a + replies_b)
    await COMMITTER.drain()  # status is written behind the answer
    assert len(await db(_status_history)(other.pk)) == 5
    assert await db(_status_history)(charger.pk) == []


async def test_back_to_back_transaction_messages_are_applied_in_arrival_order(charger, tokens, connected):
    """R19: nothing waits for a reply. The second Start on the same connector would close the
    first session as abandoned if it overtook the Stop."""
    started = now_s() - dt.timedelta(minutes=20)
    first = await _start(connected, meter_start=1000, at=started)
    ids = [
        await connected.send_call(
            "MeterValues",
            meter_values_payload(sampled("1500"), transaction_id=first, at=started + dt.timedelta(minutes=5)),
        ),
        await connected.send_call(
            "MeterValues",
            meter_values_payload(sampled("2500"), transaction_id=first, at=started + dt.timedelta(minutes=10)),
        ),
        await connected.send_call(
            "StopTransaction",
            stop_payload(first, meter_stop=3000, at=started + dt.timedelta(minutes=15), reason="Local"),
        ),
        await connected.send_call(
            "StartTransaction", start_payload(meter_start=3000, at=started + dt.timedelta(minutes=16))
        ),
    ]
    replies = [await connected.receive() for _ in ids]
    assert [r[1] for r in replies] == ids
    assert [r[0] for r in replies] == [CALLRESULT] * 4
    second = replies[3][2]["transactionId"]
    assert second > first

    closed = await db(_session)(charger.pk, first)
    assert (closed.state, closed.stop_reason, closed.meter_stop_wh, closed.energy_wh) == (
        SessionState.COMPLETED, "Local", 3000, 2000,
    )  # fmt: skip
    assert not closed.needs_review  # not closed as abandoned
    rows = await db(_meter_values)(session_id=closed.pk)
    assert [r.raw_value for r in rows] == ["1500", "2500"]
    assert rows[0].received_at <= rows[1].received_at <= closed.stop_received_at
    assert (await db(_session)(charger.pk, second)).state == SessionState.ACTIVE


async def test_message_log_records_frames_in_and_out(charger, connected):
    """The consumer logs every frame; the log writer is started with the first connection."""
    message_id = await connected.send_call("Heartbeat", {})
    reply = await connected.receive()
    assert reply[0] == CALLRESULT
    await connected.send_raw("not json")
    assert (await connected.receive())[0] == CALLERROR
    await flush_message_log()

    def logged():
        return list(
            MessageLog.objects.filter(charge_point_id=charger.charge_point_id)
            .order_by("pk")
            .values_list("direction", "message_type", "message_id", "action", "error_code")
        )

    rows = await db(logged)()
    assert ("in", 2, message_id, "Heartbeat", "") in rows
    assert ("out", 3, message_id, "Heartbeat", "") in rows
    assert ("out", 4, "-1", "", "FormationViolation") in rows
