"""The charging domain services, called directly (no socket)."""

import datetime as dt
from decimal import Decimal

import pytest

from charging.models import ChargingSession, IdToken, IdTokenPlace, MeterValue, SessionState, UnmatchedStop
from charging.services import (
    MeterReading,
    MeterReport,
    MeterSnapshot,
    SessionStart,
    SessionStop,
    authorize_token,
    close_session,
    open_session,
    record_meter_report,
    timestamp_concerns,
)
from charging.tests.factories import IdTokenFactory
from sites.models import SecurityEvent
from sites.services import register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CP-SVC-1", connector_count=2)


@pytest.fixture
def other_charger(charger):
    return register_charger(site=charger.site, charge_point_id="CP-SVC-2", connector_count=1)


@pytest.fixture
def tokens(charger):
    organization = charger.site.organization
    return {
        "ok": IdTokenFactory(
            organization=organization, id_tag="TAG-OK", parent_id_tag="PARENT", expires_at=T0 + dt.timedelta(days=1)
        ),
        "blocked": IdTokenFactory(organization=organization, id_tag="TAG-BLOCKED", status=IdToken.Status.BLOCKED),
        "expired": IdTokenFactory(
            organization=organization, id_tag="TAG-EXPIRED", expires_at=T0 - dt.timedelta(days=1)
        ),
        "invalid": IdTokenFactory(organization=organization, id_tag="TAG-INVALID", status=IdToken.Status.INVALID),
    }


def _start(charger, *, connector_id=1, id_tag="TAG-OK", meter_start=1000, at=T0, received_at=None, **fields):
    opened = open_session(
        start=SessionStart(
            charger_id=charger.pk,
            connector_id=connector_id,
            token=id_tag,
            meter_start_wh=meter_start,
            started_at=at,
            received_at=received_at or at + dt.timedelta(seconds=1),
            **fields,
        )
    )
    return opened.transaction_id


def _stop(charger, transaction_id, *, meter_stop=5000, at=T0 + dt.timedelta(hours=1), **fields):
    return close_session(
        stop=SessionStop(
            charger_id=charger.pk,
            transaction_id=transaction_id,
            meter_stop_wh=meter_stop,
            stopped_at=at,
            received_at=at + dt.timedelta(seconds=1),
            **fields,
        )
    )


def _values(charger, transaction_id, *readings: MeterReading, at=T0 + dt.timedelta(minutes=5), connector_id=1, **kw):
    record_meter_report(
        report=MeterReport(
            charger_id=charger.pk,
            connector_id=connector_id,
            transaction_id=transaction_id,
            snapshots=[MeterSnapshot(timestamp=at, readings=list(readings))],
            received_at=at + dt.timedelta(seconds=1),
            **kw,
        )
    )


def _session(charger, transaction_id) -> ChargingSession:
    return ChargingSession.objects.get(charger=charger, transaction_id=transaction_id)


# --- authorize_token -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("id_tag", "status"),
    [
        ("TAG-OK", "Accepted"),
        ("tag-ok", "Accepted"),
        ("TAG-BLOCKED", "Blocked"),
        ("TAG-EXPIRED", "Expired"),
        ("TAG-INVALID", "Invalid"),
        ("UNKNOWN", "Invalid"),
    ],
)
def test_authorize_statuses(charger, tokens, id_tag, status):
    assert authorize_token(charger_id=charger.pk, token=id_tag, now=T0).status == status


def test_authorize_carries_expiry_and_parent(charger, tokens):
    info = authorize_token(charger_id=charger.pk, token="TAG-OK", now=T0)
    assert (info.expires_at, info.parent) == (T0 + dt.timedelta(days=1), "PARENT")


def test_authorize_expiry_is_judged_at_the_given_time(charger, tokens):
    assert authorize_token(charger_id=charger.pk, token="TAG-OK", now=T0 + dt.timedelta(days=2)).status == "Expired"


def test_authorize_ignores_tokens_of_other_organizations(charger):
    IdTokenFactory(id_tag="TAG-ELSEWHERE")
    assert authorize_token(charger_id=charger.pk, token="TAG-ELSEWHERE", now=T0).status == "Invalid"


def test_authorize_a_token_in_a_session_is_concurrent_tx_until_it_stops(charger, tokens):
    transaction_id = _start(charger)
    assert authorize_token(charger_id=charger.pk, token="TAG-OK", now=T0).status == "ConcurrentTx"
    _stop(charger, transaction_id)
    assert authorize_token(charger_id=charger.pk, token="TAG-OK", now=T0).status == "Accepted"


# --- timestamp_concerns -----------------------------------------------------------------------


# --- Where a token may charge (2.0.1 C01.FR.19-22) ------------------------------------------


def test_a_token_without_places_charges_everywhere(charger, other_charger, tokens):
    decision = authorize_token(charger_id=other_charger.pk, token="TAG-OK", now=T0)
    assert (decision.status, decision.evse_ids) == ("Accepted", ())


def test_a_token_with_places_charges_only_there_and_at_the_evses_named(charger, other_charger, tokens):
    IdTokenPlace.objects.create(token=tokens["ok"], charger=charger, evse_id=2)
    IdTokenPlace.objects.create(token=tokens["ok"], charger=charger, evse_id=1)
    here = authorize_token(charger_id=charger.pk, token="TAG-OK", now=T0)
    assert (here.status, here.evse_ids) == ("Accepted", (1, 2))
    elsewhere = authorize_token(charger_id=other_charger.pk, token="TAG-OK", now=T0)
    assert (elsewhere.status, elsewhere.evse_ids) == ("NotAtThisLocation", ())
    IdTokenPlace.objects.create(token=tokens["ok"], charger=other_charger)  # every EVSE of it
    assert authorize_token(charger_id=other_charger.pk, token="TAG-OK", now=T0).status == "Accepted"
    # A blocked token stays blocked wherever it may charge.
    IdTokenPlace.objects.create(token=tokens["blocked"], charger=other_charger)
    assert authorize_token(charger_id=charger.pk, token="TAG-BLOCKED", now=T0).status == "Blocked"


def test_a_start_at_an_evse_the_token_may_not_use_is_recorded_for_review(charger, tokens):
    IdTokenPlace.objects.create(token=tokens["ok"], charger=charger, evse_id=1)
    allowed = open_session(start=SessionStart(charger.pk, 1, "TAG-OK", 0, T0, T0))
    assert (allowed.decision.status, allowed.decision.evse_ids) == ("Accepted", (1,))
    _stop(charger, allowed.transaction_id, meter_stop=10, at=T0 + dt.timedelta(minutes=1))
    refused = open_session(start=SessionStart(charger.pk, 2, "TAG-OK", 0, T0, T0 + dt.timedelta(minutes=2)))
    assert refused.decision.status == "NotAtThisLocation"
    assert "NotAtThisLocation" in _session(charger, refused.transaction_id).review_notes


def test_timestamp_concerns(settings):
    settings.OCPP_CLOCK_SKEW_TOLERANCE = 300
    assert timestamp_concerns(T0, T0) == []
    assert timestamp_concerns(T0 + dt.timedelta(seconds=300), T0) == []
    assert timestamp_concerns(T0 - dt.timedelta(days=3000), T0) == []
    [future] = timestamp_concerns(T0 + dt.timedelta(seconds=301), T0)
    assert "future" in future
    [old] = timestamp_concerns(dt.datetime(1970, 1, 1, tzinfo=dt.UTC), T0)
    assert "implausibly old" in old


# --- open_session ------------------------------------------------------------------------


def test_start_transaction_opens_a_session(charger, tokens):
    received = T0 + dt.timedelta(seconds=2)
    result = open_session(
        start=SessionStart(
            charger_id=charger.pk,
            connector_id=2,
            token="TAG-OK",
            meter_start_wh=777,
            started_at=T0,
            received_at=received,
            reservation_id=5,
        )
    )
    assert result.transaction_id > 0
    assert result.decision.status == "Accepted"
    session = _session(charger, result.transaction_id)
    assert (session.connector.connector_id, session.id_token, session.id_tag) == (2, tokens["ok"], "TAG-OK")
    assert (session.started_at, session.start_received_at, session.meter_start_wh) == (T0, received, 777)
    assert session.state == SessionState.ACTIVE
    assert not session.needs_review


def test_start_transaction_retransmitted_returns_the_same_id(charger, tokens):
    first = _start(charger)
    assert _start(charger, received_at=T0 + dt.timedelta(minutes=3)) == first
    assert ChargingSession.objects.count() == 1


def test_transaction_ids_are_unique_across_chargers(charger, other_charger, tokens):
    ids = {_start(charger, connector_id=1), _start(charger, connector_id=2, id_tag="X"), _start(other_charger)}
    assert len(ids) == 3
    assert all(i > 0 for i in ids)


@pytest.mark.parametrize(
    ("id_tag", "status"), [("NOPE", "Invalid"), ("TAG-BLOCKED", "Blocked"), ("TAG-EXPIRED", "Expired")]
)
def test_start_with_a_refused_tag_records_a_session_for_review(charger, tokens, id_tag, status):
    result = open_session(
        start=SessionStart(
            charger_id=charger.pk, connector_id=1, token=id_tag, meter_start_wh=0, started_at=T0, received_at=T0
        )
    )
    assert result.decision.status == status
    assert result.transaction_id > 0
    session = _session(charger, result.transaction_id)
    assert session.needs_review
    assert status in session.review_notes


def test_a_new_start_on_a_busy_connector_closes_the_abandoned_session(charger, tokens):
    first = _start(charger, meter_start=1000, at=T0)
    later = T0 + dt.timedelta(hours=2)
    second = _start(charger, id_tag="OTHER", meter_start=9000, at=later)
    assert second != first
    old = _session(charger, first)
    assert old.state == SessionState.COMPLETED
    assert (old.stopped_at, old.stop_reason) == (later, "Other")
    assert old.needs_review
    assert "without a stop" in old.review_notes
    assert _session(charger, second).state == SessionState.ACTIVE


def test_start_with_a_suspicious_time_is_flagged(charger, tokens):
    transaction_id = _start(charger, at=dt.datetime(1970, 1, 1, tzinfo=dt.UTC), received_at=T0)
    session = _session(charger, transaction_id)
    assert session.needs_review
    assert "implausibly old" in session.review_notes


def test_start_creates_an_unknown_connector(charger, tokens):
    transaction_id = _start(charger, connector_id=4)
    assert _session(charger, transaction_id).connector.connector_id == 4
    assert charger.connectors.count() == 3


# --- record_meter_report ----------------------------------------------------------------------


def test_meter_values_update_energy_and_power(charger, tokens):
    transaction_id = _start(charger, meter_start=1000)
    _values(
        charger,
        transaction_id,
        MeterReading("2.5", unit="kWh"),
        MeterReading("11", measurand="Power.Active.Import", unit="kW"),
        MeterReading("999999", phase="L1"),  # per phase: not the register total
    )
    session = _session(charger, transaction_id)
    assert (session.energy_wh, session.last_power_w) == (1500, Decimal(11000))
    assert session.meter_values.count() == 3


def test_meter_values_are_applied_in_timestamp_order_within_a_message(charger, tokens):
    transaction_id = _start(charger, meter_start=0)
    record_meter_report(
        report=MeterReport(
            charger_id=charger.pk,
            connector_id=1,
            transaction_id=transaction_id,
            snapshots=[
                MeterSnapshot(timestamp=T0 + dt.timedelta(minutes=2), readings=[MeterReading("200")]),
                MeterSnapshot(timestamp=T0 + dt.timedelta(minutes=1), readings=[MeterReading("100")]),
            ],
            received_at=T0 + dt.timedelta(minutes=3),
        )
    )
    session = _session(charger, transaction_id)
    assert session.energy_wh == 200
    assert not session.needs_review  # not "backwards": sorted by the charger's time


def test_energy_register_going_backwards_keeps_the_highest_and_flags(charger, tokens):
    transaction_id = _start(charger, meter_start=1000)
    _values(charger, transaction_id, MeterReading("4000"), at=T0 + dt.timedelta(minutes=1))
    _values(charger, transaction_id, MeterReading("1500"), at=T0 + dt.timedelta(minutes=2))
    _values(charger, transaction_id, MeterReading("10"), at=T0 + dt.timedelta(minutes=3))
    session = _session(charger, transaction_id)
    assert session.energy_wh == 3000
    assert session.needs_review
    assert session.review_notes.count("backwards") == 2


def test_meter_values_for_a_completed_session_are_stored_but_do_not_change_it(charger, tokens):
    transaction_id = _start(charger, meter_start=1000)
    _stop(charger, transaction_id, meter_stop=3000)
    _values(charger, transaction_id, MeterReading("9000"))
    session = _session(charger, transaction_id)
    assert session.energy_wh == 2000
    assert session.meter_values.count() == 1


@pytest.mark.parametrize("raw", ["abc", "", "NaN", "Infinity", "1e15", "-1e15", "1" * 40])
def test_values_that_are_not_storable_numbers_are_kept_as_text_and_flagged(charger, tokens, raw):
    transaction_id = _start(charger, meter_start=0)
    _values(charger, transaction_id, MeterReading(raw), MeterReading("10"))
    bad, good = MeterValue.objects.order_by("pk")
    assert (bad.raw_value, bad.value, bool(bad.flag)) == (raw, None, True)
    assert (good.value, good.flag) == (Decimal(10), "")
    assert _session(charger, transaction_id).energy_wh == 10


def test_largest_storable_reading_is_kept_as_a_number(charger, tokens):
    transaction_id = _start(charger, meter_start=0)
    _values(charger, transaction_id, MeterReading("999999999999999", unit="kWh"))  # exact even as a float (SQLite)
    row = MeterValue.objects.get()
    assert row.value == Decimal("999999999999999")
    assert row.flag == ""
    assert _session(charger, transaction_id).energy_wh == 999_999_999_999_999_000  # in Wh, within 64 bits


def test_signed_meter_data_is_not_flagged(charger, tokens):
    transaction_id = _start(charger)
    _values(charger, transaction_id, MeterReading("AP//signed-blob==", signed=True))
    row = MeterValue.objects.get()
    assert (row.value, row.flag) == (None, "")


def test_meter_values_for_an_unknown_transaction_are_flagged(charger):
    _values(charger, 31337, MeterReading("5"))
    row = MeterValue.objects.get()
    assert row.session is None
    assert "31337" in row.flag
    assert not SecurityEvent.objects.exists()


def test_meter_values_quoting_another_chargers_transaction_raise_a_security_event(charger, other_charger, tokens):
    foreign = _start(other_charger, meter_start=0)
    _values(charger, foreign, MeterReading("5000"))
    assert _session(other_charger, foreign).energy_wh == 0
    event = SecurityEvent.objects.get()
    assert (event.charger, event.kind, event.detail["owner"]) == (charger, "ForeignTransactionId", "CP-SVC-2")


def test_meter_values_without_transaction_and_of_the_main_meter(charger):
    _values(charger, None, MeterReading("5"), connector_id=0)
    _values(charger, None, MeterReading("6"), connector_id=2)
    main, second = MeterValue.objects.order_by("pk")
    assert main.connector is None
    assert second.connector.connector_id == 2
    assert main.flag == second.flag == ""


# --- close_session -------------------------------------------------------------------------


def test_stop_transaction_closes_once(charger, tokens):
    transaction_id = _start(charger, meter_start=1000)
    stopped = T0 + dt.timedelta(minutes=50)
    data = [MeterSnapshot(timestamp=stopped, readings=[MeterReading("6000", context="Transaction.End")])]
    assert _stop(charger, transaction_id, meter_stop=6000, at=stopped, readings=data) is None
    session = _session(charger, transaction_id)
    assert (session.state, session.energy_wh, session.meter_stop_wh) == (SessionState.COMPLETED, 5000, 6000)
    assert (session.stopped_at, session.duration, session.stop_reason) == (stopped, dt.timedelta(minutes=50), "Local")
    assert session.meter_values.get().context == "Transaction.End"

    info = _stop(charger, transaction_id, meter_stop=9999, at=stopped + dt.timedelta(hours=1), token="TAG-OK")
    assert info.status == "Accepted"
    session.refresh_from_db()
    assert (session.meter_stop_wh, session.stopped_at) == (6000, stopped)
    assert not UnmatchedStop.objects.exists()


def test_stop_below_meter_start_bills_nothing(charger, tokens):
    transaction_id = _start(charger, meter_start=5000)
    _stop(charger, transaction_id, meter_stop=100)
    session = _session(charger, transaction_id)
    assert session.energy_wh == 0
    assert session.needs_review


def test_stop_before_start_is_flagged(charger, tokens):
    transaction_id = _start(charger)
    _stop(charger, transaction_id, at=T0 - dt.timedelta(minutes=1))
    session = _session(charger, transaction_id)
    assert session.needs_review
    assert "before start" in session.review_notes


@pytest.mark.parametrize("transaction_id", [0, -1, 123456])
def test_stop_of_an_unknown_transaction_is_kept_for_review(charger, tokens, transaction_id):
    info = _stop(charger, transaction_id, meter_stop=42, token="TAG-OK", reason="Remote", readings_as_sent=[{"x": 1}])
    assert info.status == "Accepted"
    unmatched = UnmatchedStop.objects.get()
    assert (unmatched.charger, unmatched.transaction_id, unmatched.meter_stop_wh, unmatched.reason) == (
        charger, transaction_id, 42, "Remote",
    )  # fmt: skip
    assert unmatched.transaction_data == [{"x": 1}]
    assert not SecurityEvent.objects.exists()


def test_stop_of_another_chargers_transaction_leaves_it_alone(charger, other_charger, tokens):
    foreign = _start(other_charger)
    _stop(charger, foreign)
    assert _session(other_charger, foreign).state == SessionState.ACTIVE
    assert UnmatchedStop.objects.get().charger == charger
    assert SecurityEvent.objects.get().detail == {
        "action": "session stop",  # the adapter of each protocol version names its own message
        "transactionId": foreign,
        "owner": "CP-SVC-2",
    }
