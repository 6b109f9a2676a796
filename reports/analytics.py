"""Analytics selectors (issue 6): energy, sessions and revenue per period; connector
utilization; charger uptime and faults; peak load per site.

Every figure is aggregated by the database (GROUP BY, window functions); Python only merges
a handful of result rows and formats them. Every selector takes the acting user and sees
only the organizations where the user holds an admin-side role (partners, who work through
the API on shared chargers, see no analytics of the charger owner).

What the figures mean:

- Sessions, energy and revenue are counted in the period in which the session *started*
  (a session crossing midnight counts for the day it began). Periods are calendar days,
  ISO weeks (Monday) or months in one time zone per query: the `tz` given, else the time
  zone shared by all sites in scope, else UTC. Revenue is the SessionCost total (gross),
  summed per currency, never converted.
- Utilization: the share of the range a connector was occupied by a session (from its start
  to its stop, or to now while it runs), clipped to the range. This counts SuspendedEV /
  SuspendedEVSE time inside a session as busy: the connector was not available to others.
- Uptime: the share of the range the charger was online according to its ConnectionEvents,
  counted from its first connection (its first ConnectionEvent): time in the range before the
  charger ever connected is neither online nor offline, so the share is of
  [max(range start, first connection), range end). A charger that had not connected by the
  end of the range has no uptime (None: "never connected"), not 0 %. Faults:
  StatusNotifications in the range with an errorCode other than NoError or the status Faulted.
- Peak load: the highest 15-minute average power a site drew: per connector, the mean of
  its Power.Active.Import samples in the quarter hour, or, when it sent none, the energy
  register's increase in the quarter hour times four; summed over the site's connectors.
  Only phase totals of connectors (not connector 0, which would count twice) are used.
- Ranges end at "now" for shares: the future is neither idle nor offline.
"""

import datetime as dt
import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import (
    Case,
    Count,
    DateTimeField,
    DecimalField,
    DurationField,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    ExtractMinute,
    Greatest,
    Lag,
    Least,
    TruncDay,
    TruncHour,
    TruncMonth,
    TruncWeek,
)
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from accounts.roles import ADMIN_ROLES
from accounts.tenancy import organizations_of, scope_queryset
from billing.models import SessionCost
from charging.measurands import ACTIVE_POWER, ENERGY_REGISTER
from charging.models import ChargingSession, MeterValue
from sites.models import Charger, ConnectionEvent, Connector, Site, StatusNotificationRecord
from sites.selectors import fault_reports

PERIODS = {"day": TruncDay, "week": TruncWeek, "month": TruncMonth}
GROUPS = ("organization", "site", "charger")
# From a session, the group's id and display name.
GROUP_FIELDS = {
    "organization": ("charger__site__organization_id", "charger__site__organization__name"),
    "site": ("charger__site_id", "charger__site__name"),
    "charger": ("charger_id", "charger__charge_point_id"),
}
PEAK_BUCKET = dt.timedelta(minutes=15)
# How far before the range the energy register is read, so that the first increase inside
# the range has a previous reading to be measured from.
REGISTER_LOOKBACK = dt.timedelta(hours=1)
MAX_RANGE = dt.timedelta(days=400)
LATEST_FAULTS = 20


@dataclass(frozen=True, slots=True)
class AnalyticsQuery:
    """What to report on: [start, end) in `tz`, bucketed by `period`, grouped by `group_by`,
    optionally narrowed to one organization, site or charger (ids already checked against
    the user's scope by the form or serializer; the selectors scope again regardless)."""

    start: dt.datetime
    end: dt.datetime
    tz: zoneinfo.ZoneInfo
    period: str = "day"
    group_by: str = "site"
    organization_id: int | None = None
    site_id: int | None = None
    charger_id: int | None = None


def analytics_organizations(user) -> QuerySet:
    """The organizations whose analytics the user may see."""
    return organizations_of(user, roles=ADMIN_ROLES)


def scoped_sites(user) -> QuerySet[Site]:
    return scope_queryset(Site.objects.all(), user, "organization", roles=ADMIN_ROLES)


def scoped_chargers(user, query: AnalyticsQuery | None = None) -> QuerySet[Charger]:
    """The user's chargers (their organizations' own), narrowed by the query's filters."""
    chargers = scope_queryset(Charger.objects.all(), user, "site__organization", roles=ADMIN_ROLES)
    if query is not None:
        if query.organization_id:
            chargers = chargers.filter(site__organization_id=query.organization_id)
        if query.site_id:
            chargers = chargers.filter(site_id=query.site_id)
        if query.charger_id:
            chargers = chargers.filter(pk=query.charger_id)
    return chargers


def default_timezone(user, *, site_id: int | None = None) -> zoneinfo.ZoneInfo:
    """The time zone days are counted in: the site's, or the one all the user's sites share, else UTC."""
    sites = scoped_sites(user)
    if site_id:
        sites = sites.filter(pk=site_id)
    zones = list(sites.values_list("timezone", flat=True).distinct()[:2])
    return zoneinfo.ZoneInfo(zones[0] if len(zones) == 1 else "UTC")


def local_range(date_from: dt.date, date_to: dt.date, tz: zoneinfo.ZoneInfo) -> tuple[dt.datetime, dt.datetime]:
    """[midnight of date_from, midnight after date_to) in `tz`, as aware datetimes."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    return start, end


def _seconds(value: dt.timedelta | int | None) -> float:
    if value is None:
        return 0.0
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    return value / 1_000_000  # a database that sums durations as microseconds


def _share(part: float, whole: float) -> float:
    return round(part / whole, 4) if whole > 0 else 0.0


def _datetime(value: dt.datetime | str) -> dt.datetime:
    """A datetime from raw SQL: SQLite answers text, PostgreSQL naive or aware UTC."""
    if isinstance(value, str):
        value = parse_datetime(value)
    return value.replace(tzinfo=dt.UTC) if timezone.is_naive(value) else value.astimezone(dt.UTC)


def _when(moment: dt.datetime, tz: zoneinfo.ZoneInfo) -> str:
    return moment.astimezone(tz).isoformat()


# --- Energy, sessions and revenue per period ---------------------------------------------


@dataclass(slots=True)
class EnergyRow:
    period_start: str  # the bucket's first day, in the query's time zone
    group_id: int
    group: str
    sessions: int
    energy_kwh: float
    revenue: dict[str, str] = field(default_factory=dict)  # currency -> gross total


def energy_report(user, query: AnalyticsQuery) -> list[EnergyRow]:
    sessions = ChargingSession.objects.filter(
        charger__in=scoped_chargers(user, query), started_at__gte=query.start, started_at__lt=query.end
    )
    id_path, name_path = GROUP_FIELDS[query.group_by]
    trunc = PERIODS[query.period]
    totals = (
        sessions.annotate(bucket=trunc("started_at", tzinfo=query.tz), group_id=F(id_path), group=F(name_path))
        .values("bucket", "group_id", "group")
        .annotate(sessions=Count("id"), energy_wh=Sum("energy_wh"))
        .order_by("bucket", "group", "group_id")
    )
    revenue = (
        SessionCost.objects.filter(session__in=sessions)
        .annotate(bucket=trunc("session__started_at", tzinfo=query.tz), group_id=F(f"session__{id_path}"))
        .values("bucket", "group_id", "currency")
        .annotate(total=Sum("total"))
        .order_by("currency")
    )
    rows: dict[tuple, EnergyRow] = {}
    for total in totals:
        key = (total["bucket"], total["group_id"])
        rows[key] = EnergyRow(
            period_start=total["bucket"].astimezone(query.tz).date().isoformat(),
            group_id=total["group_id"],
            group=total["group"],
            sessions=total["sessions"],
            energy_kwh=round((total["energy_wh"] or 0) / 1000, 3),
        )
    for money in revenue:
        rows[(money["bucket"], money["group_id"])].revenue[money["currency"]] = f"{money['total']:.2f}"
    return list(rows.values())


def currencies(rows: Iterable[EnergyRow]) -> list[str]:
    return sorted({currency for row in rows for currency in row.revenue})


# --- Utilization per connector ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UtilizationRow:
    connector_pk: int
    charger: str
    connector_id: int
    evse_id: int | None
    site: str
    organization: str
    sessions: int
    busy_hours: float
    utilization: float  # 0..1 of the range (up to now)


def _range_end(query: AnalyticsQuery) -> dt.datetime:
    return min(query.end, timezone.now())


def _clipped(start_field: str, end_field: str, start: dt.datetime, end: dt.datetime) -> ExpressionWrapper:
    """The part of [start_field, end_field or `end`) inside [start, end), as a duration."""
    time = DateTimeField()
    clip_start = Greatest(F(start_field), Value(start, output_field=time), output_field=time)
    clip_end = Least(Coalesce(F(end_field), Value(end, output_field=time)), Value(end, output_field=time))
    return ExpressionWrapper(clip_end - clip_start, output_field=DurationField())


def utilization_report(user, query: AnalyticsQuery) -> list[UtilizationRow]:
    end = _range_end(query)
    window = (end - query.start).total_seconds()
    overlapping = Q(sessions__started_at__lt=end) & (
        Q(sessions__stopped_at__isnull=True) | Q(sessions__stopped_at__gt=query.start)
    )
    connectors = (
        Connector.objects.filter(charger__in=scoped_chargers(user, query))
        .annotate(
            busy=Sum(_clipped("sessions__started_at", "sessions__stopped_at", query.start, end), filter=overlapping),
            session_count=Count("sessions", filter=overlapping),
        )
        .values(
            "pk",
            "charger__charge_point_id",
            "connector_id",
            "evse_id",
            "charger__site__name",
            "charger__site__organization__name",
            "busy",
            "session_count",
        )
        .order_by(
            "charger__site__organization__name",
            "charger__site__name",
            "charger__charge_point_id",
            "evse_id",
            "connector_id",
        )
    )
    return [
        UtilizationRow(
            connector_pk=row["pk"],
            charger=row["charger__charge_point_id"],
            connector_id=row["connector_id"],
            evse_id=row["evse_id"],
            site=row["charger__site__name"],
            organization=row["charger__site__organization__name"],
            sessions=row["session_count"],
            busy_hours=round(_seconds(row["busy"]) / 3600, 3),
            utilization=_share(_seconds(row["busy"]), window),
        )
        for row in connectors
    ]


# --- Uptime and faults per charger --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class UptimeRow:
    charger_pk: int
    charger: str
    site: str
    organization: str
    online_hours: float
    # 0..1 of the range (up to now) since the charger's first connection; None: it had not
    # connected by the end of the range.
    uptime: float | None
    disconnections: int
    faults: int
    last_fault_at: str | None
    first_connected_at: str | None = None  # its first ConnectionEvent ever, in the query's zone


@dataclass(frozen=True, slots=True)
class FaultRow:
    charger: str
    connector_id: int
    timestamp: str
    status: str
    error_code: str
    info: str
    vendor_error_code: str
    evse_id: int | None = None  # 2.0.1: connector_id is numbered within this EVSE (last: CSV columns)


def _online_seconds(chargers: QuerySet[Charger], start: dt.datetime, end: dt.datetime) -> dict[int, float]:
    """Per charger, the time inside [start, end) between each online event and the event after it."""
    following = ConnectionEvent.objects.filter(charger=OuterRef("charger")).filter(
        Q(at__gt=OuterRef("at")) | Q(at=OuterRef("at"), pk__gt=OuterRef("pk"))
    )
    intervals = (
        ConnectionEvent.objects.filter(charger__in=chargers, kind=ConnectionEvent.Kind.ONLINE, at__lt=end)
        .annotate(next_at=Subquery(following.order_by("at", "pk").values("at")[:1]))
        .filter(Q(next_at__isnull=True) | Q(next_at__gt=start))
    )
    online = (
        intervals.values("charger")
        .annotate(online=Sum(_clipped("at", "next_at", start, end)))
        .order_by()
        .values_list("charger", "online")
    )
    return {charger_id: _seconds(seconds) for charger_id, seconds in online}


def _uptime(online_seconds: float, first_connected: dt.datetime | None, start: dt.datetime, end: dt.datetime):
    """The share of [max(start, first connection), end) online; None if it never connected by `end`."""
    if first_connected is None:
        return None
    counted_from = max(start, _datetime(first_connected))
    if counted_from >= end:
        return None
    return _share(online_seconds, (end - counted_from).total_seconds())


def uptime_report(user, query: AnalyticsQuery) -> list[UptimeRow]:
    end = _range_end(query)
    chargers = scoped_chargers(user, query)
    first_event = ConnectionEvent.objects.filter(charger=OuterRef("pk")).order_by("at", "pk").values("at")[:1]
    online = _online_seconds(chargers, query.start, end)
    in_range = Q(status_history__timestamp__gte=query.start, status_history__timestamp__lt=query.end)
    fault = in_range & fault_reports("status_history__")
    dropped = Q(
        connection_events__kind=ConnectionEvent.Kind.OFFLINE,
        connection_events__at__gte=query.start,
        connection_events__at__lt=query.end,
    )
    rows = (
        chargers.annotate(
            first_connected_at=Subquery(first_event, output_field=DateTimeField()),
            faults=Count("status_history", filter=fault, distinct=True),
            last_fault_at=Max("status_history__timestamp", filter=fault),
            disconnections=Count("connection_events", filter=dropped, distinct=True),
        )
        .values(
            "pk",
            "charge_point_id",
            "site__name",
            "site__organization__name",
            "faults",
            "last_fault_at",
            "disconnections",
            "first_connected_at",
        )
        .order_by("site__organization__name", "site__name", "charge_point_id")
    )
    return [
        UptimeRow(
            charger_pk=row["pk"],
            charger=row["charge_point_id"],
            site=row["site__name"],
            organization=row["site__organization__name"],
            online_hours=round(online.get(row["pk"], 0.0) / 3600, 3),
            uptime=_uptime(online.get(row["pk"], 0.0), row["first_connected_at"], query.start, end),
            disconnections=row["disconnections"],
            faults=row["faults"],
            last_fault_at=_when(row["last_fault_at"], query.tz) if row["last_fault_at"] else None,
            first_connected_at=(
                _when(_datetime(row["first_connected_at"]), query.tz) if row["first_connected_at"] else None
            ),
        )
        for row in rows
    ]


def latest_faults(user, query: AnalyticsQuery, *, limit: int = LATEST_FAULTS) -> list[FaultRow]:
    records = (
        StatusNotificationRecord.objects.filter(
            fault_reports(),
            charger__in=scoped_chargers(user, query),
            timestamp__gte=query.start,
            timestamp__lt=query.end,
        )
        .select_related("charger")
        .order_by("-timestamp", "-pk")[:limit]
    )
    return [
        FaultRow(
            charger=record.charger.charge_point_id,
            connector_id=record.connector_id,
            timestamp=_when(record.timestamp, query.tz),
            status=record.status,
            error_code=record.error_code,
            info=record.info,
            vendor_error_code=record.vendor_error_code,
            evse_id=record.evse_id,
        )
        for record in records
    ]


# --- Peak load per site -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PeakLoadRow:
    site_pk: int
    site: str
    organization: str
    peak_kw: float | None
    peak_at: str | None  # start of the quarter hour, in the query's time zone
    source: str  # "power" (Power.Active.Import samples), "energy" (register increases) or ""


def _samples_sql(chargers: QuerySet[Charger], start: dt.datetime, end: dt.datetime) -> tuple[str, tuple]:
    """SQL of one row per usable sample: its site, connector, quarter hour (UTC hour and
    quarter 0-3; every time zone's offset is a multiple of 15 minutes, so these are local
    quarter hours too), power in W, register in Wh and the connector's previous register."""
    number = DecimalField(max_digits=24, decimal_places=4)
    scaled = Case(When(unit__in=["kW", "kWh"], then=F("value") * 1000), default=F("value"), output_field=number)
    samples = (
        MeterValue.objects.filter(
            charger__in=chargers,
            connector__isnull=False,
            phase="",
            value__isnull=False,
            measurand__in=[ACTIVE_POWER, ENERGY_REGISTER],
            timestamp__gte=start - REGISTER_LOOKBACK,
            timestamp__lt=end,
        )
        .annotate(
            site_key=F("charger__site_id"),
            connector_key=F("connector_id"),
            hour=TruncHour("timestamp", tzinfo=dt.UTC),
            quarter=ExpressionWrapper(
                Cast(ExtractMinute("timestamp", tzinfo=dt.UTC), IntegerField()) / Value(15),
                output_field=IntegerField(),
            ),
            sample_at=F("timestamp"),
            kind=F("measurand"),
            amount=scaled,
            previous=Window(
                Lag(scaled), partition_by=[F("connector_id"), F("measurand")], order_by=[F("timestamp"), F("id")]
            ),
        )
        .values("site_key", "connector_key", "hour", "quarter", "sample_at", "kind", "amount", "previous")
        .order_by()
    )
    return samples.query.sql_with_params()


def _peak_buckets(chargers: QuerySet[Charger], start: dt.datetime, end: dt.datetime) -> list[tuple]:
    """(site, hour, quarter, load W, from power 0/1) of each site's highest quarter hour.
    Three levels the ORM cannot nest (window, then two GROUP BYs, then a ranking), so the
    ORM-built sample query is wrapped in plain, portable SQL (SQLite and PostgreSQL)."""
    samples, params = _samples_sql(chargers, start, end)
    sql = f"""
        SELECT site_key, hour, quarter, load_w, from_power FROM (
            SELECT site_key, hour, quarter, load_w, from_power,
                   ROW_NUMBER() OVER (PARTITION BY site_key ORDER BY load_w DESC, hour, quarter) AS position
            FROM (
                SELECT site_key, hour, quarter, SUM(load_w) AS load_w, MAX(from_power) AS from_power
                FROM (
                    SELECT site_key, connector_key, hour, quarter,
                           COALESCE(
                               AVG(CASE WHEN kind = %s THEN amount END),
                               SUM(CASE WHEN kind = %s AND amount > previous THEN amount - previous END) * 4
                           ) AS load_w,
                           MAX(CASE WHEN kind = %s THEN 1 ELSE 0 END) AS from_power
                    FROM ({samples}) AS samples
                    WHERE sample_at >= %s
                    GROUP BY site_key, connector_key, hour, quarter
                ) AS per_connector
                WHERE load_w IS NOT NULL
                GROUP BY site_key, hour, quarter
            ) AS per_site
        ) AS ranked
        WHERE position = 1
    """  # noqa: S608 - only ORM-generated SQL is interpolated; values are parameters
    start_param = connection.ops.adapt_datetimefield_value(start)
    with connection.cursor() as cursor:
        cursor.execute(sql, (ACTIVE_POWER, ENERGY_REGISTER, ACTIVE_POWER, *params, start_param))
        return cursor.fetchall()


def peak_load_report(user, query: AnalyticsQuery) -> list[PeakLoadRow]:
    chargers = scoped_chargers(user, query)
    peaks = {row[0]: row for row in _peak_buckets(chargers, query.start, query.end)}
    sites = (
        scoped_sites(user)
        .filter(pk__in=chargers.values("site_id"))
        .values("pk", "name", "organization__name")
        .order_by("organization__name", "name")
    )
    rows = []
    for site in sites:
        peak = peaks.get(site["pk"])
        if peak is None or peak[3] is None:
            rows.append(PeakLoadRow(site["pk"], site["name"], site["organization__name"], None, None, ""))
            continue
        _, hour, quarter, load_w, from_power = peak
        at = _datetime(hour) + int(quarter) * PEAK_BUCKET
        rows.append(
            PeakLoadRow(
                site_pk=site["pk"],
                site=site["name"],
                organization=site["organization__name"],
                peak_kw=round(float(Decimal(str(load_w))) / 1000, 3),
                peak_at=_when(at, query.tz),
                source="power" if from_power else "energy",
            )
        )
    return rows


# --- Inputs shared by the admin form and the API serializer ---------------------------------

DEFAULT_DAYS = 30
# No charging data is older; and before 1972 some zones' offsets had seconds (local mean time),
# which an ISO 8601 / RFC 3339 timestamp cannot carry.
EARLIEST_DATE = dt.date(2000, 1, 1)


def validate_dates(date_from: dt.date | None, date_to: dt.date | None, today: dt.date) -> tuple[dt.date, dt.date]:
    """The date range to report on (the last 30 days by default); ValueError says what is wrong."""
    date_to = date_to or today
    date_from = date_from or date_to - dt.timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise ValueError("date_from must not be after date_to.")
    if date_from < EARLIEST_DATE:
        raise ValueError(f"Dates start at {EARLIEST_DATE.isoformat()}.")
    if date_to - date_from > MAX_RANGE:
        raise ValueError(f"The range may span at most {MAX_RANGE.days} days.")
    return date_from, date_to


def build_query(
    user,
    *,
    period: str = "day",
    group_by: str = "site",
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    tz: str = "",
    organization_id: int | None = None,
    site_id: int | None = None,
    charger_id: int | None = None,
) -> AnalyticsQuery:
    """An AnalyticsQuery from validated request parameters (ValueError for a bad range or zone)."""
    try:
        zone = zoneinfo.ZoneInfo(tz) if tz else default_timezone(user, site_id=site_id)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as error:
        raise ValueError(f"Unknown time zone {tz!r}.") from error
    date_from, date_to = validate_dates(date_from, date_to, timezone.now().astimezone(zone).date())
    start, end = local_range(date_from, date_to, zone)
    return AnalyticsQuery(
        start=start,
        end=end,
        tz=zone,
        period=period,
        group_by=group_by,
        organization_id=organization_id,
        site_id=site_id,
        charger_id=charger_id,
    )
