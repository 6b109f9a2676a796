"""From the facts the receivers buffered to events (integrations.events), in a fixed number of
queries per batch whatever its size: one for the chargers named, one for the sessions."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from charging.models import ChargingSession
from common.signals import AlertFact
from integrations.events import Event, utc_text
from sites.models import Charger
from sites.signals import StatusChange

# Facts, as integrations.receivers records them (plain tuples: cheap where they are made).
ONLINE = "online"  # (ONLINE, charger_id, online: bool, at)
STATUS = "status"  # (STATUS, StatusChange)
SESSION_STARTED = "session_started"  # (SESSION_STARTED, session_id, at)
SESSION_ENDED = "session_ended"  # (SESSION_ENDED, session_id, at)
COMMAND = "command"  # (COMMAND, command_id, charger_id, intent, status, at)
ALERT = "alert"  # (ALERT, AlertFact)


def build_events(facts: list[tuple[Any, ...]]) -> list[Event]:
    charger_ids = {fact[1] for fact in facts if fact[0] == ONLINE}
    charger_ids |= {fact[2] for fact in facts if fact[0] == COMMAND}
    charger_ids |= {fact[1].charger_id for fact in facts if fact[0] in (STATUS, ALERT) and fact[1].charger_id}
    session_ids = {fact[1] for fact in facts if fact[0] in (SESSION_STARTED, SESSION_ENDED)}
    sessions = {
        session.pk: session
        for session in ChargingSession.objects.filter(pk__in=session_ids).select_related("charger__site", "connector")
    }
    charger_ids |= {session.charger_id for session in sessions.values()}
    chargers = {
        pk: (charge_point_id, organization_id, site_id)
        for pk, charge_point_id, organization_id, site_id in Charger.objects.filter(pk__in=charger_ids).values_list(
            "pk", "charge_point_id", "site__organization_id", "site_id"
        )
    }
    events: list[Event] = []
    for fact in facts:
        event = _event(fact, chargers, sessions)
        if event is not None:
            events.append(event)
    return events


def _event(fact: tuple[Any, ...], chargers: dict, sessions: dict) -> Event | None:
    kind = fact[0]
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


def _session_event(kind: str, session: ChargingSession, at: dt.datetime) -> Event:
    data: dict[str, Any] = {
        "session_id": session.pk,
        "charge_point_id": session.charger.charge_point_id,
        "site_id": session.charger.site_id,
        "evse_id": session.connector.evse_id,
        "connector_id": session.connector.connector_id,
        "id_tag": session.id_tag,
        "started_at": utc_text(session.started_at),
    }
    if kind == SESSION_ENDED:
        data.update(
            stopped_at=utc_text(session.stopped_at), energy_wh=session.energy_wh, stop_reason=session.stop_reason
        )
        return Event("session.ended", session.stopped_at or at, session.charger.site.organization_id, data)
    return Event("session.started", session.started_at or at, session.charger.site.organization_id, data)


# --- Facts as JSON (the Celery task's argument) -------------------------------------------------


def encode_fact(fact: tuple[Any, ...]) -> list[Any]:
    return [_encode(value) for value in fact]


def decode_fact(encoded: list[Any]) -> tuple[Any, ...]:
    return tuple(_decode(value) for value in encoded)


def _encode(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return {"datetime": value.isoformat()}
    if isinstance(value, StatusChange):
        return {"status_change": {**dataclasses.asdict(value), "timestamp": value.timestamp.isoformat()}}
    if isinstance(value, AlertFact):
        return {"alert": {**dataclasses.asdict(value), "at": value.at.isoformat()}}
    return value


def _decode(value: Any) -> Any:
    if isinstance(value, dict) and "datetime" in value:
        return dt.datetime.fromisoformat(value["datetime"])
    if isinstance(value, dict) and "status_change" in value:
        fields = value["status_change"]
        return StatusChange(**{**fields, "timestamp": dt.datetime.fromisoformat(fields["timestamp"])})
    if isinstance(value, dict) and "alert" in value:
        fields = value["alert"]
        return AlertFact(**{**fields, "at": dt.datetime.fromisoformat(fields["at"])})
    return value
