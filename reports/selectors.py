"""Reads for reports: one organization's session history and message log, streamed in chunks,
and the exports a user may see. Reports read other apps' models here and nowhere else."""

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from decimal import Decimal

from django.db.models import Q, QuerySet
from django.utils.dateparse import parse_datetime

from accounts.models import Organization
from accounts.roles import ADMIN_ROLES
from accounts.tenancy import organizations_of, scope_queryset
from charging.models import ChargingSession, IdToken
from charging.services.shared import transaction_ref
from ocpp_gateway.models import MessageLog
from reports.models import Alert, AlertState, ReportExport
from sites.models import Charger, Site

# Rows fetched from the database at a time: memory stays flat however long the history is.
CHUNK_SIZE = 1000

# The columns of every session export, in order (CSV header, JSON keys, PDF table).
# `connector_id` is the charger's connector number: per charger in OCPP 1.6, per EVSE in 2.0.1,
# so it names a connector only together with `evse_id` (empty for 1.6). `transaction_id` is the
# id the charger knows the session by: our integer for 1.6, the station's own string for 2.0.1.
# New columns go at the end, never in between: existing CSV consumers read columns by position.
SESSION_COLUMNS = (
    "session_id",
    "site",
    "charge_point_id",
    "connector_id",
    "transaction_id",
    "id_tag",
    "state",
    "started_at",
    "stopped_at",
    "duration_minutes",
    "energy_kwh",
    "meter_start_wh",
    "meter_stop_wh",
    "stop_reason",
    "currency",
    "net",
    "vat",
    "total",
    # Added for OCPP 2.0.1 (appended, see above).
    "evse_id",
)


@dataclass(frozen=True, slots=True)
class SessionFilters:
    """What a session export holds: ids inside the export's organization, and a UTC range
    on the start time (date_from inclusive, date_to exclusive)."""

    site: int | None = None
    charger: int | None = None
    id_token: int | None = None
    date_from: dt.datetime | None = None
    date_to: dt.datetime | None = None

    def as_json(self) -> dict:
        values = {key: value for key, value in asdict(self).items() if value is not None}
        for key in ("date_from", "date_to"):
            if key in values:
                values[key] = utc_text(values[key])
        return values

    @classmethod
    def from_json(cls, data: dict) -> "SessionFilters":
        def moment(key: str) -> dt.datetime | None:
            return parse_datetime(data[key]) if data.get(key) else None

        return cls(
            site=data.get("site"),
            charger=data.get("charger"),
            id_token=data.get("id_token"),
            date_from=moment("date_from"),
            date_to=moment("date_to"),
        )


@dataclass(frozen=True, slots=True)
class MessageFilters:
    """What a message-log export holds: the frames of the export's organization's chargers (or
    of one, by id), optionally of one action and direction, in a UTC range on the frame's time
    (date_from inclusive, date_to exclusive; both required: the log is the largest table)."""

    date_from: dt.datetime
    date_to: dt.datetime
    charger: int | None = None
    action: str = ""
    direction: str = ""

    def as_json(self) -> dict:
        values = {key: value for key, value in asdict(self).items() if value not in (None, "")}
        values["date_from"], values["date_to"] = utc_text(self.date_from), utc_text(self.date_to)
        return values

    @classmethod
    def from_json(cls, data: dict) -> "MessageFilters":
        return cls(
            date_from=parse_datetime(data["date_from"]),  # type: ignore[arg-type]  # written by as_json
            date_to=parse_datetime(data["date_to"]),  # type: ignore[arg-type]
            charger=data.get("charger"),
            action=data.get("action", ""),
            direction=data.get("direction", ""),
        )


MESSAGE_COLUMNS = (
    "timestamp", "charge_point_id", "direction", "message_type", "message_id", "action", "payload",
    "error_code", "error_description", "raw",
)  # fmt: skip


def message_history(organization_id: int, filters: MessageFilters) -> QuerySet[MessageLog]:
    """The frames of the organization's chargers matching `filters`, oldest first (frames of
    unknown charge point ids belong to no organization)."""
    chargers = Charger.objects.filter(site__organization_id=organization_id)
    if filters.charger is not None:
        chargers = chargers.filter(pk=filters.charger)
    frames = MessageLog.objects.filter(
        charge_point_id__in=chargers.values("charge_point_id"),
        timestamp__gte=filters.date_from,
        timestamp__lt=filters.date_to,
    )
    if filters.action:
        frames = frames.filter(action=filters.action)
    if filters.direction:
        frames = frames.filter(direction=filters.direction)
    return frames.order_by("timestamp", "id")


def message_rows(frames: QuerySet[MessageLog]) -> Iterator[dict]:
    """One plain row per frame, CHUNK_SIZE at a time; the payload as the JSON text it was."""
    for frame in frames.iterator(chunk_size=CHUNK_SIZE):
        yield {
            "timestamp": f"{frame.timestamp.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%S.%fZ}",
            "charge_point_id": frame.charge_point_id,
            "direction": frame.direction,
            "message_type": frame.message_type if frame.message_type is not None else "",
            "message_id": frame.message_id,
            "action": frame.action,
            "payload": json.dumps(frame.payload, ensure_ascii=False) if frame.payload is not None else "",
            "error_code": frame.error_code,
            "error_description": frame.error_description,
            "raw": frame.raw,
        }


def utc_text(moment: dt.datetime | None) -> str:
    return f"{moment.astimezone(dt.UTC):%Y-%m-%dT%H:%M:%SZ}" if moment else ""


def session_history(organization_id: int, filters: SessionFilters) -> QuerySet[ChargingSession]:
    """The organization's sessions matching `filters`, oldest first, with what a row needs
    (charger, site, connector, price) joined in the same query."""
    sessions = ChargingSession.objects.filter(charger__site__organization_id=organization_id)
    if filters.site is not None:
        sessions = sessions.filter(charger__site_id=filters.site)
    if filters.charger is not None:
        sessions = sessions.filter(charger_id=filters.charger)
    if filters.id_token is not None:
        token = IdToken.objects.filter(pk=filters.id_token, organization_id=organization_id).first()
        if token is None:
            return sessions.none()
        # Sessions keep the idTag as sent even when it matched no token then (R3).
        sessions = sessions.filter(Q(id_token=token) | Q(id_tag__iexact=token.id_tag))
    if filters.date_from is not None:
        sessions = sessions.filter(started_at__gte=filters.date_from)
    if filters.date_to is not None:
        sessions = sessions.filter(started_at__lt=filters.date_to)
    return sessions.select_related("charger__site", "connector", "cost").order_by("started_at", "id")


def session_rows(sessions: QuerySet[ChargingSession]) -> Iterator[dict]:
    """One plain row per session, read CHUNK_SIZE rows at a time (a server-side cursor on
    PostgreSQL), never the whole history at once."""
    for session in sessions.iterator(chunk_size=CHUNK_SIZE):
        yield session_row(session)


def session_row(session: ChargingSession) -> dict:
    cost = getattr(session, "cost", None)  # billing's price, when the session has one
    duration = session.duration
    return {
        "session_id": session.pk,
        "site": session.charger.site.name,
        "charge_point_id": session.charger.charge_point_id,
        "connector_id": session.connector.connector_id,
        "transaction_id": str(transaction_ref(session)),
        "id_tag": session.id_tag,
        "state": session.state,
        "started_at": utc_text(session.started_at),
        "stopped_at": utc_text(session.stopped_at),
        "duration_minutes": f"{duration.total_seconds() / 60:.1f}" if duration is not None else "",
        "energy_kwh": f"{Decimal(session.energy_wh) / 1000:.3f}",
        "meter_start_wh": session.meter_start_wh,
        "meter_stop_wh": session.meter_stop_wh,
        "stop_reason": session.stop_reason,
        "currency": cost.currency if cost else "",
        "net": str(cost.net) if cost else "",
        "vat": str(cost.vat) if cost else "",
        "total": str(cost.total) if cost else "",
        "evse_id": session.connector.evse_id,
    }


def connector_label(evse_id: int | None, connector_id: int) -> str:
    """How a person reads a connector's number: "2" for 1.6 (per charger), "EVSE 2 / 1" for 2.0.1,
    where connectors are numbered per EVSE and "1" alone would not say which one."""
    return f"EVSE {evse_id} / {connector_id}" if evse_id is not None else str(connector_id)


def organizations_exportable_by(user) -> QuerySet[Organization]:
    """Organizations whose data the user may export: where they hold an admin-side role."""
    return organizations_of(user, roles=ADMIN_ROLES)


def sites_of(organizations: QuerySet[Organization]) -> QuerySet[Site]:
    return Site.objects.filter(organization__in=organizations).select_related("organization")


def chargers_of(organizations: QuerySet[Organization]) -> QuerySet[Charger]:
    return Charger.objects.filter(site__organization__in=organizations).select_related("site")


def id_tokens_of(organizations: QuerySet[Organization]) -> QuerySet[IdToken]:
    return IdToken.objects.filter(organization__in=organizations).select_related("organization")


def exports_visible_to(user) -> QuerySet[ReportExport]:
    exports = ReportExport.objects.select_related("organization", "requested_by")
    return scope_queryset(exports, user, "organization", roles=ADMIN_ROLES)


def alerts_visible_to(user) -> QuerySet[Alert]:
    """The alerts of the organizations where the user holds an admin-side role (all for a
    platform admin); partners see none."""
    return scope_queryset(Alert.objects.all(), user, "organization", roles=ADMIN_ROLES)


def unresolved_alert_count(user) -> int:
    return alerts_visible_to(user).filter(state__in=(AlertState.OPEN, AlertState.ACKNOWLEDGED)).count()
