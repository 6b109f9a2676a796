"""Start, stop and authorize in batches (as the gateway's group commit calls them): each item
is decided as if it had been alone, in the order given, whatever else shares its batch."""

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from charging.models import ChargingSession, SessionState
from charging.services import (
    SessionStart,
    SessionStop,
    TokenCheck,
    authorize_tokens,
    close_sessions,
    open_sessions,
)
from charging.tests.factories import IdTokenFactory
from sites.services import register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2025, 6, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture
def chargers():
    site = SiteFactory()
    return [register_charger(site=site, charge_point_id=f"CP-BATCH-{n}", connector_count=2) for n in range(3)]


@pytest.fixture
def token(chargers):
    return IdTokenFactory(organization=chargers[0].site.organization, id_tag="TAG-BATCH")


def _start(charger, *, connector_id=1, id_tag="TAG-BATCH", meter_start=0, at=T0) -> SessionStart:
    return SessionStart(charger.pk, connector_id, id_tag, meter_start, at, at + dt.timedelta(seconds=1))


def _stop(charger, transaction_id, *, meter_stop=5000, id_tag="", at=T0 + dt.timedelta(hours=1)) -> SessionStop:
    return SessionStop(charger.pk, transaction_id, meter_stop, at, at + dt.timedelta(seconds=1), token=id_tag)


def test_a_batch_of_starts_opens_one_session_each_with_distinct_ids(chargers, token):
    results = open_sessions([_start(charger, id_tag=f"OTHER-{n}") for n, charger in enumerate(chargers)])
    ids = [result.transaction_id for result in results]
    assert len(set(ids)) == 3
    assert all(ids)
    assert ChargingSession.objects.filter(state=SessionState.ACTIVE).count() == 3
    assert [r.decision.status for r in results] == ["Invalid"] * 3  # unknown tags still get sessions (R3)


def test_a_retransmitted_start_in_the_same_batch_gets_the_same_id(chargers, token):
    first, again = open_sessions([_start(chargers[0]), _start(chargers[0])])
    assert first.transaction_id == again.transaction_id
    assert again.decision.status == "Accepted"  # not ConcurrentTx with its own session
    assert ChargingSession.objects.count() == 1


def test_a_token_started_twice_in_one_batch_is_concurrent_the_second_time(chargers, token):
    first, second = open_sessions([_start(chargers[0]), _start(chargers[1])])
    assert (first.decision.status, second.decision.status) == ("Accepted", "ConcurrentTx")
    assert first.transaction_id != second.transaction_id  # the second still gets its session (R3)


def test_a_second_start_on_a_connector_in_the_same_batch_closes_the_first(chargers, token):
    first, second = open_sessions(
        [_start(chargers[0], id_tag="A"), _start(chargers[0], id_tag="B", at=T0 + dt.timedelta(minutes=1))]
    )
    sessions = {s.transaction_id: s for s in ChargingSession.objects.all()}
    assert sessions[first.transaction_id].state == SessionState.COMPLETED
    assert sessions[first.transaction_id].needs_review
    assert sessions[second.transaction_id].state == SessionState.ACTIVE


def test_start_batch_closes_an_abandoned_session_from_an_earlier_batch(chargers, token):
    [earlier] = open_sessions([_start(chargers[0])])
    [later] = open_sessions([_start(chargers[0], id_tag="B", at=T0 + dt.timedelta(hours=2))])
    old = ChargingSession.objects.get(transaction_id=earlier.transaction_id)
    assert old.state == SessionState.COMPLETED
    assert old.stop_reason == "Other"
    assert old.stopped_at == T0 + dt.timedelta(hours=2)
    assert ChargingSession.objects.get(transaction_id=later.transaction_id).state == SessionState.ACTIVE


def test_the_number_of_queries_does_not_grow_with_the_batch(chargers, token):
    def queries(batch: list[SessionStart]) -> int:
        with CaptureQueriesContext(connection) as captured:
            open_sessions(batch)
        return len(captured)

    one = queries([_start(chargers[0], id_tag="A")])
    three = queries(
        [_start(c, connector_id=2, id_tag=f"B{n}", at=T0 + dt.timedelta(hours=1)) for n, c in enumerate(chargers)]
    )
    assert three == one


def test_a_batch_of_stops_closes_each_session_once(chargers, token):
    started = open_sessions([_start(c, id_tag=f"T{n}") for n, c in enumerate(chargers)])
    stops = [_stop(c, s.transaction_id) for c, s in zip(chargers, started, strict=True)]
    close_sessions([*stops, stops[0]])  # the first one twice: closed once (R6)
    sessions = ChargingSession.objects.all()
    assert {s.state for s in sessions} == {SessionState.COMPLETED}
    assert {s.energy_wh for s in sessions} == {5000}


def test_a_stop_naming_another_chargers_transaction_leaves_it_alone(chargers, token):
    [started] = open_sessions([_start(chargers[0])])
    close_sessions([_stop(chargers[1], started.transaction_id), _stop(chargers[2], 999_999)])
    assert ChargingSession.objects.get().state == SessionState.ACTIVE  # R7
    assert chargers[1].unmatched_stops.count() == 1
    assert chargers[2].unmatched_stops.count() == 1


def test_stopping_with_the_sessions_own_tag_is_not_concurrent(chargers, token):
    [started] = open_sessions([_start(chargers[0])])
    [info] = close_sessions([_stop(chargers[0], started.transaction_id, id_tag="tag-batch")])
    assert info.status == "Accepted"  # the session it ends no longer counts; idTag case-insensitive


def test_authorize_in_a_batch(chargers, token):
    open_sessions([_start(chargers[0])])
    busy, unknown, other_case = authorize_tokens(
        [
            TokenCheck(chargers[1].pk, "TAG-BATCH"),
            TokenCheck(chargers[1].pk, "NOPE"),
            TokenCheck(chargers[2].pk, "tag-batch"),
        ],
        now=T0,
    )
    assert (busy.status, unknown.status, other_case.status) == ("ConcurrentTx", "Invalid", "ConcurrentTx")
