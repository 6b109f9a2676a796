"""Smart charging (1.6 sec. 3.13, 5.16 SetChargingProfile, 5.5 ClearChargingProfile, 5.7
GetCompositeSchedule): profiles are rows, sending one is an assignment plus a command."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver

from charging.models import ChargingProfile, ChargingProfileAssignment
from charging.ocpp_values import ocpp_datetime
from sites.commands import request_command
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled


def validate_periods(periods) -> None:
    """1.6 sec. 7.9/7.10: at least one period, the first starting at 0 (errata 3.45), start
    times increasing, limits positive, numberPhases 1-3."""
    if not isinstance(periods, list) or not periods:
        raise ValidationError("At least one schedule period is needed.")
    previous = -1
    for index, period in enumerate(periods):
        if not isinstance(period, dict) or not {"startPeriod", "limit"} <= set(period):
            raise ValidationError(f"Period {index + 1} needs startPeriod and limit.")
        start, limit = period["startPeriod"], period["limit"]
        if not isinstance(start, int) or start < 0 or (index == 0 and start != 0) or start <= previous:
            raise ValidationError(f"Period {index + 1}: startPeriod must be 0 first, then increasing seconds.")
        if not isinstance(limit, int | float) or limit <= 0:
            raise ValidationError(f"Period {index + 1}: limit must be a positive number.")
        if "numberPhases" in period and period["numberPhases"] not in (1, 2, 3):
            raise ValidationError(f"Period {index + 1}: numberPhases is 1, 2 or 3.")
        if set(period) - {"startPeriod", "limit", "numberPhases"}:
            raise ValidationError(f"Period {index + 1}: only startPeriod, limit and numberPhases.")
        previous = start


def profile_payload(profile: ChargingProfile, *, transaction_id: int | None = None) -> dict:
    """The csChargingProfiles object (1.6 sec. 7.8)."""
    schedule: dict = {"chargingRateUnit": profile.charging_rate_unit, "chargingSchedulePeriod": profile.periods}
    if profile.duration is not None:
        schedule["duration"] = profile.duration
    if profile.start_schedule is not None:
        schedule["startSchedule"] = ocpp_datetime(profile.start_schedule)
    if profile.min_charging_rate is not None:
        schedule["minChargingRate"] = float(profile.min_charging_rate)
    body: dict = {
        "chargingProfileId": profile.pk,
        "stackLevel": profile.stack_level,
        "chargingProfilePurpose": profile.purpose,
        "chargingProfileKind": profile.kind,
        "chargingSchedule": schedule,
    }
    if profile.kind == ChargingProfile.Kind.RECURRING:
        body["recurrencyKind"] = profile.recurrency
    if profile.valid_from is not None:
        body["validFrom"] = ocpp_datetime(profile.valid_from)
    if profile.valid_to is not None:
        body["validTo"] = ocpp_datetime(profile.valid_to)
    if transaction_id is not None:
        body["transactionId"] = transaction_id
    return body


def set_charging_profile_request(
    profile: ChargingProfile, *, connector_id: int = 0, transaction_id: int | None = None
) -> dict:
    """The SetChargingProfile.req payload (1.6 sec. 6.43)."""
    return {"connectorId": connector_id, "csChargingProfiles": profile_payload(profile, transaction_id=transaction_id)}


@transaction.atomic
def set_charging_profile(
    *, profile: ChargingProfile, charger: Charger, connector_id: int = 0, transaction_id: int | None = None,
    requested_by=None,
) -> ChargingProfileAssignment:  # fmt: skip
    payload = set_charging_profile_request(profile, connector_id=connector_id, transaction_id=transaction_id)
    assignment = ChargingProfileAssignment.objects.create(
        profile=profile, charger=charger, connector_id=connector_id, transaction_id=transaction_id, sent_payload=payload
    )
    request_command(
        charger=charger, action="SetChargingProfile", payload=payload, requested_by=requested_by, via=Command.Via.ADMIN
    )
    return assignment


def clear_charging_profile(*, assignment: ChargingProfileAssignment, requested_by=None) -> Command:
    return request_command(
        charger=assignment.charger,
        action="ClearChargingProfile",
        payload={"id": assignment.profile_id, "connectorId": assignment.connector_id},
        requested_by=requested_by,
        via=Command.Via.ADMIN,
    )


@receiver(command_settled)
def record_profile_outcome(sender, command: Command, **kwargs) -> None:
    if command.action == "SetChargingProfile":
        profile_id = command.payload["csChargingProfiles"]["chargingProfileId"]
        status = {
            CommandStatus.ACCEPTED: ChargingProfileAssignment.Status.ACCEPTED,
            CommandStatus.REJECTED: ChargingProfileAssignment.Status.REJECTED,
        }.get(command.status, ChargingProfileAssignment.Status.FAILED)
        ChargingProfileAssignment.objects.filter(
            charger_id=command.charger_id,
            profile_id=profile_id,
            connector_id=command.payload["connectorId"],
            status=ChargingProfileAssignment.Status.REQUESTED,
        ).update(status=status)
    elif command.action == "ClearChargingProfile" and command.status == CommandStatus.ACCEPTED:
        cleared = ChargingProfileAssignment.objects.filter(
            charger_id=command.charger_id, status=ChargingProfileAssignment.Status.ACCEPTED
        )
        if "id" in command.payload:
            cleared = cleared.filter(profile_id=command.payload["id"])
        if "connectorId" in command.payload:
            cleared = cleared.filter(connector_id=command.payload["connectorId"])
        cleared.update(status=ChargingProfileAssignment.Status.CLEARED)
