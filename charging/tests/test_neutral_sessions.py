"""The session core as a second protocol version will use it: transactions the charger names
with its own strings (2.0.1-style, e.g. "TX-abc"), connectors numbered per EVSE, mixed in the
same batches as integer ids we issue. The guarantees are the same whatever names the session."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charging.models import ChargingSession, MeterValue, SessionState, UnmatchedStop
from charging.services import (
    MeterReading,
    MeterReport,
    MeterSnapshot,
    SessionStart,
    SessionStop,
    close_sessions,
    open_sessions,
    record_meter_reports,
)
from charging.tests.factories import IdTokenFactory
from sites.models import Connector, SecurityEvent
from sites.services import register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)
RECEIVED = T0 + dt.timedelta(seconds=1)


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CP-NEUTRAL-1", connector_count=0)


@pytest.fixture
def other_charger(charger):
    return register_charger(site=charger.site, charge_point_id="CP-NEUTRAL-2", connector_count=0)


@pytest.fixture
def token(charger):
    return IdTokenFactory(organization=charger.site.organization, id_tag="TOKEN-1")


def _start(charger, transaction_id: str | None = "TX-abc", *, evse_id=1, connector_id=1, tag="TOKEN-1", at=T0):
    return SessionStart(
        charger_id=charger.pk,
        connector_id=connector_id,
        evse_id=evse_id,
        token=tag,
        meter_start_wh=1000,
        started_at=at,
        received_at=at + dt.timedelta(seconds=1),
        transaction_id=transaction_id,
    )


def _stop(charger, transaction_id, *, meter_stop_wh=6000, token="", at=T0 + dt.timedelta(hours=1), **fields):
    return SessionStop(
        charger_id=charger.pk,
        transaction_id=transaction_id,
        meter_stop_wh=meter_stop_wh,
        stopped_at=at,
        received_at=at + dt.timedelta(seconds=1),
        token=token,
        **fields,
    )


def _report(charger, transaction_id, *readings: MeterReading, evse_id=1, connector_id=1, at=T0):
    return MeterReport(
        charger_id=charger.pk,
        connector_id=connector_id,
        evse_id=evse_id,
        transaction_id=transaction_id,
        snapshots=[MeterSnapshot(at + dt.timedelta(minutes=5), list(readings))],
        received_at=at + dt.timedelta(minutes=5, seconds=1),
    )


def test_a_session_named_by_the_charger_keeps_its_name_and_gets_no_issued_id(charger, token):
    [opened] = open_sessions([_start(charger)])
    assert opened.transaction_id == "TX-abc"
    assert opened.decision.status == "Accepted"
    session = ChargingSession.objects.get()
    assert (session.transaction_uid, session.transaction_id) == ("TX-abc", None)


def test_an_evse_connector_is_created_apart_from_a_per_charger_one(charger, token):
    open_sessions([_start(charger, evse_id=2, connector_id=1), _start(charger, None, evse_id=None, tag="X")])
    connectors = Connector.objects.filter(charger=charger)
    assert {(c.evse_id, c.connector_id) for c in connectors} == {(2, 1), (None, 1)}
    assert ChargingSession.objects.filter(state=SessionState.ACTIVE).count() == 2  # two connectors, two sessions


def test_a_retransmitted_named_start_opens_nothing_new(charger, token):
    [first] = open_sessions([_start(charger)])
    again, same_batch = open_sessions([_start(charger), _start(charger)])
    assert first.transaction_id == again.transaction_id == same_batch.transaction_id == "TX-abc"
    assert again.decision.status == "Accepted"  # its own session does not make it ConcurrentTx (R2)
    assert ChargingSession.objects.count() == 1


def test_named_and_issued_ids_in_one_batch(charger, other_charger, token):
    named, issued = open_sessions([_start(charger), _start(other_charger, None, evse_id=None, tag="OTHER")])
    assert named.transaction_id == "TX-abc"
    assert isinstance(issued.transaction_id, int)
    assert issued.transaction_id > 0


def test_a_new_start_on_a_busy_evse_connector_closes_the_abandoned_session(charger, token):
    open_sessions([_start(charger, "TX-1")])
    open_sessions([_start(charger, "TX-2", tag="OTHER", at=T0 + dt.timedelta(hours=2))])
    old, new = ChargingSession.objects.order_by("pk")
    assert (old.transaction_uid, old.state, old.stop_reason) == ("TX-1", SessionState.COMPLETED, "Other")
    assert old.needs_review
    assert (new.transaction_uid, new.state) == ("TX-2", SessionState.ACTIVE)


def test_readings_of_a_named_transaction_update_its_session(charger, token):
    open_sessions([_start(charger)])
    record_meter_reports(
        [
            _report(
                charger,
                "TX-abc",
                MeterReading("3.5", unit="kWh"),
                MeterReading("7.4", measurand="Power.Active.Import", unit="kW"),
            )
        ]
    )
    session = ChargingSession.objects.get()
    assert (session.energy_wh, session.last_power_w) == (2500, Decimal(7400))
    assert {row.connector_id for row in MeterValue.objects.all()} == {session.connector_id}


def test_readings_of_an_unknown_named_transaction_are_kept_and_flagged(charger, other_charger, token):
    open_sessions([_start(other_charger)])  # the same string on another charger is another transaction
    record_meter_reports([_report(charger, "TX-abc", MeterReading("5"))])
    row = MeterValue.objects.get()
    assert row.session is None
    assert "TX-abc" in row.flag
    assert ChargingSession.objects.get().energy_wh == 0
    assert not SecurityEvent.objects.exists()  # a charger's own names repeat elsewhere: not foreign (R7)


def test_a_named_transaction_is_closed_once(charger, token):
    open_sessions([_start(charger)])
    data = [MeterSnapshot(T0 + dt.timedelta(hours=1), [MeterReading("6000", context="Transaction.End")])]
    first, again = close_sessions([_stop(charger, "TX-abc", readings=data), _stop(charger, "TX-abc", token="TOKEN-1")])
    assert first is None
    assert again.status == "Accepted"
    session = ChargingSession.objects.get()
    assert (session.state, session.energy_wh, session.stop_reason) == (SessionState.COMPLETED, 5000, "Local")
    assert session.meter_values.get().context == "Transaction.End"
    assert not UnmatchedStop.objects.exists()  # R6


def test_a_stop_of_an_unknown_named_transaction_is_kept_for_review(charger, other_charger, token):
    open_sessions([_start(other_charger, tag="OTHER")])
    [decision] = close_sessions([_stop(charger, "TX-abc", token="TOKEN-1", reason="EVDisconnected")])
    assert decision.status == "Accepted"  # acknowledged as if valid (R5)
    assert ChargingSession.objects.get().state == SessionState.ACTIVE  # the other charger's is untouched (R7)
    unmatched = UnmatchedStop.objects.get()
    assert (unmatched.charger, unmatched.transaction_uid, unmatched.transaction_id) == (charger, "TX-abc", None)
    assert (unmatched.reason, unmatched.meter_stop_wh) == ("EVDisconnected", 6000)
    assert not SecurityEvent.objects.exists()


def test_a_named_stop_below_its_start_bills_nothing(charger, token):
    open_sessions([_start(charger)])
    close_sessions([_stop(charger, "TX-abc", meter_stop_wh=10, at=T0 - dt.timedelta(minutes=1))])
    session = ChargingSession.objects.get()
    assert session.energy_wh == 0  # R11
    assert "below meter start" in session.review_notes
    assert "before start" in session.review_notes  # R10


def _queries(call) -> int:
    with CaptureQueriesContext(connection) as captured:
        call()
    return len(captured)


def test_the_queries_of_readings_and_stops_do_not_grow_with_the_batch(charger, other_charger, token):
    """One report or three, one stop or three: the same statements (group commit's premise)."""
    chargers = [charger, other_charger, register_charger(site=charger.site, charge_point_id="CP-NEUTRAL-3")]
    open_sessions([_start(c, f"TX-{n}", tag=f"T{n}") for n, c in enumerate(chargers)])
    reading = MeterReading("2000")
    one = _queries(lambda: record_meter_reports([_report(charger, "TX-0", reading)]))
    three = _queries(lambda: record_meter_reports([_report(c, f"TX-{n}", reading) for n, c in enumerate(chargers)]))
    assert three == one
    one = _queries(lambda: close_sessions([_stop(charger, "TX-0")]))
    three = _queries(lambda: close_sessions([_stop(c, f"TX-{n}") for n, c in enumerate(chargers) if n]))
    assert three == one
