"""The operator dashboard: its figures, scoped to the user's organizations, and the admin index
that shows them."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import SessionState
from charging.tests.factories import ChargingSessionFactory
from reports.dashboard import daily_activity, fleet_counts, recent_connectors, recent_faults, site_markers, today_totals
from sites.models import StatusNotificationRecord
from sites.sharing import share_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 11, 20, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def fleet():
    """Organization A: one site on the map, an online charger charging on connector 1 and
    available on 2, and an offline one. Organization B: a faulted charger."""
    org_a, org_b = OrganizationFactory(slug="a"), OrganizationFactory(slug="b")
    site_a = SiteFactory(organization=org_a, name="A depot", latitude=Decimal("52.52"), longitude=Decimal("13.40"))
    online = ChargerFactory(site=site_a, charge_point_id="A-1", is_online=True)
    ConnectorFactory(charger=online, connector_id=1, status="Charging", status_timestamp=NOW)
    ConnectorFactory(charger=online, connector_id=2, status="Available", status_timestamp=NOW - dt.timedelta(hours=1))
    offline = ChargerFactory(site=site_a, charge_point_id="A-2", is_online=False)
    ConnectorFactory(charger=offline, connector_id=1, status="Available")
    site_b = SiteFactory(organization=org_b, name="B yard", latitude=Decimal("48.1"), longitude=Decimal("11.6"))
    faulted = ChargerFactory(site=site_b, charge_point_id="B-1", is_online=True)
    ConnectorFactory(charger=faulted, connector_id=1, status="Faulted", error_code="GroundFailure")
    StatusNotificationRecord.objects.create(
        charger=faulted, connector_id=1, status="Faulted", error_code="GroundFailure", timestamp=NOW
    )
    StatusNotificationRecord.objects.create(
        charger=online, connector_id=2, status="Available", error_code="HighTemperature", timestamp=NOW
    )
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=org_a, role="operator")
    return operator, org_a, org_b, online, faulted


def test_fleet_counts_cover_only_the_users_chargers(fleet):
    operator, *_ = fleet
    counts = fleet_counts(operator)
    assert (counts["chargers"], counts["online"], counts["offline"]) == (2, 1, 1)
    assert counts["connectors_by_status"]["Available"] == 2
    assert counts["connectors_by_status"]["Charging"] == 1
    assert counts["connectors_by_status"]["Faulted"] == 0


def test_a_superuser_counts_the_whole_fleet(fleet):
    counts = fleet_counts(UserFactory(is_staff=True, is_superuser=True))
    assert counts["chargers"] == 3
    assert counts["connectors_by_status"]["Faulted"] == 1


def test_recent_faults_are_the_users_and_include_error_codes_without_faulted_status(fleet):
    operator, *_ = fleet
    faults = recent_faults(operator)
    assert [(f["charge_point_id"], f["error_code"]) for f in faults] == [("A-1", "HighTemperature")]


def test_the_dashboard_says_times_in_the_sites_time_zone_not_iso(fleet):
    operator, *_ = fleet
    [fault] = recent_faults(operator)
    assert (fault["timestamp"], fault["time"]) == ("2026-11-20T15:00:00+00:00", "20 Nov 2026, 16:00:00 CET")
    assert recent_connectors(operator)[0]["time"] == "20 Nov 2026, 16:00:00 CET"


def test_site_markers_count_connectors_by_state_with_offline_chargers_apart(fleet):
    operator, *_ = fleet
    [marker] = site_markers(operator)
    assert marker["name"] == "A depot"
    assert (marker["latitude"], marker["longitude"]) == (52.52, 13.4)
    assert (marker["chargers"], marker["online"]) == (2, 1)
    assert marker["states"] == {"Charging": 1, "Available": 1, "Offline": 1}


def test_a_partner_sees_a_shared_charger_on_its_dashboard(fleet):
    _, _, _, online, _ = fleet
    partner_org = OrganizationFactory(slug="partner", kind="partner")
    partner = UserFactory(is_staff=True)
    MembershipFactory(user=partner, organization=partner_org, role="partner")
    share_charger(charger=online, partner=partner_org)
    assert fleet_counts(partner)["chargers"] == 1
    assert [row["charge_point_id"] for row in recent_connectors(partner)] == ["A-1", "A-1"]


def test_recent_connectors_list_the_latest_change_first(fleet):
    operator, *_ = fleet
    rows = recent_connectors(operator)
    assert [(r["charge_point_id"], r["connector_id"], r["status"]) for r in rows][:2] == [
        ("A-1", 1, "Charging"),
        ("A-1", 2, "Available"),
    ]


def test_today_and_daily_figures(fleet):
    operator, _, _, online, faulted = fleet
    connector = online.connectors.get(connector_id=1)
    # Today: one running, one completed with 5 kWh; yesterday: one completed with 2 kWh.
    ChargingSessionFactory(connector=connector, started_at=NOW - dt.timedelta(hours=1))
    ChargingSessionFactory(
        connector=online.connectors.get(connector_id=2),
        started_at=NOW - dt.timedelta(hours=3),
        stopped_at=NOW - dt.timedelta(hours=2),
        state=SessionState.COMPLETED,
        energy_wh=5000,
    )
    ChargingSessionFactory(
        connector=online.connectors.get(connector_id=2),
        started_at=NOW - dt.timedelta(days=1, hours=3),
        stopped_at=NOW - dt.timedelta(days=1, hours=2),
        state=SessionState.COMPLETED,
        energy_wh=2000,
    )
    # Another organization's session never counts.
    ChargingSessionFactory(
        connector=faulted.connectors.get(),
        started_at=NOW - dt.timedelta(hours=3),
        stopped_at=NOW - dt.timedelta(hours=2),
        state=SessionState.COMPLETED,
        energy_wh=9000,
    )
    today = today_totals(operator, now=NOW)
    assert today == {"sessions_started": 2, "active_sessions": 1, "energy_kwh": 5.0, "time_zone": "UTC"}
    daily = daily_activity(operator, now=NOW, days=3)
    assert daily == {
        "labels": ["2026-11-18", "2026-11-19", "2026-11-20"],
        "sessions": [0, 1, 2],
        "energy_kwh": [0, 2.0, 5.0],
    }


def _dashboard_json(html: str) -> dict:
    match = re.search(r'<script id="dashboard-data" type="application/json">(.*?)</script>', html, re.S)
    assert match, "the dashboard's data block is missing"
    return json.loads(match.group(1))


def test_the_admin_index_is_the_dashboard_with_vendored_assets(client, fleet):
    operator, *_ = fleet
    client.force_login(operator)
    response = client.get("/admin/")
    html = response.content.decode()
    assert response.status_code == 200
    data = _dashboard_json(html)
    assert data["fleet"]["chargers"] == 2
    assert [site["name"] for site in data["sites"]] == ["A depot"]
    assert "B-1" not in html
    assert "B yard" not in html
    assert "/static/vendor/leaflet-1.9.4/leaflet.js" in html
    assert "/static/vendor/chartjs-4.6.1/chart.umd.js" in html
    assert "cdn" not in html.lower()
    assert 'id="chart-status"' in html
    assert 'id="chart-daily"' in html
    assert 'id="dash-map"' in html
    assert 'data-connector="A-1/1"' in html
    assert 'href="/admin/analytics/energy/"' in html
    assert 'href="/admin/reports/reportexport/"' in html


def test_charger_supplied_strings_cannot_break_out_of_the_data_block(client, fleet):
    operator, _, _, online, _ = fleet
    StatusNotificationRecord.objects.create(
        charger=online,
        connector_id=1,
        status="Faulted",
        error_code="OtherError",
        info="</script><script>alert(1)</script>",
        timestamp=timezone.now(),
    )
    client.force_login(operator)
    html = client.get("/admin/").content.decode()
    assert "<script>alert(1)" not in html
    assert _dashboard_json(html)["faults"][0]["info"] == "</script><script>alert(1)</script>"


def test_the_map_tile_url_is_configurable(client, fleet, settings):
    settings.DASHBOARD_TILE_URL = "https://tiles.example.net/{z}/{x}/{y}.png"
    operator, *_ = fleet
    client.force_login(operator)
    assert _dashboard_json(client.get("/admin/").content.decode())["map"]["tile_url"] == settings.DASHBOARD_TILE_URL
