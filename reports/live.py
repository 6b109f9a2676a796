"""The dashboard's live feed: charger and session events fanned out over the channel layer to
the browsers of the organizations that may see them (tenant-scoped groups).

Receivers run after the charger's transaction has committed, in the thread that wrote it,
and only queue the event: in a server process a publisher task on the event loop sends what
queued every PUBLISH_INTERVAL seconds, resolving who may see each charger with one query and
sending one message per group. The charger's reply never waits for a browser. Where no
publisher runs (a Celery worker, a management command, unit tests) events are sent at once.
A failure to broadcast is logged and goes no further."""

import asyncio
import datetime as dt
import logging
from collections import defaultdict, deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from django.dispatch import receiver

from charging.models import ChargingSession
from charging.signals import session_completed, session_started
from common.db import with_fresh_connection
from common.times import format_local
from sites.models import Charger, Connector
from sites.signals import DeviceProblem, StatusChange, device_problems_reported, online_changed, status_changed

logger = logging.getLogger(__name__)

# Platform administrators (superusers) see every organization's events.
PLATFORM_GROUP = "dashboard.platform"
EVENTS_TYPE = "dashboard.events"
PUBLISH_INTERVAL = 0.2

_pending: deque[tuple[int, dict]] = deque()
_publisher: asyncio.Task | None = None
_lookup_thread: ThreadPoolExecutor | None = None


def organization_group(organization_id: int) -> str:
    return f"dashboard.org.{organization_id}"


def audiences(charger_ids: set[int]) -> dict[int, tuple[dict, list[str]]]:
    """Per charger: its identity for the event, and the groups that may see it: the platform,
    its owner and the partners it is shared with (one query for all)."""
    found: dict[int, tuple[dict, list[str]]] = {}
    rows = Charger.objects.filter(pk__in=charger_ids).values(
        "id", "charge_point_id", "site_id", "site__timezone", "site__organization_id", "shares__partner_id"
    )
    for row in rows:
        _, groups = found.setdefault(
            row["id"],
            (
                {
                    "charge_point_id": row["charge_point_id"],
                    "site_id": row["site_id"],
                    "time_zone": row["site__timezone"],
                },
                [PLATFORM_GROUP, organization_group(row["site__organization_id"])],
            ),
        )
        if row["shares__partner_id"] is not None:
            groups.append(organization_group(row["shares__partner_id"]))
    return found


def connector_statuses(charger_ids: set[int]) -> dict[int, list[str]]:
    """The states of these chargers' connectors (one query): a charger going online or offline
    moves them between "Offline" and their status on the map."""
    statuses: dict[int, list[str]] = defaultdict(list)
    if charger_ids:
        for charger_id, status in Connector.objects.filter(charger_id__in=charger_ids).values_list(
            "charger_id", "status"
        ):
            statuses[charger_id].append(status)
    return statuses


def resolve(batch: list[tuple[int, dict]]) -> tuple[dict, dict]:
    """What publishing this batch needs from the database: audiences and connector states."""
    connecting = {charger_id for charger_id, event in batch if event["type"] == "connection"}
    return audiences({charger_id for charger_id, _ in batch}), connector_statuses(connecting)


def events_by_group(batch: list[tuple[int, dict]], known: dict, statuses: dict) -> dict[str, list]:
    by_group: dict[str, list] = defaultdict(list)
    for charger_id, event in batch:
        if charger_id not in known:
            continue
        identity, groups = known[charger_id]
        full = {**event, **identity}
        if event.get("timestamp"):  # in words, in the charger's site time zone, for the page
            full["time"] = format_local(dt.datetime.fromisoformat(event["timestamp"]), identity["time_zone"])
        if event["type"] == "connection":
            full["connector_statuses"] = statuses.get(charger_id, [])
        for group in groups:
            by_group[group].append(full)
    return by_group


async def _send(by_group: dict[str, list]) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    for group, events in by_group.items():
        await layer.group_send(group, {"type": EVENTS_TYPE, "events": events})


def queue_event(charger_id: int, event: dict) -> None:
    """Publish an event about a charger: queued for the publisher, or sent now without one."""
    if _publisher is not None and not _publisher.done():
        _pending.append((charger_id, event))
        return
    try:
        batch = [(charger_id, event)]
        async_to_sync(_send)(events_by_group(batch, *resolve(batch)))
    except Exception:
        logger.exception("dashboard event not broadcast: %s", event.get("type"))


async def publish_pending() -> None:
    if not _pending:
        return
    batch = [_pending.popleft() for _ in range(len(_pending))]
    global _lookup_thread
    if _lookup_thread is None:
        _lookup_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="dashboard-publisher")
    in_thread = sync_to_async(with_fresh_connection, thread_sensitive=False, executor=_lookup_thread)
    try:
        await _send(events_by_group(batch, *await in_thread(resolve, batch)))
    except Exception:
        logger.exception("dashboard: %d event(s) not broadcast", len(batch))


async def _publisher_loop() -> None:
    while True:
        await asyncio.sleep(PUBLISH_INTERVAL)
        await publish_pending()


def start_dashboard_publisher() -> None:
    """Start the publisher on the running event loop (the server's lifespan). Idempotent."""
    global _publisher
    loop = asyncio.get_running_loop()
    if _publisher is None or _publisher.done() or _publisher.get_loop() is not loop:
        _publisher = loop.create_task(_publisher_loop(), name="dashboard-publisher")


async def stop_dashboard_publisher() -> None:
    global _publisher
    task, _publisher = _publisher, None
    if task is not None and not task.done():
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await publish_pending()


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value else None


@receiver(status_changed, dispatch_uid="reports.live.status")
def broadcast_status(*, changes: list[StatusChange], **kwargs) -> None:
    for change in changes:
        event = {
            "type": "status",
            "connector_id": change.connector_id,
            "evse_id": change.evse_id,  # 2.0.1: the connector is numbered within this EVSE; None for 1.6
            "previous_status": change.previous_status,
            "status": change.status,
            "error_code": change.error_code,
            "timestamp": _iso(change.timestamp),
        }
        queue_event(change.charger_id, event)


@receiver(device_problems_reported, dispatch_uid="reports.live.problems")
def broadcast_problems(*, problems: list[DeviceProblem], **kwargs) -> None:
    """A 2.0.1 station's problems (NotifyEvent) join the dashboard's recent faults."""
    for problem in problems:
        queue_event(problem.charger_id, problem_event(problem))


def problem_event(problem: DeviceProblem) -> dict:
    """The fault row of a problem: the shape of a status event's fault row (see dashboard.recent_faults)."""
    return {
        "type": "problem",
        "connector_id": problem.connector_id or problem.evse_id,
        "evse_id": problem.evse_id,
        "status": "Problem",
        "error_code": problem.tech_code or f"{problem.variable}={problem.actual_value}"[:50],
        "component": problem.component,
        "variable": problem.variable,
        "info": problem.tech_info,
        "timestamp": _iso(problem.timestamp),
    }


@receiver(online_changed, dispatch_uid="reports.live.online")
def broadcast_online(*, charger_id: int, online: bool, at: dt.datetime, **kwargs) -> None:
    queue_event(charger_id, {"type": "connection", "online": online, "at": _iso(at)})


def _session_events(kind: str, session_ids: list[int]) -> None:
    sessions = ChargingSession.objects.filter(pk__in=session_ids).values(
        "pk",
        "charger_id",
        "connector__connector_id",
        "connector__evse_id",
        "transaction_id",
        "transaction_uid",
        "started_at",
        "stopped_at",
        "energy_wh",
    )
    for session in sessions:
        event = {
            "type": kind,
            "session_id": session["pk"],
            "connector_id": session["connector__connector_id"],
            "evse_id": session["connector__evse_id"],
            # The id the charger knows: our integer (1.6) or the station's own string (2.0.1).
            "transaction_id": (
                session["transaction_id"] if session["transaction_id"] is not None else session["transaction_uid"]
            ),
            "started_at": _iso(session["started_at"]),
            "stopped_at": _iso(session["stopped_at"]),
            "energy_wh": session["energy_wh"],
        }
        queue_event(session["charger_id"], event)


@receiver(session_started, dispatch_uid="reports.live.session_started")
def broadcast_sessions_started(*, session_ids: list[int], **kwargs) -> None:
    _session_events("session.started", session_ids)


@receiver(session_completed, dispatch_uid="reports.live.session_completed")
def broadcast_sessions_completed(*, session_ids: list[int], **kwargs) -> None:
    _session_events("session.stopped", session_ids)
