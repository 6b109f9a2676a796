"""Staff request exports from the admin and download them through a tenant-checked view."""

import pytest
from django.urls import reverse

from reports.models import ReportExport
from reports.tasks import run_export_task

pytestmark = pytest.mark.django_db

ADD = "admin:reports_reportexport_add"


def _download_url(export: ReportExport) -> str:
    return reverse("admin:reports_reportexport_download_file", args=[export.pk])


def test_the_add_form_offers_only_the_users_own_organizations_and_their_rows(client, world):
    client.force_login(world.operator)
    form = client.get(reverse(ADD)).context["adminform"].form
    assert list(form.fields["organization"].queryset) == [world.org_a]
    assert set(form.fields["site"].queryset) == {world.harbour, world.depot}
    assert set(form.fields["charger"].queryset) == {world.charger1, world.charger2}
    assert list(form.fields["id_token"].queryset) == [world.token]


def test_an_operator_requests_an_export_and_downloads_the_file(client, world, django_capture_on_commit_callbacks):
    client.force_login(world.operator)
    with django_capture_on_commit_callbacks() as callbacks:  # the job is run inline below
        response = client.post(
            reverse(ADD),
            {"organization": world.org_a.pk, "format": "csv", "site": world.harbour.pk,
             "date_from": "2026-01-01", "date_to": "2026-01-03"},
        )  # fmt: skip
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert len(callbacks) == 1
    export = ReportExport.objects.get()
    assert (export.organization, export.requested_by, export.status) == (world.org_a, world.operator, "queued")
    # The last day is included: the range ends at the start of the next day.
    assert export.filters == {
        "site": world.harbour.pk, "date_from": "2026-01-01T00:00:00Z", "date_to": "2026-01-04T00:00:00Z"
    }  # fmt: skip
    assert client.get(_download_url(export)).status_code == 404  # nothing to download yet
    run_export_task.apply(args=[export.pk])

    page = client.get(reverse("admin:reports_reportexport_change", args=[export.pk])).content.decode()
    assert "1 / 1" in page  # progress
    # What it holds, in words, never the stored JSON.
    assert f"site {world.harbour}; from 1 Jan 2026, 00:00 UTC; until (excluded) 4 Jan 2026, 00:00 UTC" in page
    assert "2026-01-01T00:00:00Z" not in page
    assert _download_url(export) in page
    download = client.get(_download_url(export))
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="sessions-{export.pk}.csv"'
    body = b"".join(download.streaming_content).decode("utf-8-sig")
    assert "A-HARBOUR-1" in body
    assert "A-DEPOT-1" not in body


def test_filters_of_another_organization_are_refused(client, world):
    client.force_login(world.operator)
    response = client.post(reverse(ADD), {"organization": world.org_a.pk, "format": "csv", "site": world.b_site.pk})
    assert response.status_code == 200
    assert "site" in response.context["adminform"].form.errors
    response = client.post(reverse(ADD), {"organization": world.org_b.pk, "format": "csv"})
    assert "organization" in response.context["adminform"].form.errors
    response = client.post(
        reverse(ADD),
        {"organization": world.org_a.pk, "format": "csv", "site": world.harbour.pk, "charger": world.charger2.pk},
    )
    assert "charger" in response.context["adminform"].form.errors
    assert not ReportExport.objects.exists()


def test_another_tenants_export_is_neither_listed_nor_downloadable(client, world):
    export = ReportExport.objects.create(organization=world.org_a, format="csv")
    run_export_task.apply(args=[export.pk])
    client.force_login(world.outsider)
    changelist = client.get(reverse("admin:reports_reportexport_changelist"))
    assert export.pk not in {row.pk for row in changelist.context["cl"].result_list}
    assert client.get(_download_url(export)).status_code == 404


def test_the_add_form_says_the_pdf_limit_in_force_in_plain_words(client, world, settings):
    settings.REPORTS_PDF_MAX_ROWS = 5000
    client.force_login(world.operator)
    page = client.get(reverse(ADD)).content.decode()
    assert "A PDF holds at most 5,000 rows; choose CSV or JSON for more." in page
    for word in ("REPORTS_PDF_MAX_ROWS", "WeasyPrint", "ISO 8601"):
        assert word not in page
    form = client.get(reverse(ADD)).context["adminform"].form
    assert (form.fields["date_from"].label, form.fields["date_to"].label) == ("From", "To")
