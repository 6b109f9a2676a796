"""Smart charging (1.6 sec. 3.13, 5.16, 5.5, 5.7): profiles are rows, sending one is an
assignment plus a set-charging-profile intent through the outbound port."""

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.db import transaction
from django.dispatch import receiver

from accounts.models import Organization
from accounts.services import record_change, snapshot
from charging.models import ChargingProfile, ChargingProfileAssignment, validate_periods
from sites.commands import intent_of, request_command
from sites.commands.intents import ChargingProfileSpec, ClearChargingProfile, SetChargingProfile
from sites.commands.rules import validate_command
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled

__all__ = [
    "check_assignment",
    "clear_charging_profile",
    "create_charging_profile",
    "delete_charging_profile",
    "profile_spec",
    "send_charging_profile",
    "set_charging_profile",
    "update_charging_profile",
    "validate_periods",
]


def profile_spec(profile: ChargingProfile, *, transaction_id: int | None = None) -> ChargingProfileSpec:
    """The profile as the charger must receive it; `transaction_id` for a transaction profile."""
    return ChargingProfileSpec(
        profile_id=profile.pk,
        stack_level=profile.stack_level,
        purpose=profile.purpose,
        kind=profile.kind,
        rate_unit=profile.charging_rate_unit,
        periods=profile.schedule_periods(),
        recurrency=profile.recurrency if profile.kind == ChargingProfile.Kind.RECURRING else "",
        valid_from=profile.valid_from,
        valid_to=profile.valid_to,
        duration=profile.duration,
        start_schedule=profile.start_schedule,
        min_rate=float(profile.min_charging_rate) if profile.min_charging_rate is not None else None,
        transaction_id=str(transaction_id) if transaction_id is not None else None,
    )


def set_charging_profile_intent(
    profile: ChargingProfile, *, connector_id: int = 0, transaction_id: int | None = None
) -> SetChargingProfile:
    return SetChargingProfile(profile=profile_spec(profile, transaction_id=transaction_id), connector=connector_id)


def check_assignment(
    *, profile: ChargingProfile | None, charger: Charger | None, connector_id: int | None,
    transaction_id: int | None = None,
) -> None:  # fmt: skip
    """Raise ValidationError, per field (profile, connector_id, transaction_id; the port's
    refusals for the assignment as a whole), unless the profile may be sent so: a profile of the
    charger's organization, a transaction profile with its transaction, a charger maximum on
    connector 0, and what the outbound port would send to this charger (a connector it has, a
    transaction in progress there). The admin's form and the API say the same; a value that is
    missing (None) is left to whoever reads it."""
    errors: dict[str, list[str]] = {}
    if profile is not None and charger is not None and profile.organization_id != charger.site.organization_id:
        errors.setdefault("profile", []).append("This profile belongs to another organization.")
    if profile is not None and profile.purpose == ChargingProfile.Purpose.TX and not transaction_id:
        errors.setdefault("transaction_id", []).append("A profile for one transaction needs that transaction's id.")
    if profile is not None and profile.purpose == ChargingProfile.Purpose.CHARGE_POINT_MAX and connector_id:
        errors.setdefault("connector_id", []).append("A charger maximum profile is set on connector 0.")
    if errors:
        raise ValidationError(errors)
    if profile is None or charger is None or connector_id is None:
        return
    intent = set_charging_profile_intent(profile, connector_id=connector_id, transaction_id=transaction_id)
    try:
        validate_command(charger=charger, intent=intent)
    except ValidationError as error:
        raise ValidationError({NON_FIELD_ERRORS: error.messages}) from None


def set_charging_profile(
    *, profile: ChargingProfile, charger: Charger, connector_id: int = 0, transaction_id: int | None = None,
    requested_by=None, via: str = Command.Via.ADMIN,
) -> ChargingProfileAssignment:  # fmt: skip
    """Send the profile to the charger's connector (0: the charger as a whole), recorded as an
    assignment with what was sent; ValidationError, per field, where `check_assignment` refuses."""
    assignment, _ = send_charging_profile(
        profile=profile, charger=charger, connector_id=connector_id, transaction_id=transaction_id,
        requested_by=requested_by, via=via,
    )  # fmt: skip
    return assignment


@transaction.atomic
def send_charging_profile(
    *, profile: ChargingProfile, charger: Charger, connector_id: int = 0, transaction_id: int | None = None,
    requested_by=None, via: str = Command.Via.ADMIN,
) -> tuple[ChargingProfileAssignment, Command]:  # fmt: skip
    """`set_charging_profile`, with the command that carries the profile."""
    check_assignment(profile=profile, charger=charger, connector_id=connector_id, transaction_id=transaction_id)
    intent = set_charging_profile_intent(profile, connector_id=connector_id, transaction_id=transaction_id)
    assignment = ChargingProfileAssignment.objects.create(
        profile=profile,
        charger=charger,
        connector_id=connector_id,
        transaction_id=transaction_id,
        sent_payload=intent.to_fields(),
    )
    record_change(actor=requested_by, verb="created", obj=assignment, via=via)
    command = request_command(charger=charger, intent=intent, requested_by=requested_by, via=via)
    return assignment, command


def clear_charging_profile(
    *, assignment: ChargingProfileAssignment, requested_by=None, via: str = Command.Via.ADMIN
) -> Command:
    return request_command(
        charger=assignment.charger,
        intent=ClearChargingProfile(profile_id=assignment.profile_id, connector=assignment.connector_id),
        requested_by=requested_by,
        via=via,
    )


# --- Profiles (the admin writes them through its form; the API through these) ---------------


def _validated(profile: ChargingProfile) -> ChargingProfile:
    """The admin form's checks: the model's (fields, constraints, a name unique in the
    organization) and the schedule periods'."""
    errors: dict[str, list[str]] = {}
    try:
        profile.full_clean()
    except ValidationError as error:
        errors = dict(error.message_dict)
    if "periods" not in errors:
        try:
            validate_periods(profile.periods)
        except ValidationError as error:
            errors["periods"] = error.messages
    if errors:
        raise ValidationError(errors)
    return profile


@transaction.atomic
def create_charging_profile(*, organization: Organization, by, via: str, **fields) -> ChargingProfile:
    profile = _validated(ChargingProfile(organization=organization, **fields))
    profile.save()
    record_change(actor=by, verb="created", obj=profile, via=via)
    return profile


@transaction.atomic
def update_charging_profile(profile: ChargingProfile, *, by, via: str, **fields) -> ChargingProfile:
    """Change the profile's fields (never its organization). Chargers that hold it keep what
    they were sent until it is assigned again."""
    fields.pop("organization", None)
    before = snapshot(profile)
    for name, value in fields.items():
        setattr(profile, name, value)
    _validated(profile).save()
    record_change(actor=by, verb="changed", obj=profile, via=via, before=before)
    return profile


@transaction.atomic
def delete_charging_profile(profile: ChargingProfile, *, by, via: str) -> None:
    """Delete the profile; ProtectedError while assignments (sent to chargers) refer to it."""
    record_change(actor=by, verb="deleted", obj=profile, via=via)
    profile.delete()


@receiver(command_settled)
def record_profile_outcome(sender, command: Command, **kwargs) -> None:
    if command.intent == SetChargingProfile.kind:
        intent = intent_of(command)
        assert isinstance(intent, SetChargingProfile)  # noqa: S101 (narrows the type)
        settled: dict[str, ChargingProfileAssignment.Status] = {
            CommandStatus.ACCEPTED: ChargingProfileAssignment.Status.ACCEPTED,
            CommandStatus.REJECTED: ChargingProfileAssignment.Status.REJECTED,
        }
        status = settled.get(command.status, ChargingProfileAssignment.Status.FAILED)
        ChargingProfileAssignment.objects.filter(
            charger_id=command.charger_id,
            profile_id=intent.profile.profile_id,
            connector_id=intent.connector,
            status=ChargingProfileAssignment.Status.REQUESTED,
        ).update(status=status)
    elif command.intent == ClearChargingProfile.kind and command.status == CommandStatus.ACCEPTED:
        intent = intent_of(command)
        assert isinstance(intent, ClearChargingProfile)  # noqa: S101 (narrows the type)
        cleared = ChargingProfileAssignment.objects.filter(
            charger_id=command.charger_id, status=ChargingProfileAssignment.Status.ACCEPTED
        )
        if intent.profile_id is not None:
            cleared = cleared.filter(profile_id=intent.profile_id)
        if intent.connector is not None:
            cleared = cleared.filter(connector_id=intent.connector)
        cleared.update(status=ChargingProfileAssignment.Status.CLEARED)
