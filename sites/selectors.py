"""Reads of sites and chargers."""

from dataclasses import dataclass

from django.db.models import QuerySet

from sites.models import Charger, Command


@dataclass(frozen=True, slots=True)
class ChargerAccess:
    """What the gateway needs to know about a charger at the handshake."""

    id: int
    charge_point_id: str
    organization_id: int
    registration_status: str
    security_profile: int
    auth_key_hash: str
    pending_auth_key_hash: str
    heartbeat_interval: int


def charger_access(charge_point_id: str) -> ChargerAccess | None:
    row = (
        Charger.objects.filter(charge_point_id=charge_point_id)
        .values(
            "id",
            "charge_point_id",
            "site__organization_id",
            "registration_status",
            "security_profile",
            "auth_key_hash",
            "pending_auth_key_hash",
            "heartbeat_interval",
        )
        .first()
    )
    if row is None:
        return None
    row["organization_id"] = row.pop("site__organization_id")
    return ChargerAccess(**row)


def chargers_visible_to(user) -> QuerySet[Charger]:
    """The chargers a user may see: those of organizations they belong to (all for a
    platform superuser). Full roles arrive with the tenancy issue."""
    chargers = Charger.objects.select_related("site", "site__organization")
    if user.is_superuser:
        return chargers
    return chargers.filter(site__organization__memberships__user=user).distinct()


def commands_visible_to(user) -> QuerySet[Command]:
    return Command.objects.filter(charger__in=chargers_visible_to(user)).select_related("charger")
