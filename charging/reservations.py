"""Reservations (1.6 sec. 5.13 and 5.3): a row per reservation, the reserve and cancel intents
through the one outbound port, the charger's answer through `command_settled`."""

import datetime as dt

from django.core.exceptions import ValidationError
from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone

from accounts.services import record_change
from charging.models import IdToken, Reservation, ReservationStatus, token_type_of
from sites.commands import intent_of, request_command
from sites.commands.intents import CancelReservation, Reserve
from sites.commands.outcomes import Outcome
from sites.commands.rules import validate_command
from sites.models import Charger, Command, CommandStatus, Connector
from sites.signals import command_settled

# A reservation the charger may still hold: one to cancel, or to use by starting a session.
ACTIVE_STATUSES = (ReservationStatus.REQUESTED, ReservationStatus.ACCEPTED)


def check_reservation(
    *,
    charger: Charger | None,
    id_token: IdToken | None,
    expires_at: dt.datetime | None,
    connector: Connector | None = None,
) -> None:
    """Raise ValidationError, per field (connector, id_token, expires_at), unless this
    reservation makes sense: the connector is the charger's, the token of the charger's
    organization, the expiry in the future, and the outbound port would send the reserve (e.g.
    a connector it counts as this charger's). The admin's form and the API say the same; a value
    that is missing (None) is left to whoever reads it."""
    errors: dict[str, list[str]] = {}
    if charger is not None and connector is not None and connector.charger_id != charger.pk:
        errors.setdefault("connector", []).append("This connector belongs to another charger.")
    if charger is not None and id_token is not None and id_token.organization_id != charger.site.organization_id:
        errors.setdefault("id_token", []).append("This id token belongs to another organization.")
    if expires_at is not None and expires_at <= timezone.now():
        errors.setdefault("expires_at", []).append("The expiry must be in the future.")
    if errors:
        raise ValidationError(errors)
    if charger is None or id_token is None or expires_at is None:
        return
    intent = Reserve(
        reservation_id=0,
        id_token=id_token.id_tag,
        expires_at=expires_at,
        connector=connector.connector_id if connector else 0,
        evse=connector.evse_id if connector else None,
        token_type=token_type_of(id_token.kind),
    )
    try:
        validate_command(charger=charger, intent=intent)
    except ValidationError as error:
        raise ValidationError({"connector": error.messages}) from None


@transaction.atomic
def reserve(
    *,
    charger: Charger,
    id_token: IdToken,
    expires_at: dt.datetime,
    connector: Connector | None = None,
    requested_by=None,
    via: str = Command.Via.ADMIN,
) -> Reservation:
    """Reserve on the charger (ValidationError, per field, for a reservation that makes no
    sense: `check_reservation`); the reservation is `requested` until the charger answers."""
    check_reservation(charger=charger, connector=connector, id_token=id_token, expires_at=expires_at)
    reservation = Reservation.objects.create(
        charger=charger, connector=connector, id_token=id_token, expires_at=expires_at
    )
    record_change(actor=requested_by, verb="created", obj=reservation, via=via)
    intent = Reserve(
        reservation_id=reservation.pk,
        id_token=id_token.id_tag,
        expires_at=expires_at,
        connector=connector.connector_id if connector else 0,
        # 2.0.1 reserves an EVSE (ReserveNowRequest evseId, H01.FR.23): the connector's own, not the
        # connector's number within it (connector 1 of EVSE 2 is EVSE 2). None on 1.6.
        evse=connector.evse_id if connector else None,
        parent_id_token=id_token.parent_id_tag,
        token_type=token_type_of(id_token.kind),
    )
    request_command(charger=charger, intent=intent, requested_by=requested_by, via=via)
    return reservation


def cancel(*, reservation: Reservation, requested_by=None, via: str = Command.Via.ADMIN) -> Command:
    """Ask the charger to cancel the reservation; it is `cancelled` once the charger accepts."""
    return request_command(
        charger=reservation.charger,
        intent=CancelReservation(reservation_id=reservation.pk),
        requested_by=requested_by,
        via=via,
    )


@receiver(command_settled)
def record_charger_answer(sender, command: Command, outcome: Outcome | None = None, **kwargs) -> None:
    if command.intent not in (Reserve.kind, CancelReservation.kind):
        return
    intent = intent_of(command)
    assert isinstance(intent, Reserve | CancelReservation)  # noqa: S101 (narrows the type)
    reservations = Reservation.objects.filter(pk=intent.reservation_id, charger_id=command.charger_id)
    # The charger's word, with its reason code on 2.0.1 ("Rejected: ...": cut to the field's length).
    answer = outcome.detail[:32] if outcome is not None and not outcome.error_code else ""
    if isinstance(intent, Reserve):
        if command.status == CommandStatus.ACCEPTED:
            status = ReservationStatus.ACCEPTED
        elif command.status == CommandStatus.REJECTED:
            status = ReservationStatus.REJECTED
        else:
            status = ReservationStatus.FAILED
        reservations.filter(status=ReservationStatus.REQUESTED).update(status=status, charger_answer=answer)
    elif command.status == CommandStatus.ACCEPTED:
        reservations.exclude(status=ReservationStatus.USED).update(
            status=ReservationStatus.CANCELLED, charger_answer=answer
        )


def consume_reservation(*, charger_id: int, reservation_id: int, session) -> None:
    """A session started on a reservation ends the reservation (1.6 sec. 5.13)."""
    Reservation.objects.filter(
        pk=reservation_id, charger_id=charger_id, status__in=[ReservationStatus.ACCEPTED, ReservationStatus.REQUESTED]
    ).update(status=ReservationStatus.USED, session=session)


def expire_reservations(*, now: dt.datetime) -> int:
    return Reservation.objects.filter(
        status__in=[ReservationStatus.ACCEPTED, ReservationStatus.REQUESTED], expires_at__lte=now
    ).update(status=ReservationStatus.EXPIRED)


def end_reservation(*, charger_id: int, reservation_id: int, removed: bool) -> int:
    """The charger ended a reservation on its own (2.0.1 ReservationStatusUpdate): it expired
    there (H04.FR.01), or it was removed because its EVSE became Faulted or Unavailable
    (H01.FR.16/17). A reservation already used, cancelled or expired stays as it is. Returns
    how many reservations changed (0 for an id that is not this charger's)."""
    return Reservation.objects.filter(
        pk=reservation_id,
        charger_id=charger_id,
        status__in=[ReservationStatus.ACCEPTED, ReservationStatus.REQUESTED],
    ).update(
        status=ReservationStatus.CANCELLED if removed else ReservationStatus.EXPIRED,
        charger_answer="Removed" if removed else "Expired",
    )
