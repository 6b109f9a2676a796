"""From the facts the receivers buffered to events (integrations.events), in a fixed number of
queries per batch whatever its size: one each for the chargers, the sessions, the prices and the
security events named (none for a kind the batch does not hold)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from billing.models import SessionCost
from charging.models import ChargingSession
from charging.signals import SessionReadings
from common.signals import AlertFact
from integrations.events import Event, utc_text
from sites.models import Charger, SecurityEvent
from sites.signals import ChargerBoot, StatusChange

# Facts, as integrations.receivers records them (plain tuples: cheap where they are made).
ONLINE = "online"  # (ONLINE, charger_id, online: bool, at)
STATUS = "status"  # (STATUS, StatusChange)
SESSION_STARTED = "session_started"  # (SESSION_STARTED, session_id, at)
SESSION_ENDED = "session_ended"  # (SESSION_ENDED, session_id, at)
COMMAND = "command"  # (COMMAND, command_id, charger_id, intent, status, at)
ALERT = "alert"  # (ALERT, AlertFact)
BOOTED = "booted"  # (BOOTED, ChargerBoot)
SESSION_UPDATED = "session_updated"  # (SESSION_UPDATED, SessionReadings)
SESSION_PRICED = "session_priced"  # (SESSION_PRICED, session_id, at)
SECURITY = "security"  # (SECURITY, security_event_id, at)


def build_events(facts: list[tuple[Any, ...]]) -> list[Event]:
    charger_ids = {fact[1] for fact in facts if fact[0] == ONLINE}
    charger_ids |= {fact[2] for fact in facts if fact[0] == COMMAND}
    charger_ids |= {fact[1].charger_id for fact in facts if fact[0] in (STATUS, ALERT, BOOTED) and fact[1].charger_id}
    session_ids = {fact[1] for fact in facts if fact[0] in (SESSION_STARTED, SESSION_ENDED)}
    session_ids |= {fact[1].session_id for fact in facts if fact[0] == SESSION_UPDATED}
    sessions = {
        session.pk: session
        for session in ChargingSession.objects.filter(pk__in=session_ids).select_related("charger__site", "connector")
    }
    charger_ids |= {session.charger_id for session in sessions.values()}
    costs = _costs({fact[1] for fact in facts if fact[0] == SESSION_PRICED})
    charger_ids |= {cost.session.charger_id for cost in costs.values()}
    security_events = _security_events({fact[1] for fact in facts if fact[0] == SECURITY})
    charger_ids |= {event.charger_id for event in security_events.values() if event.charger_id}
    chargers = {
        pk: (charge_point_id, organization_id, site_id)
        for pk, charge_point_id, organization_id, site_id in Charger.objects.filter(pk__in=charger_ids).values_list(
            "pk", "charge_point_id", "site__organization_id", "site_id"
        )
    }
    found = _Found(chargers, sessions, costs, security_events)
    events: list[Event] = []
    for fact in facts:
        event = _event(fact, found)
        if event is not None:
            events.append(event)
    return events


@dataclasses.dataclass(frozen=True, slots=True)
class _Found:
    """What a batch's facts name, read once for the batch."""

    chargers: dict[int, tuple[str, int, int]]  # pk: (charge_point_id, organization_id, site_id)
    sessions: dict[int, ChargingSession]
    costs: dict[int, SessionCost]  # by session id
    security_events: dict[int, SecurityEvent]


def _costs(session_ids: set[int]) -> dict[int, SessionCost]:
    """The prices of these sessions, by session id."""
    if not session_ids:
        return {}
    costs = SessionCost.objects.filter(session_id__in=session_ids).select_related("session", "tariff")
    return {cost.session_id: cost for cost in costs}


def _security_events(pks: set[int]) -> dict[int, SecurityEvent]:
    return {event.pk: event for event in SecurityEvent.objects.filter(pk__in=pks)} if pks else {}


def _event(fact: tuple[Any, ...], found: _Found) -> Event | None:
    kind, chargers, sessions = fact[0], found.chargers, found.sessions
    if kind == ONLINE:
        _, charger_id, online, at = fact
        if charger_id not in chargers:
            return None
        charge_point_id, organization, site_id = chargers[charger_id]
        event_type = "charger.connected" if online else "charger.disconnected"
        return Event(event_type, at, organization, {"charge_point_id": charge_point_id, "site_id": site_id})
    if kind == STATUS:
        change = fact[1]
        if change.charger_id not in chargers:
            return None
        charge_point_id, organization, site_id = chargers[change.charger_id]
        data = {
            "charge_point_id": charge_point_id, "site_id": site_id, "evse_id": change.evse_id,
            "connector_id": change.connector_id,
            "status": change.status, "previous_status": change.previous_status, "error_code": change.error_code,
        }  # fmt: skip
        return Event("connector.status_changed", change.timestamp, organization, data)
    if kind in (SESSION_STARTED, SESSION_ENDED):
        session = sessions.get(fact[1])
        if session is None:
            return None
        return _session_event(kind, session, fact[2])
    if kind == SESSION_UPDATED:
        readings = fact[1]
        session = sessions.get(readings.session_id)
        return _updated_event(session, readings) if session is not None else None
    if kind == BOOTED:
        return _boot_event(fact[1], chargers)
    if kind == SESSION_PRICED:
        cost = found.costs.get(fact[1])
        return _priced_event(cost, chargers) if cost is not None else None
    if kind == SECURITY:
        security_event = found.security_events.get(fact[1])
        return _security_event(security_event, chargers) if security_event is not None else None
    if kind == COMMAND:
        _, command_id, charger_id, intent, status, at = fact
        if charger_id not in chargers:
            return None
        charge_point_id, organization, site_id = chargers[charger_id]
        data = {
            "command_id": command_id, "charge_point_id": charge_point_id, "site_id": site_id, "intent": intent,
            "status": status,
        }  # fmt: skip
        return Event("command.settled", at, organization, data)
    if kind == ALERT:
        return _alert_event(fact[1], chargers)
    return None


def _alert_event(alert: AlertFact, chargers: dict) -> Event:
    charge_point_id, _, site_id = chargers.get(alert.charger_id, (None, None, None))
    data: dict[str, Any] = {
        "alert_id": alert.alert_id, "kind": alert.kind, "summary": alert.summary,
        "charge_point_id": charge_point_id, "site_id": site_id,
    }  # fmt: skip
    if alert.state == "resolved":
        return Event("alert.resolved", alert.at, alert.organization_id, {**data, "resolution": alert.resolution})
    return Event("alert.raised", alert.at, alert.organization_id, data)


def _boot_event(boot: ChargerBoot, chargers: dict) -> Event | None:
    if boot.charger_id not in chargers:
        return None
    charge_point_id, organization, site_id = chargers[boot.charger_id]
    data = {
        "charge_point_id": charge_point_id, "site_id": site_id, "registration_status": boot.registration_status,
        "reason": boot.reason, "firmware_version": boot.firmware_version,
    }  # fmt: skip
    return Event("charger.booted", boot.at, organization, data)


def _priced_event(cost: SessionCost, chargers: dict) -> Event | None:
    if cost.session.charger_id not in chargers:
        return None
    charge_point_id, organization, site_id = chargers[cost.session.charger_id]
    data = {
        "session_id": cost.session_id, "charge_point_id": charge_point_id, "site_id": site_id,
        "currency": cost.currency, "net": str(cost.net), "vat": str(cost.vat), "total": str(cost.total),
        "tariff_id": cost.tariff_id, "tariff": cost.tariff.name if cost.tariff else "",
    }  # fmt: skip
    return Event("session.priced", cost.computed_at, organization, data)


def _security_event(event: SecurityEvent, chargers: dict) -> Event | None:
    """Only an event about a registered charger has an organization to go to (a failed login
    with an unknown id has none)."""
    if event.charger_id not in chargers:
        return None
    charge_point_id, organization, site_id = chargers[event.charger_id]
    data = {
        "security_event_id": event.pk, "charge_point_id": charge_point_id, "site_id": site_id, "kind": event.kind,
        "source": event.source, "severity": event.severity, "critical": event.critical,
        "tech_info": event.tech_info, "occurred_at": utc_text(event.occurred_at or event.timestamp),
    }  # fmt: skip
    return Event("security_event.recorded", event.timestamp, organization, data)


def _session_event(kind: str, session: ChargingSession, at: dt.datetime) -> Event:
    data = _session_data(session)
    if kind == SESSION_ENDED:
        data.update(
            stopped_at=utc_text(session.stopped_at), energy_wh=session.energy_wh, stop_reason=session.stop_reason
        )
        return Event("session.ended", session.stopped_at or at, session.charger.site.organization_id, data)
    return Event("session.started", session.started_at or at, session.charger.site.organization_id, data)


def _updated_event(session: ChargingSession, readings: SessionReadings) -> Event:
    """The readings as the batch of meter values left them (the session may have moved on since)."""
    data = {**_session_data(session), "energy_wh": readings.energy_wh, "power_w": readings.power_w}
    return Event("session.updated", readings.at, session.charger.site.organization_id, data)


def _session_data(session: ChargingSession) -> dict[str, Any]:
    return {
        "session_id": session.pk,
        "charge_point_id": session.charger.charge_point_id,
        "site_id": session.charger.site_id,
        "evse_id": session.connector.evse_id,
        "connector_id": session.connector.connector_id,
        "id_tag": session.id_tag,
        "started_at": utc_text(session.started_at),
    }


# --- Facts as JSON (the Celery task's argument) -------------------------------------------------


def encode_fact(fact: tuple[Any, ...]) -> list[Any]:
    return [_encode(value) for value in fact]


def decode_fact(encoded: list[Any]) -> tuple[Any, ...]:
    return tuple(_decode(value) for value in encoded)


# The dataclasses facts carry, by the name that tags them in JSON.
FACT_CLASSES: dict[str, type] = {
    "status_change": StatusChange, "alert": AlertFact, "boot": ChargerBoot, "readings": SessionReadings,
}  # fmt: skip


FACT_CLASS_NAMES = {cls: name for name, cls in FACT_CLASSES.items()}


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    name = FACT_CLASS_NAMES.get(type(value))
    if name is not None:
        return {name: {field.name: _encode(getattr(value, field.name)) for field in dataclasses.fields(value)}}
    return value


def _decode(value: Any) -> Any:
    if not isinstance(value, dict) or len(value) != 1:
        return value
    [(name, fields)] = value.items()
    if name == "datetime":
        return dt.datetime.fromisoformat(fields)
    if name in FACT_CLASSES:
        return FACT_CLASSES[name](**{key: _decode(item) for key, item in fields.items()})
    return value
