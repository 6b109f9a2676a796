"""2.0.1 notifications: payloads mapped to the domain's dataclasses (ocpp_gateway/v201/reports.py)
and the reservation a station ends (H04)."""

import datetime as dt

import pytest

from charging.models import Reservation, ReservationStatus
from charging.reservations import end_reservation
from charging.tests.factories import IdTokenFactory
from ocpp_gateway.v201 import handlers, reports
from ocpp_gateway.v201.rules import CHARGER_INITIATED
from sites.device_model.services import ComponentVariableRef, VariableAttribute
from sites.tests.factories import ChargerFactory


def test_every_notification_handled_is_one_a_station_may_send():
    assert set(reports.HANDLERS) <= CHARGER_INITIATED
    assert all(handlers.HANDLERS[action] is handler for action, handler in reports.HANDLERS.items())


def test_absent_instance_evse_and_connector_are_blank_and_0():
    assert reports.component_variable({"name": "OCPPCommCtrlr"}, {"name": "HeartbeatInterval"}) == (
        ComponentVariableRef(component="OCPPCommCtrlr", variable="HeartbeatInterval")
    )
    ref = reports.component_variable(
        {"name": "Connector", "instance": "a", "evse": {"id": 1, "connectorId": 2}}, {"name": "X", "instance": "b"}
    )
    assert (ref.component_instance, ref.evse_id, ref.connector_id, ref.variable_instance) == ("a", 1, 2, "b")


def test_attribute_defaults_follow_the_schema_and_characteristics_may_be_absent():
    item = reports.reported_variable(
        {"component": {"name": "C"}, "variable": {"name": "V"}, "variableAttribute": [{}, {"type": "Target"}]}
    )
    assert item.attributes == (VariableAttribute(), VariableAttribute(type="Target"))  # Actual, no value, ReadWrite
    assert item.characteristics is None


def test_an_event_keeps_its_optional_fields():
    event = reports.device_event(
        {"eventId": 9, "timestamp": "2026-12-04T10:00:00+01:00", "trigger": "Alerting", "actualValue": "95",
         "eventNotificationType": "CustomMonitor", "component": {"name": "Connector", "evse": {"id": 1}},
         "variable": {"name": "Temperature"}, "cleared": True, "cause": 3, "variableMonitoringId": 4}
    )  # fmt: skip
    assert event.timestamp == dt.datetime(2026, 12, 4, 9, 0, tzinfo=dt.UTC)
    assert (event.cleared, event.cause, event.variable_monitoring_id, event.tech_code) == (True, 3, 4, "")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("removed", "status"), [(False, ReservationStatus.EXPIRED), (True, ReservationStatus.CANCELLED)]
)
def test_a_station_ends_an_accepted_reservation_of_its_own(removed, status):
    charger = ChargerFactory()
    reservation = Reservation.objects.create(
        charger=charger, id_token=IdTokenFactory(), expires_at=dt.datetime(2026, 12, 4, tzinfo=dt.UTC),
        status=ReservationStatus.ACCEPTED,
    )  # fmt: skip
    assert end_reservation(charger_id=ChargerFactory().pk, reservation_id=reservation.pk, removed=removed) == 0
    assert end_reservation(charger_id=charger.pk, reservation_id=reservation.pk, removed=removed) == 1
    reservation.refresh_from_db()
    assert (reservation.status, reservation.charger_answer) == (status, "Removed" if removed else "Expired")
    assert end_reservation(charger_id=charger.pk, reservation_id=reservation.pk, removed=not removed) == 0
