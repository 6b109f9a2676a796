"""Corrections to a session (issue 19): named services with a reason, audited; the selector of
possibly stuck sessions; asking the charger about a session."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from charging.models import ChargingSession, SessionState
from charging.selectors import last_reading_at, review_flags, session_chart, stuck_sessions
from charging.services.corrections import (
    ask_charger_about,
    close_session_by_operator,
    mark_session_reviewed,
    request_stop,
)
from charging.tests.factories import ChargingSessionFactory, MeterValueFactory
from sites.commands import intent_of
from sites.models import Command, StatusNotificationRecord

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator():
    return UserFactory()


def test_an_operator_closes_a_zombie_session_with_a_reason(operator, django_capture_on_commit_callbacks):
    session = ChargingSessionFactory(energy_wh=2500)
    stop_at = timezone.now() - dt.timedelta(minutes=10)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        close_session_by_operator(session=session, stopped_at=stop_at, reason="charger replaced", actor=operator)
    session.refresh_from_db()
    assert session.state == SessionState.COMPLETED
    assert session.stopped_at == stop_at
    assert session.meter_stop_wh == session.meter_start_wh + 2500
    assert session.energy_wh == 2500  # what the readings showed, never edited
    assert "charger replaced" in session.review_notes
    assert callbacks  # session_completed is sent once committed (billing prices it)
    activity = Activity.objects.get(verb="closed", object_id=str(session.pk))
    assert activity.actor == operator
    assert activity.changes["reason"] == "charger replaced"
    assert activity.changes["state"] == ["active", "completed"]


def test_closing_needs_a_reason_and_an_active_session(operator):
    session = ChargingSessionFactory()
    with pytest.raises(ValidationError, match="reason"):
        close_session_by_operator(session=session, stopped_at=timezone.now(), reason="  ", actor=operator)
    close_session_by_operator(session=session, stopped_at=timezone.now(), reason="lost stop", actor=operator)
    with pytest.raises(ValidationError, match="already closed"):
        close_session_by_operator(session=session, stopped_at=timezone.now(), reason="again", actor=operator)
    assert Activity.objects.filter(verb="closed").count() == 1


def test_the_stop_time_is_neither_before_the_start_nor_in_the_future(operator):
    session = ChargingSessionFactory()
    with pytest.raises(ValidationError, match="before"):
        close_session_by_operator(
            session=session, stopped_at=session.started_at - dt.timedelta(seconds=1), reason="x", actor=operator
        )
    with pytest.raises(ValidationError, match="future"):
        close_session_by_operator(
            session=session, stopped_at=timezone.now() + dt.timedelta(hours=1), reason="x", actor=operator
        )
    session.refresh_from_db()
    assert session.state == SessionState.ACTIVE


def test_marking_reviewed_clears_the_flag_keeps_the_notes_and_is_audited(operator):
    session = ChargingSessionFactory(needs_review=True, review_notes="stop time is before start time")
    with pytest.raises(ValidationError):
        mark_session_reviewed(session=session, note="", actor=operator)
    mark_session_reviewed(session=session, note="clock fixed on site", actor=operator)
    session.refresh_from_db()
    assert not session.needs_review
    assert session.review_notes.startswith("stop time is before start time\nreviewed by")
    assert Activity.objects.get(verb="reviewed").changes["reason"] == "clock fixed on site"
    with pytest.raises(ValidationError, match="not flagged"):
        mark_session_reviewed(session=session, note="again", actor=operator)


def test_each_flag_says_what_it_means():
    session = ChargingSession(review_notes="stop time is before start time\nsomething new")
    flags = review_flags(session)
    assert [flag.note for flag in flags] == ["stop time is before start time", "something new"]
    assert "duration" in flags[0].meaning
    assert flags[1].meaning == ""


@override_settings(SESSION_STUCK_AFTER=60)
def test_stuck_sessions_have_shown_nothing_for_the_configured_time():
    now = timezone.now()
    old = now - dt.timedelta(hours=3)
    quiet = ChargingSessionFactory(start_received_at=old)
    with_reading = ChargingSessionFactory(start_received_at=old)
    MeterValueFactory(session=with_reading, received_at=now - dt.timedelta(minutes=5))
    with_status = ChargingSessionFactory(start_received_at=old)
    StatusNotificationRecord.objects.create(
        charger=with_status.charger, connector_id=with_status.connector.connector_id, status="Charging",
        error_code="NoError", timestamp=now, received_at=now - dt.timedelta(minutes=5),
    )  # fmt: skip
    stale_reading = ChargingSessionFactory(start_received_at=old)
    MeterValueFactory(session=stale_reading, received_at=now - dt.timedelta(minutes=90))
    ChargingSessionFactory(start_received_at=now - dt.timedelta(minutes=10))  # young
    ChargingSessionFactory(start_received_at=old, state=SessionState.COMPLETED, stopped_at=now)  # done
    assert set(stuck_sessions(now)) == {quiet, stale_reading}
    with override_settings(SESSION_STUCK_AFTER=120):
        assert set(stuck_sessions(now)) == {quiet}
    # narrowed to a tenant's rows
    assert set(stuck_sessions(now, sessions=ChargingSession.objects.filter(charger=quiet.charger))) == {quiet}


def test_a_stop_is_a_remote_stop_command_for_the_sessions_transaction(operator):
    session = ChargingSessionFactory(transaction_id=4711)
    command = request_stop(session=session, requested_by=operator)
    assert command.intent == "remote_stop"
    assert intent_of(command).transaction_id == "4711"
    assert command.requested_by == operator
    assert not Activity.objects.filter(verb="stop requested").exists()


def test_a_stop_with_a_reason_is_audited_with_its_command(operator):
    session = ChargingSessionFactory()
    command = request_stop(session=session, requested_by=operator, reason="driver called: cable stuck")
    activity = Activity.objects.get(verb="stop requested")
    assert activity.changes == {"reason": "driver called: cable stuck", "command": command.pk}
    assert activity.actor == operator


def test_asking_a_16_charger_triggers_meter_values_and_status(operator):
    session = ChargingSessionFactory()
    commands = ask_charger_about(session=session, requested_by=operator)
    assert [(c.intent, intent_of(c).message) for c in commands] == [
        ("trigger_message", "meter_values"),
        ("trigger_message", "status"),
    ]


def test_asking_a_201_charger_asks_for_the_transactions_status(operator):
    session = ChargingSessionFactory(
        transaction_id=None, transaction_uid="tx-abc", connector__charger__ocpp_version="2.0.1"
    )
    [command] = ask_charger_about(session=session, requested_by=operator)
    assert command.intent == "get_transaction_status"
    assert intent_of(command).transaction_id == "tx-abc"
    assert Command.objects.count() == 1


def test_the_chart_is_downsampled_and_in_kwh_from_the_start():
    session = ChargingSessionFactory(meter_start_wh=1000)
    start = session.started_at
    for i in range(1200):
        MeterValueFactory(session=session, timestamp=start + dt.timedelta(seconds=10 * i), raw_value="x",
                          value=1000 + i)  # fmt: skip
    MeterValueFactory(session=session, timestamp=start + dt.timedelta(seconds=5), measurand="Power.Active.Import",
                      unit="kW", raw_value="7.4", value=7.4)  # fmt: skip
    chart = session_chart(session, max_points=500)
    assert len(chart["labels"]) == len(chart["energy_kwh"]) == len(chart["power_kw"]) == 500
    assert chart["energy_kwh"][0] == 0.0
    assert chart["energy_kwh"][-1] == 1.199
    assert last_reading_at(session) == start + dt.timedelta(seconds=10 * 1199)


def test_the_chart_keeps_every_point_of_a_short_session():
    session = ChargingSessionFactory(meter_start_wh=0)
    MeterValueFactory(session=session, timestamp=session.started_at, measurand="Power.Active.Import", unit="W",
                      raw_value="11000", value=11000)  # fmt: skip
    MeterValueFactory(session=session, timestamp=session.started_at, raw_value="500", value=500)
    chart = session_chart(session)
    assert chart["energy_kwh"] == [0.5]
    assert chart["power_kw"] == [11.0]
