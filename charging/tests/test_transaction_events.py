"""Transactions reported event by event (2.0.1-style: the charger names the transaction and
numbers its events), applied to the same ChargingSession as 1.6 ones: exactly once per sequence
number, out of order when the charger was offline, complete even without a first event (R25)."""

import datetime as dt

import pytest

from charging.models import ChargingSession, MeterValue, SessionState, TransactionEventRecord
from charging.services import (
    MeterReading,
    MeterSnapshot,
    TransactionEventIn,
    record_transaction_event,
    record_transaction_events,
)
from charging.tests.factories import IdTokenFactory
from sites.models import Connector
from sites.services import register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CS-EVENTS-1", connector_count=0)


@pytest.fixture
def token(charger):
    return IdTokenFactory(organization=charger.site.organization, id_tag="TOKEN-1", parent_id_tag="GROUP-1")


def _energy(wh: int, at: dt.datetime, context: str = "Sample.Periodic") -> MeterSnapshot:
    return MeterSnapshot(at, [MeterReading(str(wh), context=context)])


def _event(charger, kind: str, seq_no: int, minutes: int, *, tx="TX-1", wh=None, context=None, **fields):
    at = T0 + dt.timedelta(minutes=minutes)
    readings = [] if wh is None else [_energy(wh, at, context or "Sample.Periodic")]
    return TransactionEventIn(
        charger_id=charger.pk,
        transaction_id=tx,
        seq_no=seq_no,
        kind=kind,
        timestamp=at,
        received_at=fields.pop("received_at", at + dt.timedelta(seconds=1)),
        readings=readings,
        payload=fields.pop("payload", {"seqNo": seq_no, "kind": kind}),
        **fields,
    )


def _record(event):
    return record_transaction_event(event)


def _session(charger, tx="TX-1") -> ChargingSession:
    return ChargingSession.objects.get(charger=charger, transaction_uid=tx)


def test_a_whole_transaction_started_updated_ended(charger, token):
    started = _record(
        _event(
            charger,
            "started",
            0,
            0,
            wh=1000,
            context="Transaction.Begin",
            evse_id=2,
            connector_id=1,
            token="token-1",
            trigger_reason="Authorized",
            charging_state="Charging",
        )
    )
    assert started.decision.status == "Accepted"
    assert started.decision.parent == "GROUP-1"
    assert not started.duplicate
    session = _session(charger)
    assert (session.state, session.meter_start_wh, session.id_token, session.started_at) == ("active", 1000, token, T0)
    assert Connector.objects.get(pk=session.connector_id).evse_id == 2
    assert _record(_event(charger, "updated", 1, 10, wh=3000, trigger_reason="MeterValuePeriodic")).decision is None
    assert _session(charger).energy_wh == 2000
    ended = _record(_event(charger, "ended", 2, 20, wh=4500, context="Transaction.End", stop_reason="EVDisconnected"))
    assert ended.decision is None
    session = _session(charger)
    assert session.state == SessionState.COMPLETED
    assert (session.meter_stop_wh, session.energy_wh, session.stop_reason) == (4500, 3500, "EVDisconnected")
    assert session.stopped_at == T0 + dt.timedelta(minutes=20)
    assert not session.needs_review, session.review_notes
    assert MeterValue.objects.filter(session=session).count() == 3
    records = TransactionEventRecord.objects.filter(session=session)
    assert [(r.seq_no, r.kind) for r in records] == [(0, "started"), (1, "updated"), (2, "ended")]
    assert records[0].charging_state == "Charging"
    assert records[0].trigger_reason == "Authorized"


def test_the_stop_reason_defaults_to_local(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    _record(_event(charger, "ended", 1, 5, wh=1200))
    assert _session(charger).stop_reason == "Local"


def test_a_resent_event_is_answered_the_same_and_changes_nothing(charger, token):
    first = _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    token.status = "Blocked"
    token.save()
    again = _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    assert again.duplicate
    assert again.decision == first.decision
    _record(_event(charger, "updated", 1, 10, wh=3000))
    _record(_event(charger, "updated", 1, 10, wh=3000))
    _record(_event(charger, "ended", 2, 20, wh=4000))
    _record(_event(charger, "ended", 2, 20, wh=4000))
    assert ChargingSession.objects.filter(charger=charger).count() == 1
    assert TransactionEventRecord.objects.filter(charger=charger).count() == 3
    assert MeterValue.objects.filter(charger=charger).count() == 3
    assert _session(charger).energy_wh == 3000


def test_the_tokens_priority_is_in_the_answer_and_in_the_same_answer_to_a_resend(charger, token):
    token.charging_priority = 5
    token.save()
    first = _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    assert first.decision.priority == 5
    token.charging_priority = -3
    token.save()
    again = _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    assert (again.duplicate, again.decision) == (True, first.decision)


def test_duplicates_in_one_batch_are_applied_once(charger, token):
    event = _event(charger, "started", 0, 0, wh=1000, token="TOKEN-1")
    outcomes = record_transaction_events([event, event])
    assert [outcome.duplicate for outcome in outcomes] == [False, True]
    assert ChargingSession.objects.filter(charger=charger).count() == 1


def test_offline_events_out_of_order_keep_the_newest_state_and_every_reading(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1", offline=True))
    _record(_event(charger, "updated", 2, 20, wh=5000, offline=True))
    _record(_event(charger, "updated", 1, 10, wh=3000, offline=True))  # older than what is applied
    session = _session(charger)
    assert session.energy_wh == 4000
    assert not session.needs_review, session.review_notes  # no "register went backwards"
    assert MeterValue.objects.filter(session=session).count() == 3
    older = TransactionEventRecord.objects.get(charger=charger, seq_no=1)
    assert (older.offline, older.applied) == (True, False)


def test_an_ended_event_without_a_start_yields_a_complete_session(charger, token):
    at = T0 + dt.timedelta(minutes=30)
    event = TransactionEventIn(
        charger_id=charger.pk,
        transaction_id="TX-OFF",
        seq_no=5,
        kind="ended",
        timestamp=at,
        received_at=at + dt.timedelta(hours=2),
        offline=True,
        token="TOKEN-1",
        evse_id=1,
        connector_id=1,
        readings=[_energy(2000, T0, "Transaction.Begin"), _energy(9000, at, "Transaction.End")],
    )
    outcome = _record(event)
    assert outcome.decision.status == "Accepted"
    session = _session(charger, "TX-OFF")
    assert session.state == SessionState.COMPLETED
    assert (session.started_at, session.stopped_at) == (T0, at)
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (2000, 9000, 7000)
    assert session.needs_review
    assert "no start event received" in session.review_notes


def test_a_start_after_the_end_does_not_reopen(charger, token):
    _record(_event(charger, "ended", 1, 20, wh=4000, context="Transaction.End", token="TOKEN-1", evse_id=1))
    _record(_event(charger, "started", 0, 0, wh=1000, context="Transaction.Begin", token="TOKEN-1", evse_id=1))
    assert ChargingSession.objects.filter(charger=charger).count() == 1
    session = _session(charger)
    assert session.state == SessionState.COMPLETED
    assert "received after the transaction ended" in session.review_notes
    assert "all events of the transaction received since" not in session.review_notes  # none were missing


def test_a_sequence_gap_is_flagged_at_the_end_and_its_filling_noted(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    _record(_event(charger, "updated", 1, 5, wh=1500))
    _record(_event(charger, "ended", 4, 20, wh=4000))
    session = _session(charger)
    assert session.needs_review
    assert "sequence numbers 2, 3" in session.review_notes
    _record(_event(charger, "updated", 2, 10, wh=2000, offline=True))
    _record(_event(charger, "updated", 3, 15, wh=3000, offline=True))
    session = _session(charger)
    assert session.review_notes.count("received after the transaction ended") == 2
    assert "all events of the transaction received since" in session.review_notes
    assert session.energy_wh == 3000  # late readings do not change a closed session


def test_an_updated_event_first_opens_the_session_and_the_start_completes_it(charger, token):
    _record(_event(charger, "updated", 1, 10, wh=3000, evse_id=1, connector_id=1))
    _record(_event(charger, "started", 0, 0, wh=1000, context="Transaction.Begin", token="TOKEN-1"))
    session = _session(charger)
    assert (session.state, session.started_at, session.meter_start_wh, session.energy_wh) == ("active", T0, 1000, 2000)
    assert session.id_token == token


def test_a_token_given_later_authorizes_the_session_and_a_stop_token_is_kept(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, context="Transaction.Begin", trigger_reason="CablePluggedIn"))
    assert _session(charger).id_tag == ""
    outcome = _record(_event(charger, "updated", 1, 1, token="TOKEN-1", trigger_reason="Authorized"))
    assert outcome.decision.status == "Accepted"  # its own session is no concurrent transaction
    assert (_session(charger).id_tag, _session(charger).id_token) == ("TOKEN-1", token)
    _record(_event(charger, "updated", 2, 9, token="OTHER", token_ends_authorization=True))
    _record(_event(charger, "ended", 3, 10, wh=2000))
    assert _session(charger).stop_id_tag == "OTHER"


def test_the_evse_named_later_moves_the_session(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, context="Transaction.Begin", token="TOKEN-1"))
    assumed = _session(charger).connector
    assert (assumed.evse_id, assumed.connector_id) == (1, 1)
    _record(_event(charger, "updated", 1, 1, evse_id=3, connector_id=2, trigger_reason="CablePluggedIn"))
    moved = _session(charger).connector
    assert (moved.evse_id, moved.connector_id) == (3, 2)


def test_an_unknown_or_blocked_token_still_records_the_session(charger):
    IdTokenFactory(organization=charger.site.organization, id_tag="BLOCKED", status="Blocked")
    unknown = _record(_event(charger, "started", 0, 0, wh=0, token="NOBODY", tx="TX-A", evse_id=1))
    blocked = _record(_event(charger, "started", 0, 0, wh=0, token="BLOCKED", tx="TX-B", evse_id=2))
    assert (unknown.decision.status, unknown.decision.known) == ("Invalid", False)
    assert (blocked.decision.status, blocked.decision.known) == ("Blocked", True)
    assert _session(charger, "TX-B").needs_review


def test_the_same_transaction_id_on_two_chargers_is_two_sessions(charger, token):
    other = register_charger(site=charger.site, charge_point_id="CS-EVENTS-2", connector_count=0)
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    _record(_event(other, "started", 0, 0, wh=1000, token="TOKEN-1"))
    assert ChargingSession.objects.filter(transaction_uid="TX-1").count() == 2


# --- A group-commit round: many chargers' events in one batch ----------------------------


def _chargers(count: int, prefix: str = "CS-BATCH") -> list:
    site = SiteFactory()
    return [register_charger(site=site, charge_point_id=f"{prefix}-{n}", connector_count=0) for n in range(count)]


def _started(chargers) -> None:
    for charger in chargers:
        id_tag = f"TOKEN-1-{charger.pk}"
        IdTokenFactory(organization=charger.site.organization, id_tag=id_tag)
        _record(_event(charger, "started", 0, 0, wh=1000, context="Transaction.Begin", token=id_tag))


def _round_queries(django_assert_max_num_queries, events, expected: int):
    with django_assert_max_num_queries(expected) as captured:
        outcomes = record_transaction_events(events)
    return outcomes, len(captured)


def test_readings_of_running_transactions_are_written_in_a_fixed_handful_of_statements(
    django_assert_max_num_queries,
):
    """The routine event (a reading in the middle of a transaction) costs the same few
    statements for a round of 3 as for a round of 30."""
    few, many = _chargers(3, "CS-FEW"), _chargers(30, "CS-MANY")
    _started(few + many)
    counts = []
    for chargers in (few, many):
        events = [_event(charger, "updated", 1, 10, wh=4000 + charger.pk) for charger in chargers]
        outcomes, queries = _round_queries(django_assert_max_num_queries, events, 8)
        assert all(outcome.decision is None and not outcome.duplicate for outcome in outcomes)
        counts.append(queries)
    assert counts[0] == counts[1]
    for charger in few + many:
        session = _session(charger)
        assert session.energy_wh == 3000 + charger.pk
        assert MeterValue.objects.filter(session=session).count() == 2
        assert TransactionEventRecord.objects.get(session=session, seq_no=1).applied


def test_a_round_mixing_every_kind_of_event_answers_each_as_if_alone(charger, token):
    other, third, fourth = _chargers(3)
    _started([other, third, fourth])
    _record(_event(fourth, "ended", 1, 5, wh=2000))
    resent = _event(other, "started", 0, 0, wh=1000, context="Transaction.Begin", token=f"TOKEN-1-{other.pk}")
    events = [
        _event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"),  # a new transaction
        _event(other, "updated", 1, 10, wh=3000),  # routine
        resent,  # its first event again
        _event(third, "updated", 1, 10, wh=2500),  # the same transaction twice in the round
        _event(third, "updated", 2, 15, wh=2600),
        _event(fourth, "updated", 2, 10, wh=2100),  # after the end
        _event(charger, "updated", 1, 10, wh=1500, tx="TX-UNKNOWN", evse_id=2),  # never started
    ]
    outcomes = record_transaction_events(events)
    assert outcomes[0].decision.status == "Accepted"
    assert [outcome.duplicate for outcome in outcomes] == [False, False, True, False, False, False, False]
    assert _session(other).energy_wh == 2000
    assert _session(third).energy_wh == 1600
    assert TransactionEventRecord.objects.filter(session=_session(third)).count() == 3
    assert "after the transaction ended" in _session(fourth).review_notes
    assert _session(fourth).energy_wh == 1000
    assert _session(charger, "TX-UNKNOWN").needs_review  # opened by a later event
    assert _session(charger).state == SessionState.ACTIVE


def test_an_older_reading_in_a_round_is_kept_but_not_applied(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1", offline=True))
    _record(_event(charger, "updated", 2, 20, wh=5000, offline=True))
    [outcome] = record_transaction_events([_event(charger, "updated", 1, 10, wh=3000, offline=True)])
    assert not outcome.duplicate
    assert _session(charger).energy_wh == 4000
    assert not TransactionEventRecord.objects.get(charger=charger, seq_no=1).applied
    assert MeterValue.objects.filter(session=_session(charger)).count() == 3


def test_a_reading_naming_another_evse_moves_the_session_as_alone(charger, token):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1"))
    [outcome] = record_transaction_events([_event(charger, "updated", 1, 10, wh=2000, evse_id=3, connector_id=1)])
    assert outcome.decision is None
    session = _session(charger)
    assert Connector.objects.get(pk=session.connector_id).evse_id == 3
    assert session.energy_wh == 1000


def test_the_session_page_lists_its_events_as_received(charger, token, admin_client):
    _record(_event(charger, "started", 0, 0, wh=1000, token="TOKEN-1", trigger_reason="Authorized"))
    _record(_event(charger, "updated", 2, 20, wh=3000, trigger_reason="MeterValuePeriodic", offline=True))
    page = admin_client.get(f"/admin/charging/chargingsession/{_session(charger).pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "transaction events (as the charger sent them)" in text.lower()
    assert "MeterValuePeriodic" in text
    assert "Authorized" in text
