"""The outbound event vocabulary (issue 20): what happened, version-neutral, with the public ids
of the objects it is about. One shape for every sink (the Redis stream today):

    {"id": UUID, "type": "session.started", "occurred_at": ISO 8601 UTC,
     "organization": id, "data": {...}}

Types and their `data` (new fields may be added; none is renamed or removed); every event
about a charger also carries its `site_id`:

- charger.connected / charger.disconnected: charge_point_id
- charger.booted: charge_point_id, registration_status, reason (2.0.1), firmware_version
- connector.status_changed: charge_point_id, evse_id (2.0.1, else null), connector_id (0: the
  charger itself), status, previous_status, error_code
- session.started: session_id, charge_point_id, evse_id, connector_id, id_tag, started_at
- session.updated: the same, and energy_wh, power_w (throttled per session)
- session.ended: the same, and stopped_at, energy_wh, stop_reason
- session.priced: session_id, charge_point_id, currency, net, vat, total (decimal strings),
  tariff_id, tariff
- command.settled: command_id, charge_point_id, intent, status
- alert.raised: alert_id, kind (charger_offline, charger_fault, session_stuck, security_event),
  summary, charge_point_id (null for an alert about no charger)
- alert.resolved: the same, and resolution
- security_event.recorded: security_event_id, charge_point_id, kind, source (charger, csms),
  severity, critical, tech_info, occurred_at
"""

import datetime as dt
import uuid
from dataclasses import dataclass, field
from typing import Any

EVENT_TYPES: dict[str, str] = {
    "charger.connected": "A charger opened its WebSocket connection",
    "charger.disconnected": "A charger's connection closed (or it was found gone)",
    "charger.booted": "A charger booted (BootNotification) and was answered Accepted, Pending or Rejected",
    "connector.status_changed": "A charger or connector reported a new state",
    "session.started": "A charging session started",
    "session.updated": "A running session's energy and power so far (at most one a minute per session)",
    "session.ended": "A charging session ended",
    "session.priced": "A completed session was priced (again, after a tariff correction)",
    "command.settled": "A command to a charger finished: accepted, rejected, failed or expired",
    "alert.raised": "An alert was raised for the operators (charger offline, fault, stuck session, security)",
    "alert.resolved": "An alert was resolved, by a person or because its condition ended",
    "security_event.recorded": "A security event: reported by a charger or raised by the central system",
}


@dataclass(frozen=True, slots=True)
class Event:
    type: str
    occurred_at: dt.datetime
    organization: int
    data: dict[str, Any]
    id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": self.type,
            "occurred_at": utc_text(self.occurred_at),
            "organization": self.organization,
            "data": self.data,
        }


def organization_group(organization_id: int) -> str:
    """The channel layer group of one organization's events (the /ws/events sockets)."""
    return f"events.org.{organization_id}"


def utc_text(moment: dt.datetime | None) -> str | None:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z") if moment else None
