"""Reads of sites and chargers."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet
from guardian.shortcuts import get_objects_for_user

from accounts.tenancy import scope_queryset
from sites.models import Charger, Command, Connector, ConnectorStatus, SecurityEvent


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
    preferred_ocpp_version: str = ""  # blank: the system's order of subprotocols
    # Who its client certificate must name (profile 3, sites/certificates/identity.py).
    operator_name: str = ""  # the organization's operator name, or its name
    serial_number: str = ""
    # A higher profile it accepted to move to (whitepaper A05): let in with either until then.
    security_profile_target: int | None = None


ACCESS_FIELDS = (
    "id",
    "charge_point_id",
    "site__organization_id",
    "registration_status",
    "security_profile",
    "auth_key_hash",
    "pending_auth_key_hash",
    "heartbeat_interval",
    "preferred_ocpp_version",
    "serial_number",
    "security_profile_target",
    "site__organization__operator_name",
    "site__organization__name",
)


def fault_reports(prefix: str = "") -> Q:
    """StatusNotification records that describe a fault: status Faulted, or any error code but
    NoError. `prefix` leads to the records from another model (e.g. "status_history__")."""
    return Q(**{f"{prefix}status": ConnectorStatus.FAULTED}) | ~Q(**{f"{prefix}error_code": "NoError"})


def charger_access(charge_point_id: str) -> ChargerAccess | None:
    return chargers_access({charge_point_id}).get(charge_point_id)


def chargers_access(charge_point_ids: set[str]) -> dict[str, ChargerAccess]:
    """What the handshake needs of several chargers, in one query (a reconnect storm)."""
    found = {}
    for row in Charger.objects.filter(charge_point_id__in=charge_point_ids).values(*ACCESS_FIELDS):
        row["organization_id"] = row.pop("site__organization_id")
        organization_name = row.pop("site__organization__name")
        row["operator_name"] = row.pop("site__organization__operator_name") or organization_name
        found[row["charge_point_id"]] = ChargerAccess(**row)
    return found


def connector_addresses_of(charger: Charger) -> list[tuple[int | None, int]]:
    """The charger's connectors as (EVSE id or None, connector number), in order: (None, n) in
    1.6 numbering, (e, n) for connector n of EVSE e (2.0.1)."""
    return list(
        Connector.objects.filter(charger_id=charger.pk)
        .order_by("evse_id", "connector_id")
        .values_list("evse_id", "connector_id")
    )


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


def needing_attention(events: QuerySet[SecurityEvent]) -> QuerySet[SecurityEvent]:
    """The critical security events no operator has acknowledged yet: what stays raised (S13)."""
    return events.filter(critical=True, acknowledged_at__isnull=True)
