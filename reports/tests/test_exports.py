"""Requesting exports and running them: validation, the job started on commit, each format
end to end through the Celery task (run inline), progress, failures and the PDF cap."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Activity
from accounts.tests.factories import UserFactory
from common.tests.pdf import needs_pdf, pdf_text
from reports import services
from reports.models import ReportExport
from reports.selectors import SESSION_COLUMNS, SessionFilters
from reports.services import request_session_export
from reports.tasks import run_export_task
from reports.tests.conftest import JAN, session_at

pytestmark = pytest.mark.django_db


def _request(world, export_format: str = "csv", **filters) -> ReportExport:
    return request_session_export(
        organization=world.org_a,
        export_format=export_format,
        filters=SessionFilters(**filters),
        requested_by=world.operator,
        via="api",
    )


def _run(export: ReportExport) -> ReportExport:
    # Inline: CI's second stage has a broker but no worker.
    run_export_task.apply(args=[export.pk]).get()
    export.refresh_from_db()
    return export


def test_a_request_is_recorded_audited_and_its_job_starts_after_commit(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    started = []
    monkeypatch.setattr(run_export_task, "delay", started.append)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        export = _request(world, "json", site=world.harbour.pk, date_from=JAN)
        assert started == []  # not before the row is committed
    assert len(callbacks) == 1
    assert started == [export.pk]
    assert (export.status, export.kind, export.format, export.requested_by) == (
        "queued",
        "sessions",
        "json",
        world.operator,
    )
    assert export.filters == {"site": world.harbour.pk, "date_from": "2026-01-01T00:00:00Z"}
    assert Activity.objects.filter(object_type="reports.reportexport", object_id=str(export.pk), via="api").exists()


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"site": "b_site"}, "site"),
        ({"charger": "b_charger"}, "charger"),
        ({"site": "harbour", "charger": "charger2"}, "charger"),  # the charger is at the other site
        ({"date_from": dt.datetime(2026, 1, 1)}, "date_from"),  # noqa: DTZ001  (naive on purpose)
        ({"date_from": JAN, "date_to": JAN}, "date_to"),
    ],
)
def test_filters_are_validated_with_the_field_named(world, filters, field):
    resolved = {key: getattr(world, value).pk if isinstance(value, str) else value for key, value in filters.items()}
    with pytest.raises(ValidationError) as error:
        _request(world, **resolved)
    assert field in error.value.message_dict
    assert not ReportExport.objects.exists()


def test_only_members_may_export_an_organizations_data(world):
    with pytest.raises(ValidationError) as error:
        request_session_export(
            organization=world.org_a,
            export_format="csv",
            filters=SessionFilters(),
            requested_by=UserFactory(),
            via="api",
        )
    assert "organization" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _request(world, "xlsx")
    assert "format" in error.value.message_dict


def test_csv_export_escapes_charger_supplied_formulae(world):
    connector = world.sessions[0].connector
    session_at(connector, 15, id_tag='=HYPERLINK("http://evil")', stop_reason="@SUM(A1)", transaction_id=999)
    export = _run(_request(world, "csv", charger=world.charger1.pk))
    assert (export.status, export.rows_written, export.row_count, export.error) == ("done", 3, 3, "")
    assert export.finished_at >= export.started_at >= export.created_at
    assert export.file.name == f"reports/{world.org_a.pk}/sessions-{export.pk}.csv"
    text = export.file.open("rb").read().decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == SESSION_COLUMNS
    assert [row["id_tag"] for row in rows] == ["CARD-1", "card-1", '\'=HYPERLINK("http://evil")']
    assert rows[2]["stop_reason"] == "'@SUM(A1)"
    assert (rows[0]["total"], rows[0]["currency"], rows[0]["energy_kwh"]) == ("5.00", "EUR", "12.345")


def test_json_export_is_an_array_of_rows(world):
    export = _run(_request(world, "json", site=world.depot.pk))
    rows = json.loads(export.file.open("rb").read())
    assert [row["session_id"] for row in rows] == [world.sessions[2].pk, world.sessions[3].pk]
    assert rows[0]["started_at"] == "2026-01-20T10:00:00Z"
    assert export.row_count == 2


def test_an_export_with_no_matching_sessions_is_an_empty_file_not_an_error(world):
    export = _run(_request(world, "json", date_from=dt.datetime(2030, 1, 1, tzinfo=dt.UTC)))
    assert export.status == "done"
    assert json.loads(export.file.open("rb").read()) == []


def test_progress_is_recorded_while_rows_are_written(world, settings, monkeypatch):
    settings.REPORTS_PROGRESS_EVERY = 2
    export = _request(world, "csv")
    seen = []
    write_csv = services.write_csv

    def watching(rows, out):
        def rows_with_progress():
            for row in rows:
                yield row
                seen.append(ReportExport.objects.get(pk=export.pk).rows_written)

        write_csv(rows_with_progress(), out)

    monkeypatch.setattr(services, "write_csv", watching)
    _run(export)
    assert seen == [0, 2, 2, 4]  # written to the row every second row, while the file is written


def test_a_failure_is_recorded_on_the_export(world, monkeypatch):
    def broken(rows, out):
        raise OSError("disk full")

    monkeypatch.setattr(services, "write_csv", broken)
    export = _run(_request(world, "csv"))
    assert export.status == "failed"
    assert export.error == "OSError: disk full"
    assert not export.file
    assert export.finished_at is not None


def test_a_second_delivery_of_a_finished_job_writes_nothing(world):
    export = _run(_request(world, "csv"))
    name = export.file.name
    assert run_export_task.apply(args=[export.pk]).get() is None
    export.refresh_from_db()
    assert (export.status, export.file.name) == ("done", name)


def test_deleting_an_export_deletes_its_file(world, media_root):
    export = _run(_request(world, "csv"))
    path = media_root / export.file.name
    assert path.exists()
    export.delete()
    assert not path.exists()


@needs_pdf
def test_pdf_export_says_what_was_charged_with_escaped_charger_strings(world, tmp_path):
    connector = world.sessions[0].connector
    session_at(connector, 16, id_tag='<img src="http://127.0.0.1:1/x">', transaction_id=4711)
    export = _run(_request(world, "pdf", site=world.harbour.pk, date_to=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)))
    assert export.status == "done", export.error
    text = pdf_text(export.file.path)
    assert "Session history" in text
    assert "Alpha Charging" in text
    assert "Site: Harbour" in text
    assert "3 sessions, 37.035 kWh" in text
    assert "A-HARBOUR-1" in text
    assert "2026-01-03T10:00:00Z" in text
    assert "5.00 EUR" in text
    assert '<img src="http://127.0.0.1:1/x">' in text  # shown as text, not an element
    assert "A-DEPOT-1" not in text


@needs_pdf
def test_a_pdf_holds_at_most_the_configured_rows_and_says_so(world, settings):
    settings.REPORTS_PDF_MAX_ROWS = 2
    export = _run(_request(world, "pdf"))
    assert (export.status, export.row_count, export.rows_written, export.truncated) == ("done", 2, 2, True)
    text = pdf_text(export.file.path)
    assert "The first 2 of 4 sessions" in text
    assert "A-DEPOT-1" not in text  # the two later sessions are left out
