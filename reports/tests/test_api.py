"""/api/v1/report-exports: ask (202), follow, download; other tenants' exports answer 404."""

import json

import pytest
from rest_framework.test import APIClient

from reports.models import ReportExport
from reports.tasks import run_export_task

pytestmark = pytest.mark.django_db

URL = "/api/v1/report-exports"


@pytest.fixture
def api(world):
    client = APIClient()
    client.force_authenticate(world.operator)
    return client


def test_an_export_is_requested_followed_and_downloaded(api, world, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:  # the job is run inline below
        response = api.post(
            URL,
            {"organization": world.org_a.pk, "format": "json", "charger": world.charger2.pk,
             "date_from": "2026-01-25T00:00:00+01:00"},
            format="json",
        )  # fmt: skip
    assert response.status_code == 202, response.content
    body = response.json()
    assert len(callbacks) == 1
    assert (body["status"], body["format"], body["download_url"]) == ("queued", "json", None)
    assert body["filters"] == {"charger": world.charger2.pk, "date_from": "2026-01-24T23:00:00Z"}
    assert body["requested_by"] == world.operator.pk
    assert api.get(f"{URL}/{body['id']}/download").status_code == 404  # not written yet

    run_export_task.apply(args=[body["id"]])
    done = api.get(f"{URL}/{body['id']}").json()
    assert (done["status"], done["rows_written"], done["row_count"]) == ("done", 1, 1)
    assert done["download_url"] == f"{URL}/{body['id']}/download"
    download = api.get(done["download_url"])
    assert download.status_code == 200
    assert download["Content-Type"] == "application/json"
    rows = json.loads(b"".join(download.streaming_content))
    assert [row["session_id"] for row in rows] == [world.sessions[3].pk]
    assert [row["id"] for row in api.get(URL).json()["results"]] == [body["id"]]


def test_invalid_requests_name_the_field_in_the_usual_error_shape(api, world):
    cases = [
        ({"organization": world.org_b.pk}, "organization"),
        ({"organization": world.org_a.pk, "site": world.b_site.pk}, "site"),
        ({"organization": world.org_a.pk, "id_token": 999999}, "id_token"),
        ({"organization": world.org_a.pk, "format": "xlsx"}, "format"),
        ({"organization": world.org_a.pk, "site": world.harbour.pk, "charger": world.charger2.pk}, "charger"),
        ({"organization": world.org_a.pk, "date_from": "2026-02-01T00:00:00Z", "date_to": "2026-01-01T00:00:00Z"},
         "date_to"),
    ]  # fmt: skip
    for body, field in cases:
        response = api.post(URL, body, format="json")
        assert response.status_code == 400, (body, response.content)
        error = response.json()
        assert error["detail"] == "The request is not valid."
        assert field in error["errors"], (body, error)
    assert not ReportExport.objects.exists()


def test_another_tenants_exports_answer_404(world):
    export = ReportExport.objects.create(organization=world.org_a, format="csv")
    run_export_task.apply(args=[export.pk])
    outsider = APIClient()
    outsider.force_authenticate(world.outsider)
    assert outsider.get(URL).json()["results"] == []
    assert outsider.get(f"{URL}/{export.pk}").status_code == 404
    assert outsider.get(f"{URL}/{export.pk}/download").status_code == 404
    assert APIClient().get(f"{URL}/{export.pk}/download").status_code == 401
