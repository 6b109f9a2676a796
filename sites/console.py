"""The charger page of the admin as an operations console (issue 19): what the page shows of a
charger, built in a fixed number of queries; the operations its buttons queue; a command's
outcome as a sentence.

The running session of each connector (token, start, energy, power) lives in `charging`, and its
cost so far in `billing`; both sit above `sites`, so they register a source here when their app
is ready (as charging registers its command forms and rules). Without them the cards show no
session."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from sites.commands import request_command
from sites.commands.intents import INTENT_TYPES, Intent
from sites.commands.rules import intent_kinds_for
from sites.models import (
    Charger,
    Command,
    CommandStatus,
    ConnectionEvent,
    Connector,
    ConnectorStatus,
    SecurityEvent,
)
from sites.selectors import needing_attention

UPTIME_DAYS = 7

# --- Running sessions and their cost, supplied by the apps above sites ------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class RunningSession:
    """The session in progress on a connector, as the charger page shows it."""

    session_id: int
    connector_pk: int
    id_token: str
    started_at: dt.datetime
    energy_wh: int
    power_w: Decimal | None
    # The charger-side transaction id a remote stop names (1.6 integer as text, 2.0.1 string).
    transaction_id: str
    meter_start_wh: int = 0  # the energy register at the start
    url: str = ""  # the session's admin page
    cost: str = ""  # the cost so far ("4.20 EUR"), when a tariff applies

    @property
    def energy_kwh(self) -> Decimal:
        return (Decimal(self.energy_wh) / 1000).quantize(Decimal("0.001"))

    @property
    def power_kw(self) -> Decimal | None:
        return None if self.power_w is None else (Decimal(self.power_w) / 1000).quantize(Decimal("0.01"))


# The running sessions of a charger, by connector pk (one or two queries, whatever the count).
RunningSessionSource = Callable[[Charger], dict[int, RunningSession]]
# The cost so far of those sessions, by session id, as text with its currency.
CostSource = Callable[[Charger, list[RunningSession]], dict[int, str]]

# Stops a running session (by its id) for a reason, audited: charging's own stop service.
SessionStopper = Callable[[int, str, Any], Command]

_running_sessions: list[RunningSessionSource] = []
_costs: list[CostSource] = []
_stoppers: list[SessionStopper] = []


def register_running_sessions(source: RunningSessionSource) -> None:
    if source not in _running_sessions:
        _running_sessions.append(source)


def register_cost_so_far(source: CostSource) -> None:
    if source not in _costs:
        _costs.append(source)


def register_session_stopper(stopper: SessionStopper) -> None:
    if stopper not in _stoppers:
        _stoppers.append(stopper)


def running_sessions(charger: Charger) -> dict[int, RunningSession]:
    found: dict[int, RunningSession] = {}
    for source in _running_sessions:
        found.update(source(charger))
    if found and _costs:
        sessions = list(found.values())
        costs: dict[int, str] = {}
        for cost_source in _costs:
            costs.update(cost_source(charger, sessions))
        found = {pk: _with_cost(session, costs.get(session.session_id, "")) for pk, session in found.items()}
    return found


def _with_cost(session: RunningSession, cost: str) -> RunningSession:
    if not cost:
        return session
    values = {name: getattr(session, name) for name in RunningSession.__dataclass_fields__}
    return RunningSession(**{**values, "cost": cost})


# --- What the page shows ----------------------------------------------------------------------

# Colour of each connector state (unfold badge colours), on this page and in the charger list.
STATE_COLOURS: dict[str, str] = {
    ConnectorStatus.AVAILABLE: "success",
    ConnectorStatus.CHARGING: "info",
    ConnectorStatus.PREPARING: "info",
    ConnectorStatus.SUSPENDED_EV: "info",
    ConnectorStatus.SUSPENDED_EVSE: "warning",
    ConnectorStatus.FINISHING: "info",
    ConnectorStatus.OCCUPIED: "info",
    ConnectorStatus.RESERVED: "warning",
    ConnectorStatus.UNAVAILABLE: "warning",
    ConnectorStatus.FAULTED: "danger",
    ConnectorStatus.UNKNOWN: "default",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectorCard:
    pk: int
    title: str  # "Connector 2", "EVSE 1 / connector 1"
    connector: int
    evse: int | None
    state: str  # the reported state's label
    colour: str  # unfold badge colour
    stale: bool  # the charger is offline: the state is the last one known, not the present one
    since: dt.datetime | None
    error: str  # "" when NoError
    session: RunningSession | None
    unavailable: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class UptimeSegment:
    online: bool
    start: dt.datetime
    end: dt.datetime
    left: float  # percent of the bar
    width: float


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargerConsole:
    charger: Charger
    online: bool
    # Since when it is online (its connection) or offline (its last offline event, or last seen).
    state_since: dt.datetime | None
    cards: list[ConnectorCard]
    uptime: list[UptimeSegment]
    uptime_percent: float | None  # None before the charger's first connection
    raised_security_events: int = 0  # critical, not acknowledged (S13)
    recent_commands: list[CommandView] = field(default_factory=list)


def charger_console(charger: Charger, *, now: dt.datetime | None = None) -> ChargerConsole:
    """The charger page's data: connectors (1 query), running sessions (their sources' few
    queries), the last 7 days of connection events (2 queries), recent commands (1), raised
    security events (1)."""
    now = now or timezone.now()
    connectors = list(Connector.objects.filter(charger_id=charger.pk).order_by("evse_id", "connector_id"))
    sessions = running_sessions(charger)
    cards = [_card(connector, charger.is_online, sessions.get(connector.pk)) for connector in connectors]
    uptime, percent, last_offline = uptime_bar(charger, now=now)
    since = charger.connected_at if charger.is_online else (last_offline or charger.last_seen_at)
    commands = Command.objects.filter(charger_id=charger.pk).order_by("-created_at", "-id")[:5]
    return ChargerConsole(
        charger=charger,
        online=charger.is_online,
        state_since=since,
        cards=cards,
        uptime=uptime,
        uptime_percent=percent,
        recent_commands=[command_view(command, online=charger.is_online) for command in commands],
        raised_security_events=needing_attention(SecurityEvent.objects.filter(charger_id=charger.pk)).count(),
    )


def console_state(console: ChargerConsole) -> dict:
    """What the page refreshes without a reload: the connection, and each card's state and session."""

    def session(running: RunningSession | None) -> dict | None:
        if running is None:
            return None
        power = running.power_kw
        return {
            "id": running.session_id,
            "energy": f"{running.energy_kwh} kWh",
            "power": f"{power} kW" if power is not None else "-",
            "cost": running.cost or "-",
        }

    return {
        "online": console.online,
        "cards": {
            str(card.pk): {
                "state": card.state,
                "colour": card.colour,
                "error": card.error,
                "session": session(card.session),
            }
            for card in console.cards
        },
    }


def _card(connector: Connector, online: bool, session: RunningSession | None) -> ConnectorCard:
    error = "" if connector.error_code in ("", "NoError") else connector.error_code
    extra = " ".join(part for part in (connector.info, connector.vendor_error_code) if part)
    if error and extra:
        error = f"{error} ({extra})"
    title = (
        f"EVSE {connector.evse_id} / connector {connector.connector_id}"
        if connector.evse_id
        else f"Connector {connector.connector_id}"
    )
    return ConnectorCard(
        pk=connector.pk,
        title=title,
        connector=connector.connector_id,
        evse=connector.evse_id,
        state=connector.get_status_display() if online else "Unknown since offline",
        colour=STATE_COLOURS.get(connector.status, "default") if online else "default",
        stale=not online,
        since=connector.status_timestamp,
        error=error,
        session=session,
        unavailable=connector.status == ConnectorStatus.UNAVAILABLE,
    )


def uptime_bar(
    charger: Charger, *, now: dt.datetime, days: int = UPTIME_DAYS
) -> tuple[list[UptimeSegment], float | None, dt.datetime | None]:
    """The charger's online and offline intervals over the last `days`, from its connection
    events (the last one before the window says how it started), as segments of a bar; the
    share online counted from its first connection inside the window; when it last went offline."""
    start = now - dt.timedelta(days=days)
    events = ConnectionEvent.objects.filter(charger_id=charger.pk)
    before = events.filter(at__lt=start).order_by("-at", "-id").values_list("kind", "at").first()
    inside = list(events.filter(at__gte=start, at__lte=now).order_by("at", "id").values_list("kind", "at"))
    changes: list[tuple[str, dt.datetime]] = []
    if before is not None:
        changes.append((before[0], start))
    changes += inside
    last_offline = next((at for kind, at in reversed(inside) if kind == ConnectionEvent.Kind.OFFLINE), None)
    if last_offline is None and before is not None and before[0] == ConnectionEvent.Kind.OFFLINE:
        last_offline = before[1]
    if not changes:
        return [], None, last_offline
    segments: list[UptimeSegment] = []
    total = (now - start).total_seconds()
    for index, (kind, at) in enumerate(changes):
        end = changes[index + 1][1] if index + 1 < len(changes) else now
        if end <= at:
            continue
        online = kind == ConnectionEvent.Kind.ONLINE
        if segments and segments[-1].online == online:  # "seen again" after "connected"
            previous = segments.pop()
            at = previous.start
        segments.append(
            UptimeSegment(
                online=online,
                start=at,
                end=end,
                left=round((at - start).total_seconds() / total * 100, 3),
                width=round((end - at).total_seconds() / total * 100, 3),
            )
        )
    counted = (now - changes[0][1]).total_seconds()
    online_seconds = sum((s.end - s.start).total_seconds() for s in segments if s.online)
    percent = round(online_seconds / counted * 100, 1) if counted > 0 else None
    return segments, percent, last_offline


# --- A command's outcome, in words ------------------------------------------------------------

# What an accepted command did, by intent kind; the charger's own word can refine it.
_DONE = {
    "unlock": "Unlocked",
    "reset": "Reset accepted: the charger restarts",
    "change_availability": "Availability changed",
    "remote_stop": "Stop accepted: the charger ends the session",
    "remote_start": "Start accepted: the charger starts a session",
    "trigger_message": "The charger sends the message now",
    "read_settings": "Settings read: see the configuration below",
    "request_report": "The charger sends its device model report",
    "rotate_key": "Key changed: the charger uses the new key from now on",
    "reserve": "Reserved",
    "cancel_reservation": "Reservation cancelled",
    "clear_cache": "Authorization cache cleared",
    "change_setting": "Setting changed",
}
# The charger's word for an accepted answer that needs a note.
_ACCEPTED_DETAIL = {
    "Scheduled": "Scheduled: done once the running session ends",
    "RebootRequired": "Accepted: takes effect after a reboot",
}
# Why a charger refused, in words, by the charger's own answer.
_REFUSALS = {
    "Occupied": "the connector is occupied",
    "Faulted": "the connector is faulted",
    "Unavailable": "the connector is unavailable",
    "UnlockFailed": "the connector could not be unlocked",
    "OngoingAuthorizedTransaction": "a session is running on it",
    "UnknownConnector": "the charger has no such connector",
    "NotSupported": "the charger does not support it",
    "NotImplemented": "the charger does not support it",
    "Rejected": "",
}


def outcome_sentence(
    kind: str, status: str, detail: str = "", error: str = "", *, reason: str = "", online: bool = True
) -> str:
    """A command's state as the operator reads it: "Unlocked", "Rejected: the connector is
    occupied". `detail` is the charger's own word for its answer ("Unlocked", "Occupied"),
    `error` a CALLERROR's code and description, `reason` the charger's further explanation
    (2.0.1 statusInfo), `online` whether the charger is connected now."""
    sentence = _sentence(kind, status, detail, error, online)
    return (
        f"{sentence} ({reason})" if reason and status in (CommandStatus.ACCEPTED, CommandStatus.REJECTED) else sentence
    )


def _sentence(kind: str, status: str, detail: str, error: str, online: bool) -> str:
    if status == CommandStatus.QUEUED:
        return "Waiting to be sent" if online else "Waiting: sent when the charger is back online"
    if status == CommandStatus.SENT:
        return "Sent: waiting for the charger's answer"
    if status == CommandStatus.ACCEPTED:
        if detail in _ACCEPTED_DETAIL:
            return _ACCEPTED_DETAIL[detail]
        return _DONE.get(kind, "Accepted")
    if status == CommandStatus.REJECTED:
        reason = _REFUSALS.get(detail, detail)
        return f"Rejected: {reason}" if reason else "Rejected"
    if status == CommandStatus.FAILED:
        return f"Failed: {error}" if error else "Failed"
    if status == CommandStatus.TIMED_OUT:
        return "No answer from the charger in time"
    if status == CommandStatus.EXPIRED:
        return "Expired: the charger did not come back online in time"
    return status


@dataclass(frozen=True, kw_only=True, slots=True)
class CommandView:
    id: int
    kind: str
    title: str  # the intent's title, "Unlock a connector"
    status: str
    finished: bool
    sentence: str
    created_at: dt.datetime
    message_id: str
    result: dict | list | None

    def as_json(self) -> dict:
        return {
            "id": self.id,
            "intent": self.kind,
            "status": self.status,
            "finished": self.finished,
            "sentence": self.sentence,
            "message_id": self.message_id,
            "result": self.result,
        }


def command_view(command: Command, *, online: bool = True) -> CommandView:
    result = command.result if isinstance(command.result, dict) else None
    detail = str(result.get("status", "")) if result else ""
    info = result.get("statusInfo") if result else None
    reason = ""
    if isinstance(info, dict) and info.get("reasonCode"):
        reason = ": ".join(str(part) for part in (info["reasonCode"], info.get("additionalInfo")) if part)
    error = ": ".join(part for part in (command.error_code, command.error_description) if part)
    intent_type = INTENT_TYPES.get(command.intent)
    return CommandView(
        id=command.pk,
        kind=command.intent,
        title=intent_type.title if intent_type is not None else command.action or command.intent,
        status=command.status,
        finished=command.is_finished,
        sentence=outcome_sentence(command.intent, command.status, detail, error, reason=reason, online=online),
        created_at=command.created_at,
        message_id=command.message_id,
        result=command.result if isinstance(command.result, dict | list) else None,
    )


# --- Operations -------------------------------------------------------------------------------


@transaction.atomic
def stop_session(*, session: RunningSession, reason: str, requested_by) -> Command:
    """Ask the charger to stop a session in progress, for a reason the page requires; charging's
    stop service sends it and records the reason with the session (RemoteStop carries none)."""
    reason = reason.strip()
    if not reason:
        raise ValidationError("Say why the session is stopped.", code="reason")
    if not _stoppers:
        raise ValidationError("Sessions cannot be stopped from here.", code="no_stopper")
    return _stoppers[0](session.session_id, reason, requested_by)


def queue(*, charger: Charger, intent: Intent, requested_by) -> Command:
    return request_command(charger=charger, intent=intent, requested_by=requested_by, via=Command.Via.ADMIN)


def connector_of(charger: Charger, connector_pk: int) -> Connector:
    return Connector.objects.get(charger_id=charger.pk, pk=connector_pk)


def kinds_offered(charger: Charger, kinds: Iterable[str]) -> set[str]:
    """Which of `kinds` the charger's protocol version can carry."""
    return set(kinds) & set(intent_kinds_for(charger))
