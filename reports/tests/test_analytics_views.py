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
                                                                                   ("A-CP2", 0.0104, 0)]  # fmt: skip
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
    assert chart["labels"] == ["2025-06-01", "2025-06-02"]
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
