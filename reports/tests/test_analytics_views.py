"""The analytics admin pages and API endpoints: rendering, exports, scoping, bad input."""

import csv
import io
import json

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from reports.tests.analytics_data import build
from sites.models import Site

pytestmark = pytest.mark.django_db

RANGE = {"date_from": "2025-06-01", "date_to": "2025-06-02"}


@pytest.fixture
def data():
    return build()


@pytest.fixture
def api(data):
    client = APIClient()
    client.force_authenticate(data["member_a"])
    return client


# --- API ---------------------------------------------------------------------------------


def test_energy_api_answers_json_with_the_envelope(api):
    body = api.get("/api/v1/analytics/energy", RANGE).json()
    assert (body["start"], body["end"], body["timezone"]) == (
        "2025-06-01T00:00:00+02:00", "2025-06-03T00:00:00+02:00", "Europe/Berlin",
    )  # fmt: skip
    assert body["results"] == [
        {"period_start": "2025-06-01", "group_id": body["results"][0]["group_id"], "group": "A site", "sessions": 1,
         "energy_kwh": 10.0, "revenue": {"EUR": "5.00"}},
        {"period_start": "2025-06-02", "group_id": body["results"][0]["group_id"], "group": "A site", "sessions": 3,
         "energy_kwh": 11.0, "revenue": {"CHF": "2.00", "EUR": "3.50"}},
    ]  # fmt: skip


def test_energy_api_answers_csv_with_format_or_accept(api):
    for response in (
        api.get("/api/v1/analytics/energy", {**RANGE, "format": "csv"}),
        api.get("/api/v1/analytics/energy", RANGE, HTTP_ACCEPT="text/csv"),
    ):
        assert response.status_code == 200
        assert response["Content-Type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.content.decode())))
        figures = [
            (r["period_start"], r["sessions"], r["energy_kwh"], r["revenue_EUR"], r["revenue_CHF"]) for r in rows
        ]
        assert figures == [("2025-06-01", "1", "10.0", "5.00", ""), ("2025-06-02", "3", "11.0", "3.50", "2.00")]


def test_csv_escapes_formulae_in_names(api, data):
    Site.objects.filter(pk=data["site_a"].pk).update(name="=HYPERLINK(1)")
    text = api.get("/api/v1/analytics/peak-load", {**RANGE, "format": "csv"}).content.decode()
    assert "'=HYPERLINK(1)" in text


def test_empty_csv_still_has_its_header(api):
    response = api.get(
        "/api/v1/analytics/energy", {"date_from": "2020-01-01", "date_to": "2020-01-02", "format": "csv"}
    )
    assert response.content.decode().splitlines() == ["period_start,group_id,group,sessions,energy_kwh"]


def test_each_endpoint_answers_the_selectors_figures(api):
    utilization = api.get("/api/v1/analytics/utilization", RANGE).json()["results"]
    assert [(r["charger"], r["connector_id"], r["utilization"]) for r in utilization] == [
        ("A-CP1", 1, 0.0625), ("A-CP1", 2, 0.0417), ("A-CP2", 1, 0.0104),
    ]  # fmt: skip
    uptime = api.get("/api/v1/analytics/uptime", RANGE).json()
    assert [(r["charger"], r["uptime"], r["faults"]) for r in uptime["results"]] == [("A-CP1", 0.9583, 2),
                                                                                   ("A-CP2", 0.5, 0)]  # fmt: skip
    assert [f["error_code"] for f in uptime["latest_faults"]] == ["HighTemperature", "GroundFailure"]
    peak = api.get("/api/v1/analytics/peak-load", RANGE).json()["results"]
    assert [(r["site"], r["peak_kw"], r["peak_at"], r["source"]) for r in peak] == [
        ("A site", 14.0, "2025-06-01T12:00:00+02:00", "power"),
    ]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"period": "year"}, "period"),
        ({"group_by": "planet"}, "group_by"),
        ({"date_from": "yesterday"}, "date_from"),
        ({"date_from": "2025-06-03", "date_to": "2025-06-01"}, "non_field_errors"),
        ({"date_from": "2020-01-01", "date_to": "2025-06-01"}, "non_field_errors"),
        ({"tz": "Mars/Olympus"}, "tz"),
        ({"site": "abc"}, "site"),
    ],
)
def test_bad_parameters_answer_400_with_a_clear_message(api, params, field):
    response = api.get("/api/v1/analytics/energy", params)
    assert response.status_code == 400
    body = response.json()
    assert body["detail"] == "The request is not valid."
    assert body["errors"][field]


def test_another_tenants_site_narrows_to_nothing_not_a_leak(api, data):
    # As an id that does not exist: the answer tells neither apart (S14).
    response = api.get("/api/v1/analytics/peak-load", {**RANGE, "site": data["site_b"].pk})
    assert response.status_code == 200
    assert "B site" not in response.content.decode()
    assert response.json()["results"] == []


def test_the_api_needs_authentication(data):
    assert APIClient().get("/api/v1/analytics/energy").status_code == 401


def test_a_partner_member_sees_no_analytics(data):
    partner = UserFactory()
    MembershipFactory(user=partner, organization=data["org_a"], role="partner")
    client = APIClient()
    client.force_authenticate(partner)
    assert client.get("/api/v1/analytics/energy", RANGE).json()["results"] == []


# --- Admin pages -------------------------------------------------------------------------


def _chart(response) -> dict:
    body = response.content.decode()
    start = body.index('id="analytics-chart-data"')
    payload = body[body.index(">", start) + 1 : body.index("</script>", start)]
    return json.loads(payload)


@pytest.mark.parametrize("page", ["energy", "utilization", "uptime", "peak-load"])
def test_every_page_renders_its_chart_data_and_links_downloads(client, data, page):
    client.force_login(data["member_a"])
    response = client.get(f"/admin/analytics/{page}/", RANGE)
    assert response.status_code == 200
    body = response.content.decode()
    assert "vendor/chartjs-4.6.1/chart.umd.js" in body
    assert "export=csv" in body
    assert "export=json" in body
    assert "B site" not in body
    assert "B-CP1" not in body
    chart = _chart(response)
    assert chart["datasets"]
    csv_response = client.get(f"/admin/analytics/{page}/", {**RANGE, "export": "csv"})
    assert csv_response["Content-Type"].startswith("text/csv")
    json_response = client.get(f"/admin/analytics/{page}/", {**RANGE, "export": "json"})
    assert json_response.json()["results"] == response.context["rows"]


def test_energy_page_chart_has_one_dataset_per_group(client, data, admin_user):
    client.force_login(admin_user)
    chart = _chart(client.get("/admin/analytics/energy/", {**RANGE, "tz": "UTC"}))
    assert chart["labels"] == ["1 Jun 2025", "2 Jun 2025"]
    assert {(d["label"], tuple(d["data"])) for d in chart["datasets"]} == {
        ("A site", (11.0, 10.0)), ("B site", (20.0, 0)),
    }  # fmt: skip


def test_chart_data_is_escaped_json_not_script(client, data):
    Site.objects.filter(pk=data["site_a"].pk).update(name="</script><script>alert(1)</script>")
    client.force_login(data["member_a"])
    body = client.get("/admin/analytics/peak-load/", RANGE).content.decode()
    assert "<script>alert(1)</script>" not in body


def test_page_filter_form_offers_only_the_users_objects(client, data):
    client.force_login(data["member_a"])
    form = client.get("/admin/analytics/uptime/").context["form"]
    assert list(form.fields["site"].queryset) == [data["site_a"]]
    refused = client.get("/admin/analytics/uptime/", {"site": data["site_b"].pk})
    assert refused.status_code == 200
    assert refused.context["form"].errors["site"]
    assert refused.context["rows"] == []


def test_pages_are_for_staff_members_of_an_organization(client, data):
    assert client.get("/admin/analytics/energy/").status_code == 302  # to the login page
    stranger = UserFactory(is_staff=True)
    client.force_login(stranger)
    assert client.get("/admin/analytics/energy/").status_code == 403
    client.force_login(data["member_a"])
    assert client.get("/admin/analytics/").status_code == 302
    assert client.get("/admin/analytics/nonsense/").status_code == 404


# --- how the pages read -----------------------------------------------------------------------


def test_the_range_header_names_its_first_and_last_day_and_its_zone(client, data):
    client.force_login(data["member_a"])
    body = client.get("/admin/analytics/energy/", {**RANGE, "tz": "Europe/Paris"}).content.decode()
    assert "1 Jun 2025 \N{EN DASH} 2 Jun 2025 (inclusive), Europe/Paris" in body
    assert "end excluded" not in body
    assert "Shares count up to now" not in body  # the range is over


def test_range_text_reads_the_query_as_it_was_parsed():
    import datetime as dt
    import zoneinfo

    from reports.analytics import AnalyticsQuery, local_range
    from reports.analytics_admin import range_text

    paris = zoneinfo.ZoneInfo("Europe/Paris")
    start, end = local_range(dt.date(2026, 12, 1), dt.date(2026, 12, 4), paris)
    assert range_text(AnalyticsQuery(start=start, end=end, tz=paris)) == (
        "1 Dec 2026 \N{EN DASH} 4 Dec 2026 (inclusive), Europe/Paris"
    )
    # Across a change of the clocks (29 March 2026 in Paris) the days stay whole.
    start, end = local_range(dt.date(2026, 3, 29), dt.date(2026, 3, 29), paris)
    assert range_text(AnalyticsQuery(start=start, end=end, tz=paris)) == (
        "29 Mar 2026 \N{EN DASH} 29 Mar 2026 (inclusive), Europe/Paris"
    )


def test_utilization_and_uptime_show_one_decimal_and_times_in_words(client, data):
    client.force_login(data["member_a"])
    body = client.get("/admin/analytics/utilization/", RANGE).content.decode()
    assert "6.2 %" in body  # 0.0625 of the range
    assert "4.2 %" in body  # 0.0417
    body = client.get("/admin/analytics/uptime/", RANGE).content.decode()
    assert "95.8 %" in body  # 46 h of 48
    assert "50.0 %" in body  # A-CP2: 30 min of the hour since its first connection
    assert "2 Jun 2025, 09:00:00 CEST" in body  # the last fault, in the query's zone
    assert "2025-06-02T09:00:00" not in body


def test_percent_has_one_decimal():
    from reports.analytics_admin import percent

    assert percent(0.1234) == "12.3 %"
    assert percent(1.0) == "100.0 %"
    assert percent(0.0) == "0.0 %"
    assert percent(None) == ""


def test_a_charger_that_never_connected_reads_never_connected(client, data):
    from sites.tests.factories import ChargerFactory

    ChargerFactory(site=data["site_a"], charge_point_id="A-NEW")
    client.force_login(data["member_a"])
    response = client.get("/admin/analytics/uptime/", RANGE)
    row = next(r for r in response.context["table"] if r["charger"] == "A-NEW")
    assert row["uptime_percent"] == "never connected"
    assert "never connected" in response.content.decode()
    assert next(r for r in response.context["rows"] if r["charger"] == "A-NEW")["uptime"] is None


def test_the_filter_form_uses_unfold_widgets_and_plain_labels(client, data):
    from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminSingleDateWidget, UnfoldAdminTextInputWidget

    client.force_login(data["member_a"])
    response = client.get("/admin/analytics/uptime/")
    form = response.context["form"]
    for name in ("period", "group_by", "organization", "site", "charger"):
        assert isinstance(form.fields[name].widget, UnfoldAdminSelectWidget), name
    for name in ("date_from", "date_to"):
        assert isinstance(form.fields[name].widget, UnfoldAdminSingleDateWidget), name
        assert form.fields[name].widget.input_type == "date"
    assert isinstance(form.fields["tz"].widget, UnfoldAdminTextInputWidget)
    assert (form.fields["date_from"].label, form.fields["date_to"].label) == ("From", "To")
    body = response.content.decode()
    assert 'type="date"' in body
    assert "vDateField" in body
