"""Writes for sites, chargers and connectors."""

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F

from accounts.models import Organization
from accounts.services import record_activity, record_change, snapshot
from common.db import batch_atomic, execute_bound, insert_rows, update_rows
from sites.credentials import generate_charger_key, hash_charger_key
from sites.gateway import DISCONNECT, send_to_gateway
from sites.models import (
    SITE_FIELDS,
    Charger,
    ChargerReport,
    Command,
    ConnectionEvent,
    Connector,
    OcppVersion,
    RegistrationStatus,
    SecurityProfile,
    Site,
    StatusNotificationRecord,
    UnknownCharger,
    UnknownChargerState,
)
from sites.security_events import PROFILE_RAISED, charge_point_id_of, record_key_rotation, record_security_event
from sites.signals import ChargerBoot, StatusChange, charger_booted, online_changed, status_changed

logger = logging.getLogger(__name__)


@transaction.atomic
def ensure_connectors(*, charger: Charger, count: int) -> list[Connector]:
    """Make sure connectors 1..count exist (1.6 numbering); never deletes any."""
    existing = set(charger.connectors.filter(evse_id__isnull=True).values_list("connector_id", flat=True))
    Connector.objects.bulk_create(
        [Connector(charger=charger, connector_id=number) for number in range(1, count + 1) if number not in existing]
    )
    return list(charger.connectors.order_by("connector_id"))


@transaction.atomic
def register_charger(*, site: Site, charge_point_id: str, connector_count: int = 1, **fields) -> Charger:
    charger = Charger(site=site, charge_point_id=charge_point_id, **fields)
    charger.full_clean()
    charger.save()
    ensure_connectors(charger=charger, count=connector_count)
    return charger


@transaction.atomic
def issue_charger_key(*, charger: Charger, issued_by=None, via: str = "system") -> str:
    """Give the charger a new random HTTP Basic key; return it in clear, exactly once. The
    old key stops working at once (the audit trail records who did it, never the key)."""
    key = generate_charger_key()
    charger.auth_key_hash = hash_charger_key(key)
    charger.save(update_fields=["auth_key_hash"])
    record_activity(actor=issued_by, verb="issued a new HTTP Basic key", obj=charger, via=via)
    return key


# --- Operators' changes to the fleet (the partner API) --------------------------------------
# Each validates as the admin's forms do (the model's full_clean: its validators, choices,
# clean() and unique constraints), raising django's ValidationError, and records its change in
# the audit trail. A delete the database refuses (a site with chargers, a charger or connector
# with sessions: on_delete=PROTECT) raises ProtectedError and records nothing.

# The organization of a site is chosen when it is created, never changed (S17).
SITE_EDITABLE_FIELDS = tuple(name for name in SITE_FIELDS if name != "organization")
# What a charger says about itself in BootNotification: written when it is registered, then
# the charger's own word (as in the admin).
CHARGER_BOOT_FIELDS = ("vendor", "model", "serial_number", "firmware_version")
CHARGER_EDITABLE_FIELDS = ("site", "heartbeat_interval", "preferred_ocpp_version", "registration_status")


def refuse_unchangeable(changes: dict, allowed: Iterable[str], what: str) -> None:
    """ValueError naming the fields of `changes` not in `allowed` (a service's editable fields)."""
    refused = sorted(set(changes) - set(allowed))
    if refused:
        raise ValueError(f"{', '.join(refused)}: not changeable on a {what}")


@transaction.atomic
def create_site(*, organization: Organization, by, via: str, **fields) -> Site:
    refuse_unchangeable(fields, SITE_EDITABLE_FIELDS, "site")
    site = Site(organization=organization, **fields)
    site.full_clean()
    site.save()
    record_change(actor=by, verb="created", obj=site, via=via)
    return site


@transaction.atomic
def update_site(site: Site, *, by, via: str, **changes) -> Site:
    refuse_unchangeable(changes, SITE_EDITABLE_FIELDS, "site")
    before = snapshot(site)
    for name, value in changes.items():
        setattr(site, name, value)
    site.full_clean()
    site.save()
    record_change(actor=by, verb="changed", obj=site, via=via, before=before)
    return site


@transaction.atomic
def delete_site(site: Site, *, by, via: str) -> None:
    """Refused (ProtectedError) while the site has chargers: move or delete them first."""
    record_change(actor=by, verb="deleted", obj=site, via=via)
    site.delete()


@transaction.atomic
def add_charger(
    *, site: Site, charge_point_id: str, connector_count: int = 1, by, via: str, **fields
) -> tuple[Charger, str]:
    """Register a charger at `site` with `connector_count` connectors (1.6 numbering) and a new
    random HTTP Basic key; returns the charger and the key, in clear this once (only its hash
    is kept)."""
    refuse_unchangeable(fields, (*CHARGER_BOOT_FIELDS, *CHARGER_EDITABLE_FIELDS), "new charger")
    charger = register_charger(site=site, charge_point_id=charge_point_id, connector_count=connector_count, **fields)
    record_change(actor=by, verb="created", obj=charger, via=via)
    key = issue_charger_key(charger=charger, issued_by=by, via=via)
    return charger, key


@transaction.atomic
def update_charger(charger: Charger, *, by, via: str, **changes) -> Charger:
    """Change what an operator decides of a charger; its site only within its organization."""
    refuse_unchangeable(changes, CHARGER_EDITABLE_FIELDS, "charger")
    site = changes.get("site")
    if site is not None and site.organization_id != charger.site.organization_id:
        raise ValidationError({"site": ["Choose a site of the charger's own organization."]})
    before = snapshot(charger)
    for name, value in changes.items():
        setattr(charger, name, value)
    charger.full_clean()
    charger.save(update_fields=list(changes) or None)
    record_change(actor=by, verb="changed", obj=charger, via=via, before=before)
    return charger


@transaction.atomic
def delete_charger(charger: Charger, *, by, via: str) -> None:
    """Refused (ProtectedError) while sessions refer to it. A live socket is closed once the
    delete is committed."""
    channel_name = charger.channel_name
    record_change(actor=by, verb="deleted", obj=charger, via=via)
    charger.delete()
    if channel_name:
        transaction.on_commit(lambda: _close_socket(channel_name, charge_point_id=charger.charge_point_id))


def disconnect_charger(*, charger: Charger, by, via: str, reason: str = "closed by an operator") -> bool:
    """Close the charger's live socket, wherever it is held (the consumer closes on an
    "ocpp.disconnect" message); the charger is expected to connect again. False when it is not
    connected, or the channel layer could not be reached."""
    channel_name = Charger.objects.filter(pk=charger.pk).values_list("channel_name", flat=True).first()
    if not channel_name:
        return False
    if not _close_socket(channel_name, charge_point_id=charger.charge_point_id, reason=reason):
        return False
    record_activity(actor=by, verb="disconnected", obj=charger, via=via, changes={"reason": reason})
    return True


def _close_socket(channel_name: str, *, charge_point_id: str, reason: str = "charger deleted") -> bool:
    try:
        send_to_gateway(channel_name, {"type": DISCONNECT, "reason": reason})
    except Exception as exc:  # Redis down or slow
        logger.warning("could not tell the gateway to close the socket of %s (%s)", charge_point_id, exc)
        return False
    return True


@transaction.atomic
def add_connector(*, charger: Charger, connector_id: int, evse_id: int | None = None, by, via: str) -> Connector:
    """A connector the charger has not reported yet (it adds its own when it reports a status)."""
    connector = Connector(charger=charger, connector_id=connector_id, evse_id=evse_id)
    connector.full_clean()
    connector.save()
    record_change(actor=by, verb="created", obj=connector, via=via)
    return connector


@transaction.atomic
def delete_connector(connector: Connector, *, by, via: str) -> None:
    """Refused (ProtectedError) while sessions refer to it."""
    record_change(actor=by, verb="deleted", obj=connector, via=via)
    connector.delete()


# --- What chargers report (called by the OCPP gateway) ------------------------------------


@dataclass(frozen=True, slots=True)
class BootInfo:
    vendor: str
    model: str
    serial_number: str = ""
    firmware_version: str = ""
    reason: str = ""  # why it booted (2.0.1 BootReasonEnumType); 1.6 does not say
    iccid: str = ""
    imsi: str = ""


@dataclass(frozen=True, slots=True)
class BootDecision:
    status: str
    interval: int


@dataclass(frozen=True, slots=True)
class BootIn:
    charger_id: int
    info: BootInfo
    received_at: dt.datetime


def record_boot(*, charger_id: int, info: BootInfo, received_at: dt.datetime) -> BootDecision:
    """Store what the charger says about itself; answer with its registration status."""
    [decision] = record_boots([BootIn(charger_id, info, received_at)])
    return decision


BOOT_FIELDS = [
    "vendor", "model", "serial_number", "firmware_version", "boot_reason", "iccid", "imsi",
    "last_boot_at", "last_seen_at", "is_online",
]  # fmt: skip


@batch_atomic
def record_boots(boots: list[BootIn]) -> list[BootDecision]:
    """BootNotifications of many chargers in three statements. What a charger reports is
    written as a plain update: it is not an operator's change (no history row)."""
    fields = ("registration_status", "heartbeat_interval", "is_online", "firmware_version")
    locked = Charger.objects.select_for_update(no_key=True).filter(pk__in={b.charger_id for b in boots}).order_by("pk")
    chargers = {charger.pk: charger for charger in locked.only(*fields)}
    events, decisions, booted = [], [], []
    for boot in boots:
        charger = chargers[boot.charger_id]
        if not charger.is_online:
            events.append(_connection_event(charger.pk, ConnectionEvent.Kind.ONLINE, boot.received_at, "seen again"))
        previous_firmware = charger.firmware_version
        charger.vendor, charger.model = boot.info.vendor, boot.info.model
        charger.serial_number, charger.firmware_version = boot.info.serial_number, boot.info.firmware_version
        charger.boot_reason, charger.iccid, charger.imsi = boot.info.reason, boot.info.iccid, boot.info.imsi
        charger.last_boot_at = charger.last_seen_at = boot.received_at
        charger.is_online = True
        decisions.append(_boot_decision(charger))
        booted.append(_charger_boot(boot, decisions[-1], previous_firmware))
    update_rows(list(chargers.values()), BOOT_FIELDS)
    _record_connection_events(events)
    transaction.on_commit(partial(charger_booted.send, sender=Charger, boots=booted))
    return decisions


def _charger_boot(boot: BootIn, decision: BootDecision, previous_firmware: str) -> ChargerBoot:
    return ChargerBoot(
        boot.charger_id, decision.status, boot.info.reason, boot.info.firmware_version, boot.received_at,
        previous_firmware_version=previous_firmware,
    )  # fmt: skip


def _boot_decision(charger: Charger) -> BootDecision:
    if charger.registration_status == RegistrationStatus.ACCEPTED:
        return BootDecision(charger.registration_status, charger.heartbeat_interval)
    # 1.6 sec. 4.2: while not Accepted, the interval is the retry interval for BootNotification.
    return BootDecision(charger.registration_status, settings.OCPP_BOOT_RETRY_INTERVAL)


def promote_pending_key(*, charger_id: int) -> None:
    """The charger authenticated with the key of a rotation whose answer never came: it did
    take the new key, so that key is now the only one (S7)."""
    promoted = (
        Charger.objects.filter(pk=charger_id)
        .exclude(pending_auth_key_hash="")
        .update(auth_key_hash=F("pending_auth_key_hash"), pending_auth_key_hash="")
    )
    if promoted:
        record_key_rotation(charger_id=charger_id, how="the charger logged in with the new key")


def promote_security_profile(*, charger_id: int, profile: int) -> None:
    """The charger connected with the higher profile it accepted to move to: from now on the
    lower one is refused (1.6 security whitepaper A05.FR.09)."""
    previous = Charger.objects.filter(pk=charger_id).values_list("security_profile", flat=True).first()
    promoted = Charger.objects.filter(
        pk=charger_id, security_profile__lt=profile, security_profile_target=profile
    ).update(security_profile=profile, security_profile_target=None)
    if promoted:
        record_security_event(
            charge_point_id=charge_point_id_of(charger_id),
            charger_id=charger_id,
            kind=PROFILE_RAISED,
            detail={"from": previous, "to": profile},
        )


def _connection_event(charger_id: int, kind: str, at: dt.datetime, reason: str) -> ConnectionEvent:
    return ConnectionEvent(charger_id=charger_id, kind=kind, at=at, reason=reason)


def _record_connection_event(charger_id: int, kind: str, at: dt.datetime, reason: str) -> None:
    _record_connection_events([_connection_event(charger_id, kind, at, reason)])


def _record_connection_events(events: list[ConnectionEvent]) -> None:
    """One row per change of the online state: the uptime report reads these intervals, and
    the live dashboard hears of them once they are committed."""
    if not events:
        return
    insert_rows(events)

    def announce() -> None:
        for event in events:
            online_changed.send(
                sender=Charger,
                charger_id=event.charger_id,
                online=event.kind == ConnectionEvent.Kind.ONLINE,
                at=event.at,
            )

    transaction.on_commit(announce)


@dataclass(frozen=True, slots=True)
class Liveness:
    """A sign of life from a charger's connection: a Heartbeat, or any other frame."""

    charger_id: int
    connection_id: uuid.UUID
    seen_at: dt.datetime
    heartbeat: bool = False


@batch_atomic
def record_liveness(signs: list[Liveness]) -> None:
    """Last-seen and heartbeat times of many chargers in one statement. Only the connection
    that holds the charger writes: a late sign from a socket that has since closed or been
    replaced must not mark the charger online again (R15). A charger the offline sweep had
    given up on comes back online with a "seen again" event."""
    latest: dict[tuple[int, uuid.UUID], list] = {}  # per connection: [last heartbeat, first seen, last seen]
    for sign in signs:
        times = latest.setdefault((sign.charger_id, sign.connection_id), [None, sign.seen_at, sign.seen_at])
        times[1], times[2] = min(times[1], sign.seen_at), max(times[2], sign.seen_at)
        if sign.heartbeat:
            times[0] = sign.seen_at if times[0] is None else max(times[0], sign.seen_at)
    rows = [(beat, seen, charger_id, _uuid(conn)) for (charger_id, conn), (beat, _, seen) in latest.items()]
    table = connection.ops.quote_name(Charger._meta.db_table)
    assignments = (
        f"last_heartbeat_at = COALESCE({{}}, {table}.last_heartbeat_at), last_seen_at = {{}}, is_online = TRUE"
    )
    if connection.vendor == "postgresql":
        # The row as it was before this statement (joined again as `before`) tells which
        # chargers were offline: one statement instead of a query and an update.
        sql = (
            f"UPDATE {table} SET {assignments.format('v.beat', 'v.seen')}"  # noqa: S608
            " FROM unnest(%s::timestamptz[], %s::timestamptz[], %s::bigint[], %s::uuid[]) AS v(beat, seen, id, conn)"
            f" JOIN {table} AS before ON before.id = v.id"
            f" WHERE {table}.id = v.id AND {table}.connection_id = v.conn"
            f" RETURNING {table}.id, {table}.connection_id, before.is_online"
        )
        updated = execute_bound(connection, sql, [list(column) for column in zip(*rows, strict=True)])
        offline = [(pk, conn) for pk, conn, was_online in updated if not was_online]
    else:
        offline = _offline_of(latest.keys())
        with connection.cursor() as cursor:
            cursor.executemany(
                f"UPDATE {table} SET {assignments.format('%s', '%s')} WHERE id = %s AND connection_id = %s",  # noqa: S608
                rows,
            )
    _record_connection_events(
        [
            ConnectionEvent(charger_id=key[0], kind=ConnectionEvent.Kind.ONLINE, at=latest[key][1], reason="seen again")
            for key in offline
        ]
    )


def _offline_of(connections_: Iterable[tuple[int, uuid.UUID]]) -> list[tuple[int, uuid.UUID]]:
    """Which of these live connections belong to chargers marked offline."""
    wanted = set(connections_)
    rows = Charger.objects.filter(
        pk__in={charger_id for charger_id, _ in wanted},
        connection_id__in={connection_id for _, connection_id in wanted},
        is_online=False,
    ).values_list("pk", "connection_id")
    return [row for row in rows if row in wanted]


def _uuid(value: uuid.UUID):
    """A UUID as the database backend stores it (SQLite keeps 32 hex digits, PostgreSQL a uuid)."""
    return Charger._meta.get_field("connection_id").get_db_prep_value(value, connection)


@dataclass(frozen=True, slots=True)
class Connecting:
    charger_id: int
    connection_id: uuid.UUID
    channel_name: str
    at: dt.datetime
    ocpp_version: str = OcppVersion.V16  # as negotiated at the handshake


def mark_connected(*, charger_id: int, connection_id: uuid.UUID, channel_name: str, at: dt.datetime) -> str:
    """Make this socket the charger's connection. Returns the channel of the connection it
    replaces ("" if none), which the caller must tell to close (R15)."""
    [previous] = mark_connected_many([Connecting(charger_id, connection_id, channel_name, at)])
    return previous


CONNECTION_FIELDS = ["connection_id", "channel_name", "connected_at", "last_seen_at", "is_online", "ocpp_version"]


@batch_atomic
def mark_connected_many(sockets: list[Connecting]) -> list[str]:
    """Many sockets taking over their chargers, in the order given, in three statements.
    Per socket, the channel of the connection it replaces ("" if none)."""
    locked = Charger.objects.select_for_update(no_key=True).filter(pk__in={s.charger_id for s in sockets})
    chargers = {charger.pk: charger for charger in locked.order_by("pk").only("channel_name", "is_online")}
    events, previous = [], []
    for socket in sockets:
        charger = chargers[socket.charger_id]
        previous.append(charger.channel_name if charger.channel_name != socket.channel_name else "")
        if not charger.is_online:  # a socket replacing a live one is no change of state (R15)
            events.append(_connection_event(charger.pk, ConnectionEvent.Kind.ONLINE, socket.at, "connected"))
        charger.connection_id, charger.channel_name = socket.connection_id, socket.channel_name
        charger.connected_at = charger.last_seen_at = socket.at
        charger.ocpp_version = socket.ocpp_version
        charger.is_online = True
    update_rows(list(chargers.values()), CONNECTION_FIELDS)
    _record_connection_events(events)
    return previous


@transaction.atomic
def mark_disconnected(
    *, charger_id: int, connection_id: uuid.UUID, at: dt.datetime, reason: str = "disconnected"
) -> bool:
    """Mark the charger offline, unless a newer socket has taken over (R15). `reason` says
    why the socket closed (e.g. "ping timeout"), for the uptime report."""
    charger = (
        Charger.objects.select_for_update(no_key=True)
        .filter(pk=charger_id, connection_id=connection_id)
        .only("is_online")
        .first()
    )
    if charger is None:
        return False
    Charger.objects.filter(pk=charger_id).update(is_online=False, channel_name="", connection_id=None, last_seen_at=at)
    if charger.is_online:  # the sweep may have marked it offline already
        _record_connection_event(charger_id, ConnectionEvent.Kind.OFFLINE, at, reason[:32])
    return True


@dataclass(frozen=True, slots=True)
class StatusReport:
    connector_id: int  # 0: the charger as a whole
    status: str
    error_code: str
    info: str = ""
    vendor_id: str = ""
    vendor_error_code: str = ""
    timestamp: dt.datetime | None = None
    evse_id: int | None = None  # 2.0.1: the connector is numbered within this EVSE


def connector_for(charger_id: int, connector_id: int, *, evse_id: int | None = None) -> Connector:
    """The connector with this number (of the charger, or of the EVSE when one is given), created
    when the charger reports one we did not know."""
    connector, _ = Connector.objects.get_or_create(charger_id=charger_id, evse_id=evse_id, connector_id=connector_id)
    return connector


@dataclass(frozen=True, slots=True)
class StatusNotificationIn:
    charger_id: int
    report: StatusReport
    received_at: dt.datetime


def record_status_notification(*, charger_id: int, report: StatusReport, received_at: dt.datetime) -> bool:
    """Keep the report; apply it only if it is not older than the state in force (R23).
    Returns whether it was applied."""
    [applied] = record_status_notifications([StatusNotificationIn(charger_id, report, received_at)])
    return applied


STATUS_FIELDS = ["status", "error_code", "status_timestamp"]
CONNECTOR_STATUS_FIELDS = [*STATUS_FIELDS, "info", "vendor_error_code"]


@batch_atomic
def record_status_notifications(items: list[StatusNotificationIn]) -> list[bool]:
    """Many StatusNotifications, of one or many chargers, in a handful of statements: every
    report is kept; each is applied only if it is not older than the state in force (R23),
    in the order given. Returns, per item, whether it was applied.

    The rows the reports decide on are locked, chargers first, each in id order (so that
    concurrent batches cannot deadlock): the charger's for a charger-wide report (connector
    0), the connectors' for the others. A report is decided one writer at a time, as alone."""
    charger_wide = {item.charger_id for item in items if item.report.connector_id == 0}
    chargers = {
        charger.pk: charger
        for charger in Charger.objects.select_for_update(no_key=True)
        .filter(pk__in=charger_wide)
        .order_by("pk")
        .only("id", *STATUS_FIELDS)
    }
    connectors = {
        (c.charger_id, c.evse_id, c.connector_id): c
        for c in Connector.objects.select_for_update(no_key=True)
        .filter(charger_id__in={item.charger_id for item in items if item.report.connector_id})
        .order_by("pk")
        .only("charger_id", "evse_id", "connector_id", *CONNECTOR_STATUS_FIELDS)
    }
    changed: dict[tuple[type, int], Charger | Connector] = {}
    records, results, notices = [], [], []
    for item in items:
        report = item.report
        timestamp = report.timestamp or item.received_at
        if report.connector_id == 0:
            target = chargers[item.charger_id]
        else:
            target = _connector(connectors, item.charger_id, report.evse_id, report.connector_id)
        applied = target.status_timestamp is None or timestamp >= target.status_timestamp
        if applied:
            notices.append(
                StatusChange(
                    charger_id=item.charger_id,
                    connector_id=report.connector_id,
                    previous_status=target.status,
                    status=report.status,
                    error_code=report.error_code,
                    timestamp=timestamp,
                    evse_id=report.evse_id,
                )
            )
            target.status, target.error_code, target.status_timestamp = report.status, report.error_code, timestamp
            if isinstance(target, Connector):
                target.info, target.vendor_error_code = report.info, report.vendor_error_code
            changed[(type(target), target.pk)] = target
        records.append(_status_record(item, timestamp, applied))
        results.append(applied)
    _save_status(changed.values())
    insert_rows(records)
    if notices:
        transaction.on_commit(lambda: status_changed.send(sender=Charger, changes=notices))
    return results


def _connector(connectors: dict, charger_id: int, evse_id: int | None, connector_id: int) -> Connector:
    key = (charger_id, evse_id, connector_id)
    if key not in connectors:
        connectors[key] = connector_for(charger_id, connector_id, evse_id=evse_id)
    return connectors[key]


def _status_record(item: StatusNotificationIn, timestamp: dt.datetime, applied: bool) -> StatusNotificationRecord:
    report = item.report
    return StatusNotificationRecord(
        charger_id=item.charger_id,
        evse_id=report.evse_id,
        connector_id=report.connector_id,
        status=report.status,
        error_code=report.error_code,
        info=report.info,
        vendor_id=report.vendor_id,
        vendor_error_code=report.vendor_error_code,
        timestamp=timestamp,
        received_at=item.received_at,
        applied=applied,
    )


def _save_status(targets) -> None:
    update_rows([t for t in targets if isinstance(t, Charger)], STATUS_FIELDS)
    update_rows([t for t in targets if isinstance(t, Connector)], CONNECTOR_STATUS_FIELDS)


def record_charger_report(
    *,
    charger_id: int,
    kind: str,
    status: str,
    received_at: dt.datetime,
    request_id: int | None = None,
    detail: dict | None = None,
    command: Command | None = None,
) -> ChargerReport:
    """A report as the charger sent it (status cut to the column), linked to the command it is
    about when known (sites.commands.progress)."""
    return ChargerReport.objects.create(
        charger_id=charger_id,
        kind=kind,
        status=status[:32],
        received_at=received_at,
        request_id=request_id,
        command=command,
        detail=detail or {},
    )


# --- Unknown chargers (S1) ------------------------------------------------------------------


class _FullInboxWarning:
    """One warning per FULL_INBOX_WARNING_INTERVAL while the inbox is full, with how many new ids
    it turned away: a flood of made-up ids must not become a flood of log lines."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self._lock = threading.Lock()
        self._last_warned = -interval
        self._since_warned = 0

    def dropped(self, charge_point_id: str) -> None:
        with self._lock:
            self._since_warned += 1
            now = time.monotonic()
            if now - self._last_warned < self.interval:
                return
            count, self._since_warned, self._last_warned = self._since_warned, 0, now
        logger.warning(
            "unknown-charger inbox is full (%d ids): not recording %r and %d other new id(s) since the last warning",
            settings.OCPP_UNKNOWN_CHARGER_INBOX_SIZE, charge_point_id, count - 1,
        )  # fmt: skip


FULL_INBOX_WARNING_INTERVAL = 60.0
_full_inbox = _FullInboxWarning(FULL_INBOX_WARNING_INTERVAL)


def record_unknown_charger_attempt(
    *,
    charge_point_id: str,
    remote_address: str,
    subprotocols: str,
    at: dt.datetime,
    boot: BootInfo | None = None,
    attempts: int = 1,
) -> None:
    """Count an attempt by an unknown id in the inbox. The inbox holds at most
    OCPP_UNKNOWN_CHARGER_INBOX_SIZE ids: a new id beyond that is dropped (and logged), so a
    flood of made-up ids cannot fill the database."""
    updates: dict = {"last_seen_at": at}
    # Only what this attempt tells us: a BootNotification does not repeat the address.
    if remote_address:
        updates["remote_address"] = remote_address[:64]
    if subprotocols:
        updates["subprotocols"] = subprotocols[:200]
    if boot is not None:
        updates.update(
            vendor=boot.vendor[:50],
            model=boot.model[:50],
            serial_number=boot.serial_number[:50],
            firmware_version=boot.firmware_version[:50],
        )
    if UnknownCharger.objects.filter(charge_point_id=charge_point_id).update(
        attempts=F("attempts") + attempts, **updates
    ):
        return
    if UnknownCharger.objects.count() >= settings.OCPP_UNKNOWN_CHARGER_INBOX_SIZE:
        _full_inbox.dropped(charge_point_id)
        return
    try:
        with transaction.atomic():
            UnknownCharger.objects.create(
                charge_point_id=charge_point_id, first_seen_at=at, attempts=attempts, **updates
            )
    except IntegrityError:  # a concurrent attempt created it first
        UnknownCharger.objects.filter(charge_point_id=charge_point_id).update(attempts=F("attempts") + attempts)


@transaction.atomic
def adopt_unknown_charger(*, unknown: UnknownCharger, site: Site, connector_count: int = 1) -> tuple[Charger, str]:
    """Register an inbox entry as a charger of `site`; returns the charger and its new key (shown once)."""
    charger = register_charger(
        site=site,
        charge_point_id=unknown.charge_point_id,
        connector_count=connector_count,
        vendor=unknown.vendor,
        model=unknown.model,
        serial_number=unknown.serial_number,
        firmware_version=unknown.firmware_version,
    )
    key = issue_charger_key(charger=charger)
    unknown.state, unknown.adopted_charger = UnknownChargerState.ADOPTED, charger
    unknown.save(update_fields=["state", "adopted_charger"])
    return charger, key


@transaction.atomic
def auto_register_charger(*, charge_point_id: str, organization_slug: str) -> Charger:
    """The "register" unknown-charger policy: the charger appears Pending (it gets no
    service until an operator accepts it) in its organization's "Auto-registered" site."""
    site, _ = Site.objects.get_or_create(
        organization=Organization.objects.get(slug=organization_slug), name="Auto-registered"
    )
    return register_charger(
        site=site,
        charge_point_id=charge_point_id,
        registration_status=RegistrationStatus.PENDING,
        security_profile=SecurityProfile.NONE,
    )


def sweep_offline_chargers(*, now: dt.datetime) -> int:
    """Mark offline the chargers heard from less recently than OCPP_OFFLINE_AFTER_HEARTBEATS
    heartbeat intervals. Returns how many were marked."""
    marked = 0
    intervals = Charger.objects.filter(is_online=True).values_list("heartbeat_interval", flat=True).distinct()
    for interval in intervals:
        silence = dt.timedelta(seconds=interval * settings.OCPP_OFFLINE_AFTER_HEARTBEATS)
        marked += _mark_silent_offline(
            Charger.objects.filter(is_online=True, heartbeat_interval=interval, last_seen_at__lt=now - silence)
        )
    return marked


@transaction.atomic
def _mark_silent_offline(silent) -> int:
    """Mark these chargers offline with one event each. The rows are locked first (others
    skipped: they are being touched right now), so a charger that speaks meanwhile is not
    marked. The event is dated when the charger was last heard from: that is when it was
    last known to be online, which is what uptime should count."""
    rows = list(silent.select_for_update(skip_locked=True, no_key=True).values_list("pk", "last_seen_at"))
    if not rows:
        return 0
    Charger.objects.filter(pk__in=[pk for pk, _ in rows]).update(is_online=False)
    _record_connection_events(
        [
            ConnectionEvent(charger_id=pk, kind=ConnectionEvent.Kind.OFFLINE, at=last_seen, reason="offline sweep")
            for pk, last_seen in rows
        ]
    )
    return len(rows)
