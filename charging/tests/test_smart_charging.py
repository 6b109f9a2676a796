import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from charging.models import ChargingProfile, ChargingProfileAssignment
from charging.smart_charging import clear_charging_profile, profile_payload, set_charging_profile, validate_periods
from sites.command_forms import ClearChargingProfileForm, GetCompositeScheduleForm
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db

PERIODS = [{"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400, "numberPhases": 3}]


@pytest.fixture
def profile():
    charger = ChargerFactory()
    ConnectorFactory(charger=charger, connector_id=1)
    return charger, ChargingProfile.objects.create(
        organization=charger.site.organization, name="Night cap", periods=PERIODS, stack_level=1
    )


@pytest.mark.parametrize(
    "periods",
    [
        [],
        [{"startPeriod": 10, "limit": 1}],
        [{"startPeriod": 0, "limit": 1}, {"startPeriod": 0, "limit": 2}],
        [{"startPeriod": 0, "limit": 0}],
        [{"startPeriod": 0, "limit": 1, "numberPhases": 4}],
        [{"startPeriod": 0, "limit": 1, "extra": 1}],
        "not a list",
    ],
)
def test_bad_schedule_periods_are_refused(periods):
    with pytest.raises(ValidationError):
        validate_periods(periods)


def test_profile_payload_follows_the_1_6_structure(profile):
    _, prof = profile
    prof.kind, prof.recurrency = "Recurring", "Daily"
    prof.valid_to = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    body = profile_payload(prof, transaction_id=5)
    assert body == {
        "chargingProfileId": prof.pk,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "validTo": "2030-01-01T00:00:00Z",
        "transactionId": 5,
        "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": PERIODS},
    }


@pytest.mark.parametrize(("answer", "status"), [("Accepted", "accepted"), ("Rejected", "rejected")])
def test_set_charging_profile_records_what_was_sent_and_the_outcome(profile, answer, status):
    charger, prof = profile
    assignment = set_charging_profile(profile=prof, charger=charger, connector_id=1)
    command = Command.objects.get()
    assert command.action == "SetChargingProfile"
    assert command.payload == assignment.sent_payload
    assert command.payload["connectorId"] == 1
    answer_command(command, {"status": answer})
    assignment.refresh_from_db()
    assert assignment.status == status


def test_clear_marks_the_assignment_cleared(profile):
    charger, prof = profile
    assignment = set_charging_profile(profile=prof, charger=charger, connector_id=0)
    answer_command(Command.objects.get(), {"status": "Accepted"})
    command = clear_charging_profile(assignment=assignment)
    assert command.payload == {"id": prof.pk, "connectorId": 0}
    answer_command(command, {"status": "Accepted"})
    assignment.refresh_from_db()
    assert assignment.status == ChargingProfileAssignment.Status.CLEARED


def test_admin_assignment_sends_the_profile(admin_client, profile):
    charger, prof = profile
    response = admin_client.post(
        reverse("admin:charging_chargingprofileassignment_add"),
        {"profile": prof.pk, "charger": charger.pk, "connector_id": 1},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Command.objects.get().action == "SetChargingProfile"


def test_admin_refuses_a_tx_profile_without_a_transaction(admin_client, profile):
    charger, prof = profile
    ChargingProfile.objects.filter(pk=prof.pk).update(purpose="TxProfile")
    response = admin_client.post(
        reverse("admin:charging_chargingprofileassignment_add"),
        {"profile": prof.pk, "charger": charger.pk, "connector_id": 1},
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["transaction_id"]
    assert not Command.objects.exists()


def test_admin_refuses_bad_periods(admin_client, profile):
    charger, _ = profile
    response = admin_client.post(
        reverse("admin:charging_chargingprofile_add"),
        {
            "organization": charger.site.organization_id,
            "name": "Bad",
            "purpose": "TxDefaultProfile",
            "stack_level": 0,
            "kind": "Absolute",
            "charging_rate_unit": "W",
            "periods": '[{"startPeriod": 5, "limit": 1}]',
        },
    )
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["periods"]


def test_composite_schedule_and_clear_forms_build_their_payloads():
    schedule = GetCompositeScheduleForm({"connector_id": 0, "duration": 600, "charging_rate_unit": "A"})
    assert schedule.is_valid()
    assert schedule.payload() == {"connectorId": 0, "duration": 600, "chargingRateUnit": "A"}
    clear = ClearChargingProfileForm({"purpose": "TxProfile", "stack_level": 2})
    assert clear.is_valid()
    assert clear.payload() == {"chargingProfilePurpose": "TxProfile", "stackLevel": 2}


def test_remote_start_can_carry_a_tx_profile_without_transaction_id(profile):
    from sites.command_forms import COMMAND_FORMS

    _, prof = profile
    ChargingProfile.objects.filter(pk=prof.pk).update(purpose="TxProfile")
    form = COMMAND_FORMS["RemoteStartTransaction"]({"id_tag": "TAG", "connector_id": 1, "charging_profile": prof.pk})
    assert form.is_valid(), form.errors
    payload = form.payload()
    assert payload["idTag"] == "TAG"
    assert payload["chargingProfile"]["chargingProfilePurpose"] == "TxProfile"
    assert "transactionId" not in payload["chargingProfile"]
    from ocpp_gateway.schemas import validate_call_payload

    validate_call_payload("ocpp1.6", "RemoteStartTransaction", payload, "m")  # the official schema accepts it


def test_admin_assignment_to_a_connector_the_charger_lacks_is_a_form_error(admin_client, profile):
    charger, prof = profile
    response = admin_client.post(
        reverse("admin:charging_chargingprofileassignment_add"),
        {"profile": prof.pk, "charger": charger.pk, "connector_id": 7},
    )
    assert response.status_code == 200
    assert "has no connector 7" in str(response.context["adminform"].form.errors)
    assert not ChargingProfileAssignment.objects.exists()
    assert not Command.objects.exists()
