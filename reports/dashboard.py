"""Reads behind the operator dashboard (the admin index). Every figure is scoped to the
chargers the user may see (`sites.selectors.chargers_visible_to`) and aggregated in the
database: the page stays one handful of queries whatever the fleet's size."""

import datetime as dt
from dataclasses import asdict, dataclass

from django.conf import settings
from django.db.models import Count, F, Q, QuerySet, Sum
from django.db.models.functions import TruncDate
from django.urls import reverse
from django.utils import timezone

from charging.models import ChargingSession, SessionState
from common.times import format_local
from reports.analytics_admin import PAGES
from reports.selectors import connector_label, unresolved_alert_count
from sites.device_model.models import DeviceEvent
from sites.device_model.selectors import problem_events
from sites.models import Connector, ConnectorStatus, SecurityEvent, Site, StatusNotificationRecord
from sites.selectors import chargers_visible_to, fault_reports, needing_attention

CHART_DAYS = 14
RECENT_CONNECTORS = 50
RECENT_FAULTS = 10


def _connectors(user) -> QuerySet[Connector]:
    return Connector.objects.filter(charger__in=chargers_visible_to(user).values("pk"))


def fleet_counts(user) -> dict:
    chargers = chargers_visible_to(user).aggregate(total=Count("pk"), online=Count("pk", filter=Q(is_online=True)))
    by_status = dict(_connectors(user).values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {
        "chargers": chargers["total"],
        "online": chargers["online"],
        "offline": chargers["total"] - chargers["online"],
        "connectors_by_status": {status: by_status.get(status, 0) for status in ConnectorStatus.values},
    }


def local_day_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The start and end of a day in the server's time zone (settings.TIME_ZONE), as aware datetimes."""
    zone = timezone.get_default_timezone()
    start = dt.datetime.combine(day, dt.time.min, tzinfo=zone)
    return start, start + dt.timedelta(days=1)


def today_totals(user, *, now: dt.datetime) -> dict:
    start, end = local_day_bounds(timezone.localdate(now))
    sessions = ChargingSession.objects.filter(charger__in=chargers_visible_to(user).values("pk"))
    started = sessions.filter(started_at__gte=start, started_at__lt=end).count()
    energy_wh = (
        sessions.filter(state=SessionState.COMPLETED, stopped_at__gte=start, stopped_at__lt=end).aggregate(
            wh=Sum("energy_wh")
        )["wh"]
        or 0
    )
    return {
        "sessions_started": started,
        "active_sessions": sessions.filter(state=SessionState.ACTIVE).count(),
        "energy_kwh": round(energy_wh / 1000, 3),
        "time_zone": settings.TIME_ZONE,
    }


def daily_activity(user, *, now: dt.datetime, days: int = CHART_DAYS) -> dict:
    """Sessions started and energy of sessions completed per day, for the last `days` days."""
    today = timezone.localdate(now)
    first_day = today - dt.timedelta(days=days - 1)
    since, _ = local_day_bounds(first_day)
    zone = timezone.get_default_timezone()
    sessions = ChargingSession.objects.filter(charger__in=chargers_visible_to(user).values("pk"))
    started = dict(
        sessions.filter(started_at__gte=since)
        .annotate(day=TruncDate("started_at", tzinfo=zone))
        .values("day")
        .annotate(n=Count("pk"))
        .values_list("day", "n")
    )
    energy = dict(
        sessions.filter(state=SessionState.COMPLETED, stopped_at__gte=since)
        .annotate(day=TruncDate("stopped_at", tzinfo=zone))
        .values("day")
        .annotate(wh=Sum("energy_wh"))
        .values_list("day", "wh")
    )
    labels = [first_day + dt.timedelta(days=offset) for offset in range(days)]
    return {
        "labels": [day.isoformat() for day in labels],
        "sessions": [started.get(day, 0) for day in labels],
        "energy_kwh": [round((energy.get(day) or 0) / 1000, 3) for day in labels],
    }


def recent_faults(user, *, limit: int = RECENT_FAULTS) -> list[dict]:
    """The latest faults: 1.6/2.0.1 StatusNotifications with a fault, and the problems 2.0.1
    stations reported with NotifyEvent (status "Problem", the tech code or variable=value as
    the error code; sites.device_model.services.is_problem)."""
    visible = chargers_visible_to(user).values("pk")
    records = (
        StatusNotificationRecord.objects.filter(charger__in=visible)
        .filter(fault_reports())
        .order_by("-timestamp", "-pk")
        .values(
            "charger__charge_point_id", "charger__site__timezone", "evse_id", "connector_id", "status", "error_code",
            "info", "timestamp",
        )[:limit]
    )  # fmt: skip
    faults = [
        {
            "charge_point_id": row["charger__charge_point_id"],
            "connector_id": row["connector_id"],
            "evse_id": row["evse_id"],
            "connector": connector_label(row["evse_id"], row["connector_id"]),
            "status": row["status"],
            "error_code": row["error_code"],
            "info": row["info"],
            "timestamp": row["timestamp"],
            "zone": row["charger__site__timezone"],
        }
        for row in records
    ]
    problems = (
        DeviceEvent.objects.filter(problem_events(), charger__in=visible)
        .order_by("-timestamp", "-pk")
        .values(
            "charger__charge_point_id", "charger__site__timezone", "evse_id", "connector_id", "variable_name",
            "actual_value", "tech_code", "tech_info", "timestamp",
        )[:limit]
    )  # fmt: skip
    faults += [
        {
            "charge_point_id": row["charger__charge_point_id"],
            "connector_id": row["connector_id"] or row["evse_id"],
            "status": "Problem",
            "error_code": row["tech_code"] or f"{row['variable_name']}={row['actual_value']}"[:50],
            "info": row["tech_info"],
            "timestamp": row["timestamp"],
            "zone": row["charger__site__timezone"],
        }
        for row in problems
    ]
    faults.sort(key=lambda fault: fault["timestamp"], reverse=True)
    # The time as ISO 8601 for the page's script, and in words in the charger's site time zone.
    return [
        {
            **{key: value for key, value in fault.items() if key != "zone"},
            "timestamp": fault["timestamp"].isoformat(),
            "time": format_local(fault["timestamp"], fault["zone"]),
        }
        for fault in faults[:limit]
    ]


@dataclass(frozen=True, slots=True)
class SiteMarker:
    id: int
    name: str
    latitude: float
    longitude: float
    chargers: int
    online: int
    # Connector counts per status; offline chargers' connectors count as "Offline".
    states: dict[str, int]


def site_markers(user) -> list[dict]:
    """Sites with coordinates, with their connectors counted by state, for the map."""
    visible = chargers_visible_to(user).values("pk")
    sites = (
        Site.objects.filter(chargers__in=visible, latitude__isnull=False, longitude__isnull=False)
        .distinct()
        .values("id", "name", "latitude", "longitude")
    )
    charger_counts = {
        row["site_id"]: row
        for row in chargers_visible_to(user)
        .values("site_id")
        .annotate(n=Count("pk"), online=Count("pk", filter=Q(is_online=True)))
        .order_by()
    }
    states: dict[int, dict[str, int]] = {}
    connector_rows = (
        _connectors(user).values("charger__site_id", "charger__is_online", "status").annotate(n=Count("pk")).order_by()
    )
    for row in connector_rows:
        state = row["status"] if row["charger__is_online"] else "Offline"
        site_states = states.setdefault(row["charger__site_id"], {})
        site_states[state] = site_states.get(state, 0) + row["n"]
    return [
        asdict(
            SiteMarker(
                id=site["id"],
                name=site["name"],
                latitude=float(site["latitude"]),
                longitude=float(site["longitude"]),
                chargers=charger_counts.get(site["id"], {}).get("n", 0),
                online=charger_counts.get(site["id"], {}).get("online", 0),
                states=states.get(site["id"], {}),
            )
        )
        for site in sites
    ]


def connector_key(charge_point_id: str, evse_id: int | None, connector_id: int) -> str:
    """The dashboard row's key (data-connector), also built by dashboard.js from live events:
    "CP/1" for 1.6, "CP/evse-2/1" for 2.0.1 (two EVSEs each have a connector 1)."""
    if evse_id is None:
        return f"{charge_point_id}/{connector_id}"
    return f"{charge_point_id}/evse-{evse_id}/{connector_id}"


def recent_connectors(user, *, limit: int = RECENT_CONNECTORS) -> list[dict]:
    """The connectors whose state changed last; the live feed moves rows to the top."""
    rows = (
        _connectors(user)
        # Never-reported connectors last on every database (PostgreSQL sorts NULL first here).
        .order_by(F("status_timestamp").desc(nulls_last=True), "-pk")
        .values(
            "charger__charge_point_id",
            "charger__site_id",
            "charger__site__name",
            "charger__site__timezone",
            "evse_id",
            "connector_id",
            "status",
            "error_code",
            "status_timestamp",
        )[:limit]
    )
    return [
        {
            "charge_point_id": row["charger__charge_point_id"],
            "site_id": row["charger__site_id"],
            "site": row["charger__site__name"],
            "connector_id": row["connector_id"],
            # 2.0.1 numbers connectors per EVSE: (evse_id, connector_id) names one; None for 1.6.
            "evse_id": row["evse_id"],
            "connector": connector_label(row["evse_id"], row["connector_id"]),
            "key": connector_key(row["charger__charge_point_id"], row["evse_id"], row["connector_id"]),
            "status": row["status"],
            "error_code": row["error_code"],
            "timestamp": row["status_timestamp"].isoformat() if row["status_timestamp"] else None,
            "time": format_local(row["status_timestamp"], row["charger__site__timezone"]),
        }
        for row in rows
    ]


def critical_security_events(user) -> dict:
    """How many critical security events of the user's chargers no one has acknowledged yet (they
    stand out until then, S13), and where to read them."""
    events = SecurityEvent.objects.filter(charger__in=chargers_visible_to(user).values("pk"))
    count = needing_attention(events).count()
    url = reverse("admin:sites_securityevent_changelist") + "?attention=raised"
    return {"count": count, "url": url}


def open_alerts(user) -> dict:
    """How many alerts are still unresolved (open or acknowledged), and where to handle them."""
    url = reverse("admin:reports_alert_changelist")
    return {"count": unresolved_alert_count(user), "url": url}


def dashboard_data(user, *, now: dt.datetime | None = None) -> dict:
    now = now or timezone.now()
    return {
        "fleet": fleet_counts(user),
        "security": critical_security_events(user),
        "alerts": open_alerts(user),
        "today": today_totals(user, now=now),
        "daily": daily_activity(user, now=now),
        "faults": recent_faults(user),
        "sites": site_markers(user),
        "connectors": recent_connectors(user),
        "statuses": list(ConnectorStatus.values),
        "map": {"tile_url": settings.DASHBOARD_TILE_URL, "attribution": settings.DASHBOARD_TILE_ATTRIBUTION},
    }


def report_links() -> list[tuple[str, str]]:
    """The analytics pages and the exports, linked from the dashboard."""
    links = [(page.title, reverse("analytics:page", args=[page.slug])) for page in PAGES.values()]
    return [*links, ("Session history exports", reverse("admin:reports_reportexport_changelist"))]


def dashboard_callback(request, context: dict) -> dict:
    """unfold's DASHBOARD_CALLBACK: the admin index gets the dashboard's figures."""
    context["dashboard"] = dashboard_data(request.user)
    context["report_links"] = report_links()
    return context
