"""The analytics selectors, checked exactly against the fixed data of analytics_data."""

import datetime as dt
import zoneinfo

import pytest

from accounts.tests.factories import UserFactory
from reports.analytics import (
    default_timezone,
    energy_report,
    latest_faults,
    peak_load_report,
    uptime_report,
    utilization_report,
)
from reports.tests.analytics_data import START, build, query, utc

pytestmark = pytest.mark.django_db


@pytest.fixture
def data():
    return build()


def _energy(rows):
    return [(r.period_start, r.group, r.sessions, r.energy_kwh, r.revenue) for r in rows]


def test_energy_per_local_day_and_site_counts_sessions_in_the_day_they_started(data):
    assert _energy(energy_report(data["member_a"], query())) == [
        # 23:30-01:30 local crosses midnight: it counts for 1 June; 00:30 local on 2 June counts there.
        ("2025-06-01", "A site", 1, 10.0, {"EUR": "5.00"}),
        ("2025-06-02", "A site", 3, 11.0, {"CHF": "2.00", "EUR": "3.50"}),
    ]


def test_energy_per_utc_day_moves_the_sessions_after_local_midnight(data):
    rows = energy_report(data["member_a"], query(tz=zoneinfo.ZoneInfo("UTC")))
    # UTC days of the same instants: 22:30Z on 1 June stays on 1 June.
    assert [(r.period_start, r.sessions, r.energy_kwh) for r in rows] == [("2025-06-01", 2, 11.0),
                                                                         ("2025-06-02", 2, 10.0)]  # fmt: skip


def test_energy_per_charger_and_per_organization_and_month(data):
    by_charger = energy_report(data["member_a"], query(group_by="charger"))
    assert _energy(by_charger) == [
        ("2025-06-01", "A-CP1", 1, 10.0, {"EUR": "5.00"}),
        ("2025-06-02", "A-CP1", 2, 8.5, {"EUR": "3.50"}),
        ("2025-06-02", "A-CP2", 1, 2.5, {"CHF": "2.00"}),
    ]
    monthly = energy_report(data["member_a"], query(group_by="organization", period="month"))
    assert _energy(monthly) == [("2025-06-01", "A Org", 4, 21.0, {"CHF": "2.00", "EUR": "8.50"})]
    weekly = energy_report(data["member_a"], query(period="week"))
    # 1 June 2025 is a Sunday: its week starts on Monday 26 May.
    assert [(r.period_start, r.sessions) for r in weekly] == [("2025-05-26", 1), ("2025-06-02", 3)]


def test_energy_filters_by_charger(data):
    rows = energy_report(data["member_a"], query(charger_id=data["cp2"].pk))
    assert _energy(rows) == [("2025-06-02", "A site", 1, 2.5, {"CHF": "2.00"})]


def test_a_tenant_sees_only_its_own_figures(data):
    rows = energy_report(data["member_b"], query())
    assert _energy(rows) == [("2025-06-01", "B site", 1, 20.0, {"EUR": "8.00"})]
    # Even when asking for the other tenant's site by id.
    assert energy_report(data["member_b"], query(site_id=data["site_a"].pk)) == []
    assert utilization_report(data["member_b"], query(site_id=data["site_a"].pk)) == []
    assert uptime_report(data["member_b"], query(site_id=data["site_a"].pk)) == []
    assert peak_load_report(data["member_b"], query(site_id=data["site_a"].pk)) == []
    assert energy_report(UserFactory(is_staff=True), query()) == []  # no membership, nothing


def test_a_platform_admin_sees_every_tenant(data, admin_user):
    rows = energy_report(admin_user, query(group_by="organization", period="month"))
    assert [(r.group, r.sessions) for r in rows] == [("A Org", 4), ("B Org", 1)]


def test_utilization_is_session_time_clipped_to_the_range(data):
    rows = utilization_report(data["member_a"], query())
    assert [(r.charger, r.connector_id, r.sessions, r.busy_hours, r.utilization) for r in rows] == [
        ("A-CP1", 1, 2, 3.0, 0.0625),  # 2 h + 1 h of 48 h
        ("A-CP1", 2, 2, 2.0, 0.0417),  # 1 h of a session cut by the range start, + 1 h
        ("A-CP2", 1, 1, 0.5, 0.0104),
    ]


def test_utilization_counts_a_running_session_up_to_now(data):
    from reports.tests.analytics_data import session

    connector = data["cp2"].connectors.get()
    now = dt.datetime.now(dt.UTC)
    session(connector, now - dt.timedelta(hours=2), None, 500)
    rows = utilization_report(
        data["member_a"], query(start=now - dt.timedelta(hours=4), end=now + dt.timedelta(days=1))
    )
    busy = {(r.charger, r.connector_id): r.utilization for r in rows}
    assert busy[("A-CP2", 1)] == pytest.approx(0.5, abs=0.001)  # 2 h of the 4 h up to now


def test_uptime_from_connection_events_and_faults_from_status_history(data):
    rows = uptime_report(data["member_a"], query())
    assert [(r.charger, r.online_hours, r.uptime, r.disconnections, r.faults, r.last_fault_at) for r in rows] == [
        # Online since before the range, off 10:00-12:00Z on 1 June, then online to the end: 46 h of 48.
        ("A-CP1", 46.0, 0.9583, 1, 2, "2025-06-02T09:00:00+02:00"),
        # First connected at 21:00Z on 2 June, one hour before the range ends: 30 min of 60.
        ("A-CP2", 0.5, 0.5, 1, 0, None),
    ]
    faults = latest_faults(data["member_a"], query())
    assert [(f.charger, f.error_code, f.timestamp) for f in faults] == [
        ("A-CP1", "HighTemperature", "2025-06-02T09:00:00+02:00"),
        ("A-CP1", "GroundFailure", "2025-06-01T07:00:00+02:00"),
    ]


def test_uptime_of_a_charger_that_never_connected_is_none_not_zero(data):
    from sites.tests.factories import ChargerFactory

    ChargerFactory(site=data["site_a"], charge_point_id="A-NEW")
    rows = {r.charger: (r.uptime, r.first_connected_at) for r in uptime_report(data["member_a"], query())}
    assert rows["A-NEW"] == (None, None)


def test_uptime_counts_from_the_first_connection_not_from_the_range_start(data):
    from sites.models import ConnectionEvent
    from sites.tests.factories import ChargerFactory

    # The range is [1 June 00:00, 3 June 00:00) Berlin = [31 May 22:00Z, 2 June 22:00Z), 48 h.
    fresh = ChargerFactory(site=data["site_a"], charge_point_id="A-FRESH")
    ConnectionEvent.objects.create(charger=fresh, kind="online", at=utc(2, 10), reason="connected")
    ConnectionEvent.objects.create(charger=fresh, kind="offline", at=utc(2, 16), reason="disconnected")
    later = ChargerFactory(site=data["site_a"], charge_point_id="A-LATER")
    ConnectionEvent.objects.create(charger=later, kind="online", at=utc(3, 10), reason="connected")
    rows = {r.charger: r for r in uptime_report(data["member_a"], query())}
    # Counted from 10:00Z on 2 June (12 h to the end of the range), online 6 h of them.
    assert (rows["A-FRESH"].online_hours, rows["A-FRESH"].uptime) == (6.0, 0.5)
    assert rows["A-FRESH"].first_connected_at == "2025-06-02T12:00:00+02:00"
    # First connected after the range: no uptime in it.
    assert (rows["A-LATER"].uptime, rows["A-LATER"].first_connected_at) == (None, "2025-06-03T12:00:00+02:00")
    # Connected before the range: the whole range counts (A-CP1, 46 h of 48).
    assert rows["A-CP1"].uptime == 0.9583


def test_peak_load_from_power_samples_sums_connectors_per_quarter_hour(data):
    rows = peak_load_report(data["member_a"], query())
    assert [(r.site, r.peak_kw, r.peak_at, r.source) for r in rows] == [
        ("A site", 14.0, "2025-06-01T12:00:00+02:00", "power"),
    ]


def test_peak_load_from_energy_register_increases(data):
    rows = peak_load_report(data["member_b"], query(tz=zoneinfo.ZoneInfo("UTC")))
    assert [(r.site, r.peak_kw, r.peak_at, r.source) for r in rows] == [
        ("B site", 10.0, "2025-06-01T08:15:00+00:00", "energy"),
    ]


def test_peak_load_of_a_range_without_samples_is_empty(data):
    rows = peak_load_report(data["member_a"], query(start=START - dt.timedelta(days=30), end=START))
    assert [(r.site, r.peak_kw, r.peak_at, r.source) for r in rows] == [("A site", None, None, "")]


def test_days_are_counted_in_the_sites_time_zone_by_default(data, admin_user):
    assert str(default_timezone(data["member_a"])) == "Europe/Berlin"
    assert str(default_timezone(admin_user)) == "UTC"  # sites in two zones
    assert str(default_timezone(admin_user, site_id=data["site_a"].pk)) == "Europe/Berlin"
    assert utc(1, 0) < START + dt.timedelta(hours=3)
