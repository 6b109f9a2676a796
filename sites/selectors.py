"""Reads of sites and chargers."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.tenancy import scope_queryset
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
    """The chargers a user may see: those of the organizations they belong to, and those
    shared with their partner organization (django-guardian grants); all for a superuser."""
    chargers = Charger.objects.select_related("site", "site__organization")
    if user.is_superuser:
        return chargers
    shared = get_objects_for_user(
        user, "sites.view_charger", klass=Charger, with_superuser=False, accept_global_perms=False
    )
    own = scope_queryset(Charger.objects.all(), user, "site__organization")
    return chargers.filter(Q(pk__in=own.values("pk")) | Q(pk__in=shared.values("pk")))


def commands_visible_to(user) -> QuerySet[Command]:
    return Command.objects.filter(charger__in=chargers_visible_to(user)).select_related("charger")
