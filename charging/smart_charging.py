"""Smart charging (1.6 sec. 3.13, 5.16, 5.5, 5.7): profiles are rows, sending one is an
assignment plus a set-charging-profile intent through the outbound port."""

from django.db import transaction
from django.dispatch import receiver

from charging.models import ChargingProfile, ChargingProfileAssignment, validate_periods
from sites.commands import intent_of, request_command
from sites.commands.intents import ChargingProfileSpec, ClearChargingProfile, SetChargingProfile
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled

__all__ = ["clear_charging_profile", "profile_spec", "set_charging_profile", "validate_periods"]


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


@transaction.atomic
def set_charging_profile(
    *, profile: ChargingProfile, charger: Charger, connector_id: int = 0, transaction_id: int | None = None,
    requested_by=None,
) -> ChargingProfileAssignment:  # fmt: skip
    intent = set_charging_profile_intent(profile, connector_id=connector_id, transaction_id=transaction_id)
    assignment = ChargingProfileAssignment.objects.create(
        profile=profile,
        charger=charger,
        connector_id=connector_id,
        transaction_id=transaction_id,
        sent_payload=intent.to_fields(),
    )
    request_command(charger=charger, intent=intent, requested_by=requested_by, via=Command.Via.ADMIN)
    return assignment


def clear_charging_profile(*, assignment: ChargingProfileAssignment, requested_by=None) -> Command:
    return request_command(
        charger=assignment.charger,
        intent=ClearChargingProfile(profile_id=assignment.profile_id, connector=assignment.connector_id),
        requested_by=requested_by,
        via=Command.Via.ADMIN,
    )


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
