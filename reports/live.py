"""The dashboard's live feed: charger and session events fanned out over the channel layer to
the browsers of the organizations that may see them (tenant-scoped groups).

Receivers run after the charger's transaction has committed, in the thread that handled the
message; a failure to broadcast is logged and never reaches the charger's reply."""

import datetime as dt
import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.dispatch import receiver

from charging.models import ChargingSession
from charging.signals import session_completed, session_started
from sites.models import Charger
from sites.signals import status_changed

logger = logging.getLogger(__name__)

# Platform administrators (superusers) see every organization's events.
PLATFORM_GROUP = "dashboard.platform"
EVENT_TYPE = "dashboard.event"


def organization_group(organization_id: int) -> str:
    return f"dashboard.org.{organization_id}"


def _audience(charger_id: int) -> tuple[dict, set[int]] | None:
    """The charger's identity, and the organizations that see it: its owner and the partners
    it is shared with (one query)."""
    rows = list(
        Charger.objects.filter(pk=charger_id).values(
            "charge_point_id", "site_id", "site__organization_id", "shares__partner_id"
        )
    )
    if not rows:
        return None
    first = rows[0]
    organizations = {first["site__organization_id"]} | {row["shares__partner_id"] for row in rows}
    organizations.discard(None)
    return {"charge_point_id": first["charge_point_id"], "site_id": first["site_id"]}, organizations


def publish(organization_ids: set[int], event: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    message = {"type": EVENT_TYPE, "event": event}
    try:
        for group in [PLATFORM_GROUP, *(organization_group(pk) for pk in sorted(organization_ids))]:
            async_to_sync(layer.group_send)(group, message)
    except Exception:
        logger.exception("dashboard event not broadcast: %s", event.get("type"))


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@receiver(status_changed, dispatch_uid="reports.live.status")
def broadcast_status(
    *,
    charger_id: int,
    connector_id: int,
    previous_status: str,
    status: str,
    error_code: str,
    timestamp: dt.datetime,
    **kwargs,
) -> None:
    audience = _audience(charger_id)
    if audience is None:
        return
    charger, organizations = audience
    event = {
        "type": "status",
        **charger,
        "connector_id": connector_id,
        "previous_status": previous_status,
        "status": status,
        "error_code": error_code,
        "timestamp": _iso(timestamp),
    }
    publish(organizations, event)


def _session_event(kind: str, session_id: int) -> None:
    session = (
        ChargingSession.objects.filter(pk=session_id)
        .values("charger_id", "connector__connector_id", "started_at", "stopped_at", "energy_wh")
        .first()
    )
    if session is None:
        return
    audience = _audience(session["charger_id"])
    if audience is None:
        return
    charger, organizations = audience
    event = {
        "type": kind,
        **charger,
        "session_id": session_id,
        "connector_id": session["connector__connector_id"],
        "started_at": _iso(session["started_at"]),
        "stopped_at": _iso(session["stopped_at"]),
        "energy_wh": session["energy_wh"],
    }
    publish(organizations, event)


@receiver(session_started, dispatch_uid="reports.live.session_started")
def broadcast_session_started(*, session_id: int, **kwargs) -> None:
    _session_event("session.started", session_id)


@receiver(session_completed, dispatch_uid="reports.live.session_completed")
def broadcast_session_completed(*, session_id: int, **kwargs) -> None:
    _session_event("session.stopped", session_id)
