"""A mixed fleet at one site: an OCPP 1.6 charger (connectors 1 and 2, no EVSE) beside an OCPP
2.0.1 station (EVSE 1 connector 1, EVSE 2 connector 1). 2.0.1 numbers connectors per EVSE, so
the station has two "connector 1": every report keeps them apart, says which EVSE, and names a
2.0.1 session by the station's own transaction id (transaction_uid; transaction_id is NULL)."""

import csv
import datetime as dt
import io
import json
import re
import zoneinfo
from decimal import Decimal
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import SessionCost
from common.tests.pdf import needs_pdf, pdf_text
from reports import live
from reports.analytics import (
    AnalyticsQuery,
    energy_report,
    latest_faults,
    local_range,
    peak_load_report,
    utilization_report,
)
from reports.dashboard import recent_connectors, recent_faults
from reports.models import ReportExport
from reports.selectors import SESSION_COLUMNS, SessionFilters, connector_label
from reports.services import request_session_export
from reports.tasks import run_export_task
from reports.tests.analytics_data import sample
from reports.tests.conftest import JAN, session_at
from sites.models import StatusNotificationRecord
from sites.signals import StatusChange
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db

UTC = zoneinfo.ZoneInfo("UTC")
NOW = dt.datetime(2026, 1, 3, 15, 0, tzinfo=dt.UTC)
TX_UID = "c0ffee-201-e2"  # the 2.0.1 station's own transaction id (a string it chose)
TX_UID_EVSE1 = "c0ffee-201-e1"
# The session export's columns before OCPP 2.0.1: their names and positions never change.
COLUMNS_16 = (
    "session_id", "site", "charge_point_id", "connector_id", "transaction_id", "id_tag", "state", "started_at",
    "stopped_at", "duration_minutes", "energy_kwh", "meter_start_wh", "meter_stop_wh", "stop_reason", "currency",
    "net", "vat", "total",
)  # fmt: skip


@pytest.fixture
def fleet():
    org = OrganizationFactory(name="Mixed Charging", slug="mixed")
    site = SiteFactory(organization=org, name="Mixed site", timezone="UTC",
                       latitude=Decimal("52.5"), longitude=Decimal("13.4"))  # fmt: skip
    cp16 = ChargerFactory(site=site, charge_point_id="MIX-16", ocpp_version="1.6", is_online=True)
    cp201 = ChargerFactory(site=site, charge_point_id="MIX-201", ocpp_version="2.0.1", is_online=True)
    c16_1 = ConnectorFactory(charger=cp16, connector_id=1, status="Charging", status_timestamp=NOW)
    c16_2 = ConnectorFactory(charger=cp16, connector_id=2, status="Available",
                             status_timestamp=NOW - dt.timedelta(hours=3))  # fmt: skip
    e1 = ConnectorFactory(charger=cp201, evse_id=1, connector_id=1, status="Available",
                          status_timestamp=NOW - dt.timedelta(hours=2))  # fmt: skip
    e2 = ConnectorFactory(charger=cp201, evse_id=2, connector_id=1, status="Charging",
                          status_timestamp=NOW - dt.timedelta(hours=1))  # fmt: skip
    # 3 January 2026: the 1.6 session 10:00-11:30 (12.345 kWh, priced), the 2.0.1 ones on EVSE 2
    # 11:00-14:00 (20 kWh) and on EVSE 1 12:00-12:30 (3 kWh).
    s16 = session_at(c16_1, 3, id_tag="CARD-16", transaction_id=42)
    SessionCost.objects.create(session=s16, currency="EUR", net=Decimal("4.20"), vat=Decimal("0.80"),
                               total=Decimal("5.00"))  # fmt: skip
    s201 = session_at(e2, 3, id_tag="CARD-201", transaction_id=None, transaction_uid=TX_UID, energy_wh=20_000)
    s201_e1 = session_at(e1, 3, id_tag="CARD-E1", transaction_id=None, transaction_uid=TX_UID_EVSE1, energy_wh=3_000)
    _move(s201, JAN + dt.timedelta(days=2, hours=11), dt.timedelta(hours=3))
    _move(s201_e1, JAN + dt.timedelta(days=2, hours=12), dt.timedelta(minutes=30))
    StatusNotificationRecord.objects.create(charger=cp201, evse_id=2, connector_id=1, status="Faulted",
                                            error_code="GroundFailure", timestamp=NOW)  # fmt: skip
    operator = UserFactory(is_staff=True)
    MembershipFactory(user=operator, organization=org, role="operator")
    return SimpleNamespace(
        org=org, site=site, cp16=cp16, cp201=cp201, c16_1=c16_1, c16_2=c16_2, e1=e1, e2=e2, s16=s16, s201=s201,
        s201_e1=s201_e1, operator=operator,
    )  # fmt: skip


def _move(session, started_at: dt.datetime, duration: dt.timedelta) -> None:
    type(session).objects.filter(pk=session.pk).update(started_at=started_at, stopped_at=started_at + duration)
    session.refresh_from_db()


def test_connector_labels_say_the_evse_only_for_2_0_1():
    assert connector_label(None, 2) == "2"
    assert connector_label(2, 1) == "EVSE 2 / 1"


# --- Dashboard ----------------------------------------------------------------------------


def test_the_dashboard_lists_both_chargers_connectors_apart(fleet):
    rows = recent_connectors(fleet.operator)
    assert [(r["charge_point_id"], r["evse_id"], r["connector_id"], r["connector"], r["status"]) for r in rows] == [
        ("MIX-16", None, 1, "1", "Charging"),
        ("MIX-201", 2, 1, "EVSE 2 / 1", "Charging"),
        ("MIX-201", 1, 1, "EVSE 1 / 1", "Available"),
        ("MIX-16", None, 2, "2", "Available"),
    ]
    assert [r["key"] for r in rows] == ["MIX-16/1", "MIX-201/evse-2/1", "MIX-201/evse-1/1", "MIX-16/2"]


def test_recent_faults_name_the_evse(fleet):
    [fault] = recent_faults(fleet.operator)
    assert (fault["charge_point_id"], fault["evse_id"], fault["connector_id"], fault["connector"]) == (
        "MIX-201", 2, 1, "EVSE 2 / 1",
    )  # fmt: skip


def test_the_admin_index_shows_each_evse_in_its_own_row(client, fleet):
    client.force_login(fleet.operator)
    html = client.get("/admin/").content.decode()
    for key in ("MIX-16/1", "MIX-16/2", "MIX-201/evse-1/1", "MIX-201/evse-2/1"):
        assert f'data-connector="{key}"' in html
    row = re.search(r'<tr data-connector="MIX-201/evse-2/1">(.*?)</tr>', html, re.S).group(1)
    assert "<td>EVSE 2 / 1</td>" in row
    assert "<td>EVSE 2 / 1</td><td>Faulted</td>" in html  # the recent faults table


# --- Session exports ----------------------------------------------------------------------


def _export(fleet, export_format: str) -> ReportExport:
    export = request_session_export(organization=fleet.org, export_format=export_format,
                                    filters=SessionFilters(site=fleet.site.pk), requested_by=fleet.operator,
                                    via="api")  # fmt: skip
    run_export_task.apply(args=[export.pk]).get()
    export.refresh_from_db()
    assert export.status == "done", export.error
    return export


def test_the_evse_column_is_appended_after_the_1_6_columns():
    assert SESSION_COLUMNS[: len(COLUMNS_16)] == COLUMNS_16
    assert SESSION_COLUMNS[len(COLUMNS_16) :] == ("evse_id",)


def test_csv_export_lists_both_sessions_with_the_chargers_transaction_ids_and_evse(fleet):
    text = _export(fleet, "csv").file.open("rb").read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == SESSION_COLUMNS
    figures = [(r["charge_point_id"], r["evse_id"], r["connector_id"], r["transaction_id"], r["energy_kwh"],
                r["total"]) for r in rows]  # fmt: skip
    assert figures == [
        ("MIX-16", "", "1", "42", "12.345", "5.00"),
        ("MIX-201", "2", "1", TX_UID, "20.000", ""),
        ("MIX-201", "1", "1", TX_UID_EVSE1, "3.000", ""),
    ]
    assert rows[1]["duration_minutes"] == "180.0"


def test_json_export_lists_both_sessions_with_the_chargers_transaction_ids_and_evse(fleet):
    rows = json.loads(_export(fleet, "json").file.open("rb").read())
    assert [(r["session_id"], r["evse_id"], r["connector_id"], r["transaction_id"]) for r in rows] == [
        (fleet.s16.pk, None, 1, "42"),
        (fleet.s201.pk, 2, 1, TX_UID),
        (fleet.s201_e1.pk, 1, 1, TX_UID_EVSE1),
    ]


@needs_pdf
def test_pdf_export_names_the_evse_and_the_stations_transaction_id(fleet, tmp_path):
    path = tmp_path / "sessions.pdf"
    path.write_bytes(_export(fleet, "pdf").file.open("rb").read())
    text = pdf_text(path)
    assert TX_UID in text
    assert "EVSE 2 / 1" in text
    assert "EVSE 1 / 1" in text
    assert "42" in text


# --- Analytics ----------------------------------------------------------------------------


def _query(**overrides) -> AnalyticsQuery:
    start, end = local_range(dt.date(2026, 1, 3), dt.date(2026, 1, 3), UTC)
    return AnalyticsQuery(**{"start": start, "end": end, "tz": UTC, **overrides})


def test_utilization_keeps_evse_1_and_2_apart(fleet):
    rows = utilization_report(fleet.operator, _query())
    figures = [(r.charger, r.evse_id, r.connector_id, r.sessions, r.busy_hours) for r in rows]
    assert figures == [
        ("MIX-16", None, 1, 1, 1.5),
        ("MIX-16", None, 2, 0, 0.0),
        ("MIX-201", 1, 1, 1, 0.5),
        ("MIX-201", 2, 1, 1, 3.0),
    ]
    assert [r.connector_pk for r in rows] == [fleet.c16_1.pk, fleet.c16_2.pk, fleet.e1.pk, fleet.e2.pk]


def test_energy_per_charger_counts_both_evses_sessions(fleet):
    rows = energy_report(fleet.operator, _query(group_by="charger"))
    assert [(r.group, r.sessions, r.energy_kwh, r.revenue) for r in rows] == [
        ("MIX-16", 1, 12.345, {"EUR": "5.00"}),
        ("MIX-201", 2, 23.0, {}),
    ]


def test_peak_load_reads_each_evses_register_on_its_own(fleet):
    # Energy registers only, interleaved in time: EVSE 1 counts from 1000 Wh, EVSE 2 from 50000 Wh,
    # each +1000 Wh in 10:00-10:15 (4 kW each). Mixed into one series they would differ by 49 kWh.
    at = JAN + dt.timedelta(days=2, hours=10)
    register = {"measurand": "Energy.Active.Import.Register", "unit": "Wh"}
    sample(fleet.e1, at, 1000, **register)
    sample(fleet.e2, at + dt.timedelta(minutes=1), 50_000, **register)
    sample(fleet.e1, at + dt.timedelta(minutes=10), 2000, **register)
    sample(fleet.e2, at + dt.timedelta(minutes=11), 51_000, **register)
    [row] = peak_load_report(fleet.operator, _query())
    assert (row.site, row.peak_kw, row.source) == ("Mixed site", 8.0, "energy")
    assert row.peak_at == "2026-01-03T10:00:00+00:00"


def test_latest_faults_name_the_evse(fleet):
    [fault] = latest_faults(fleet.operator, _query())
    assert (fault.charger, fault.evse_id, fault.connector_id, fault.error_code) == ("MIX-201", 2, 1, "GroundFailure")


def test_the_analytics_api_and_pages_show_the_evse(client, fleet):
    api = APIClient()
    api.force_authenticate(fleet.operator)
    params = {"date_from": "2026-01-03", "date_to": "2026-01-03", "tz": "UTC"}
    response = api.get("/api/v1/analytics/utilization", {**params, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [(r["charger"], r["evse_id"], r["connector_id"], r["busy_hours"]) for r in rows] == [
        ("MIX-16", "", "1", "1.5"), ("MIX-16", "", "2", "0.0"), ("MIX-201", "1", "1", "0.5"),
        ("MIX-201", "2", "1", "3.0"),
    ]  # fmt: skip
    faults = api.get("/api/v1/analytics/uptime", params).json()["latest_faults"]
    assert [(f["charger"], f["evse_id"], f["connector_id"]) for f in faults] == [("MIX-201", 2, 1)]

    client.force_login(fleet.operator)
    page = client.get("/admin/analytics/utilization/", params)
    assert page.status_code == 200
    assert page.context["chart"]["labels"] == ["MIX-16 #1", "MIX-16 #2", "MIX-201 EVSE 1 / #1", "MIX-201 EVSE 2 / #1"]
    assert "EVSE 2 / 1" in page.content.decode()
    uptime = client.get("/admin/analytics/uptime/", params).content.decode()
    assert "EVSE 2 / 1" in uptime


# --- Live feed ----------------------------------------------------------------------------


@pytest.fixture
def queued(monkeypatch) -> list[tuple[int, dict]]:
    events: list[tuple[int, dict]] = []
    monkeypatch.setattr(live, "queue_event", lambda charger_id, event: events.append((charger_id, event)))
    return events


def test_live_status_events_carry_the_evse(fleet, queued):
    change = StatusChange(charger_id=fleet.cp201.pk, connector_id=1, previous_status="Available", status="Charging",
                          error_code="NoError", timestamp=NOW, evse_id=2)  # fmt: skip
    old = StatusChange(charger_id=fleet.cp16.pk, connector_id=1, previous_status="Available", status="Charging",
                       error_code="NoError", timestamp=NOW)  # fmt: skip
    live.broadcast_status(changes=[change, old])
    assert [(charger, event["evse_id"], event["connector_id"]) for charger, event in queued] == [
        (fleet.cp201.pk, 2, 1),
        (fleet.cp16.pk, None, 1),
    ]


def test_live_session_events_carry_the_evse_and_the_chargers_transaction_id(fleet, queued):
    live.broadcast_sessions_started(session_ids=[fleet.s201.pk, fleet.s16.pk])
    events = {event["session_id"]: (charger, event) for charger, event in queued}
    charger, event = events[fleet.s201.pk]
    assert (charger, event["type"], event["evse_id"], event["connector_id"], event["transaction_id"]) == (
        fleet.cp201.pk, "session.started", 2, 1, TX_UID,
    )  # fmt: skip
    charger, event = events[fleet.s16.pk]
    assert (charger, event["evse_id"], event["connector_id"], event["transaction_id"]) == (fleet.cp16.pk, None, 1, 42)
