"""Problems 2.0.1 stations report with NotifyEvent (sites.device_model) join the dashboard's recent
faults, scoped like the StatusNotification faults, and the live feed."""

import datetime as dt

import pytest
from django.test import TestCase

from accounts.tests.factories import MembershipFactory, UserFactory
from reports import live
from reports.dashboard import recent_faults
from sites.device_model.services import ComponentVariableRef, DeviceEventIn, record_device_events
from sites.models import StatusNotificationRecord
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

T0 = dt.datetime(2026, 12, 4, 10, 0, tzinfo=dt.UTC)


def problem(event_id: int, *, at: dt.datetime, tech_code: str = "", evse: int = 0) -> DeviceEventIn:
    return DeviceEventIn(
        ref=ComponentVariableRef(component="EVSE" if evse else "ChargingStation", variable="Problem", evse_id=evse),
        event_id=event_id,
        timestamp=at,
        trigger="Delta",
        actual_value="true",
        notification_type="HardWiredNotification",
        tech_code=tech_code,
        tech_info="details",
    )


def test_recent_faults_merge_status_faults_and_problems_newest_first_for_the_users_chargers(monkeypatch):
    monkeypatch.setattr(live, "queue_event", lambda *args: None)
    mine, theirs = ChargerFactory(charge_point_id="MINE"), ChargerFactory(charge_point_id="THEIRS")
    StatusNotificationRecord.objects.create(
        charger=mine, connector_id=1, status="Faulted", error_code="GroundFailure", timestamp=T0
    )
    record_device_events(
        charger_id=mine.pk, generated_at=T0, received_at=T0,
        events=[problem(1, at=T0 + dt.timedelta(minutes=5), tech_code="E42", evse=2),
                problem(2, at=T0 - dt.timedelta(minutes=5))],
    )  # fmt: skip
    record_device_events(charger_id=theirs.pk, generated_at=T0, received_at=T0, events=[problem(1, at=T0)])
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=mine.site.organization, role="viewer")
    faults = recent_faults(user)
    assert [(f["charge_point_id"], f["connector_id"], f["status"], f["error_code"]) for f in faults] == [
        ("MINE", 2, "Problem", "E42"),
        ("MINE", 1, "Faulted", "GroundFailure"),
        ("MINE", 0, "Problem", "Problem=true"),
    ]
    assert faults[0]["timestamp"] == "2026-12-04T10:05:00+00:00"


def test_problems_go_to_the_live_feed_once_committed(monkeypatch):
    sent = []
    monkeypatch.setattr(live, "queue_event", lambda charger_id, event: sent.append((charger_id, event)))
    charger = ChargerFactory()
    with TestCase.captureOnCommitCallbacks(execute=True):
        record_device_events(
            charger_id=charger.pk, generated_at=T0, received_at=T0, events=[problem(1, at=T0, tech_code="E1", evse=1)]
        )
    [(charger_id, event)] = sent
    assert charger_id == charger.pk
    assert event == {
        "type": "problem",
        "connector_id": 1,
        "evse_id": 1,
        "status": "Problem",
        "error_code": "E1",
        "component": "EVSE (EVSE 1)",
        "variable": "Problem",
        "info": "details",
        "timestamp": "2026-12-04T10:00:00+00:00",
    }
