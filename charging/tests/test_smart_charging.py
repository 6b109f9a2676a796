import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from charging.command_forms import ClearChargingProfileForm
from charging.models import ChargingProfile, ChargingProfileAssignment
from charging.smart_charging import clear_charging_profile, profile_spec, set_charging_profile, validate_periods
from sites.command_forms import COMMAND_FORMS, GetCompositeScheduleForm
from sites.commands import intent_of
from sites.commands.intents import (
    ChargingProfileSpec,
    ClearChargingProfile,
    GetCompositeSchedule,
    SchedulePeriod,
    SetChargingProfile,
)
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory
from sites.tests.helpers import answer_command, rejected

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


def test_profile_spec_carries_the_profile(profile):
    _, prof = profile
    prof.kind, prof.recurrency = "Recurring", "Daily"
    prof.valid_to = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert profile_spec(prof, transaction_id=5) == ChargingProfileSpec(
        profile_id=prof.pk,
        stack_level=1,
        purpose="TxDefaultProfile",
        kind="Recurring",
        recurrency="Daily",
        valid_to=prof.valid_to,
        transaction_id="5",
        rate_unit="W",
        periods=(SchedulePeriod(start=0, limit=11000), SchedulePeriod(start=3600, limit=7400, phases=3)),
    )  # its 1.6 form: ocpp_gateway/tests/test_codec_v16.py


@pytest.mark.parametrize(
    ("outcome", "status"),
    [
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted"), "accepted"),
        (rejected(), "rejected"),
        (Outcome(status=OutcomeStatus.NOT_SUPPORTED, detail="NotSupported"), "rejected"),
        (Outcome(status=OutcomeStatus.FAILED, error_code="InternalError"), "failed"),
    ],
)
def test_set_charging_profile_records_what_was_sent_and_the_outcome(profile, outcome, status):
    charger, prof = profile
    assignment = set_charging_profile(profile=prof, charger=charger, connector_id=1)
    command = Command.objects.get()
    assert intent_of(command) == SetChargingProfile(profile=profile_spec(prof), connector=1)
    assert command.fields == assignment.sent_payload
    answer_command(command, outcome)
    assignment.refresh_from_db()
    assert assignment.status == status


def test_clear_marks_the_assignment_cleared(profile):
    charger, prof = profile
    assignment = set_charging_profile(profile=prof, charger=charger, connector_id=0)
    answer_command(Command.objects.get())
    command = clear_charging_profile(assignment=assignment)
    assert intent_of(command) == ClearChargingProfile(profile_id=prof.pk, connector=0)
    answer_command(command)
    assignment.refresh_from_db()
    assert assignment.status == ChargingProfileAssignment.Status.CLEARED


def test_admin_assignment_sends_the_profile(admin_client, profile):
    charger, prof = profile
    response = admin_client.post(
        reverse("admin:charging_chargingprofileassignment_add"),
        {"profile": prof.pk, "charger": charger.pk, "connector_id": 1},
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Command.objects.get().intent == SetChargingProfile.kind


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


def test_composite_schedule_and_clear_forms_build_their_intents():
    schedule = GetCompositeScheduleForm({"connector": 0, "duration": 600, "rate_unit": "A"})
    assert schedule.is_valid()
    assert schedule.intent() == GetCompositeSchedule(connector=0, duration=600, rate_unit="A")
    clear = ClearChargingProfileForm({"purpose": "TxProfile", "stack_level": 2})
    assert clear.is_valid()
    assert clear.intent() == ClearChargingProfile(purpose="TxProfile", stack_level=2)
    assert COMMAND_FORMS["clear_charging_profile"] is ClearChargingProfileForm


def test_remote_start_can_carry_a_tx_profile_without_transaction_id(profile):
    _, prof = profile
    ChargingProfile.objects.filter(pk=prof.pk).update(purpose="TxProfile")
    form = COMMAND_FORMS["remote_start"]({"id_token": "TAG", "connector": 1, "charging_profile": prof.pk})
    assert form.is_valid(), form.errors
    intent = form.intent()
    assert (intent.id_token, intent.charging_profile.purpose, intent.charging_profile.transaction_id) == (
        "TAG",
        "TxProfile",
        None,
    )
    from ocpp_gateway.schemas import validate_call_payload
    from ocpp_gateway.v16.codec import encode

    action, payload = encode(intent)
    assert "transactionId" not in payload["chargingProfile"]
    validate_call_payload("ocpp1.6", action, payload, "m")  # the official schema accepts it


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
