"""Reservations (1.6 sec. 5.13 ReserveNow, 5.3 CancelReservation): a row per reservation,
the command through the one outbound port, the charger's answer through `command_settled`."""

import datetime as dt

from django.db import transaction
from django.dispatch import receiver

from charging.models import IdToken, Reservation, ReservationStatus
from charging.ocpp_values import ocpp_datetime
from sites.commands import request_command
from sites.models import Charger, Command, CommandStatus, Connector
from sites.signals import command_settled

RESERVATION_ACTIONS = ("ReserveNow", "CancelReservation")


@transaction.atomic
def reserve(
    *,
    charger: Charger,
    id_token: IdToken,
    expires_at: dt.datetime,
    connector: Connector | None = None,
    requested_by=None,
) -> Reservation:
    reservation = Reservation.objects.create(
        charger=charger, connector=connector, id_token=id_token, expires_at=expires_at
    )
    payload = {
        "connectorId": connector.connector_id if connector else 0,
        "expiryDate": ocpp_datetime(expires_at),
        "idTag": id_token.id_tag,
        "reservationId": reservation.pk,
    }
    if id_token.parent_id_tag:
        payload["parentIdTag"] = id_token.parent_id_tag
    request_command(
        charger=charger, action="ReserveNow", payload=payload, requested_by=requested_by, via=Command.Via.ADMIN
    )
    return reservation


def cancel(*, reservation: Reservation, requested_by=None) -> Command:
    return request_command(
        charger=reservation.charger,
        action="CancelReservation",
        payload={"reservationId": reservation.pk},
        requested_by=requested_by,
        via=Command.Via.ADMIN,
    )


@receiver(command_settled)
def record_charger_answer(sender, command: Command, **kwargs) -> None:
    if command.action not in RESERVATION_ACTIONS:
        return
    reservations = Reservation.objects.filter(pk=command.payload.get("reservationId"), charger_id=command.charger_id)
    answer = (command.result or {}).get("status", "")
    if command.action == "ReserveNow":
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
    """A StartTransaction that carries a reservationId ends the reservation (1.6 sec. 5.13)."""
    Reservation.objects.filter(
        pk=reservation_id, charger_id=charger_id, status__in=[ReservationStatus.ACCEPTED, ReservationStatus.REQUESTED]
    ).update(status=ReservationStatus.USED, session=session)


def expire_reservations(*, now: dt.datetime) -> int:
    return Reservation.objects.filter(
        status__in=[ReservationStatus.ACCEPTED, ReservationStatus.REQUESTED], expires_at__lte=now
    ).update(status=ReservationStatus.EXPIRED)
