"""Exports of the message log (issue 20): the frames of the organization's chargers in a range
of at most 31 days, as CSV or JSON, through the same job as session exports (run inline here)."""

import csv
import datetime as dt
import io
import json

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from ocpp_gateway.models import MessageLog
from reports.models import ReportExport
from reports.selectors import MESSAGE_COLUMNS, MessageFilters
from reports.services import request_message_export
from reports.tasks import run_export_task
from reports.tests.conftest import JAN

pytestmark = pytest.mark.django_db

RANGE = {"date_from": JAN, "date_to": JAN + dt.timedelta(days=7)}


def _frame(charge_point_id: str, hours: int, action: str = "Heartbeat", **fields) -> MessageLog:
    return MessageLog.objects.create(
        charge_point_id=charge_point_id, direction=fields.pop("direction", "in"), message_type=2,
        message_id=f"{charge_point_id}-{hours}", action=action, payload=fields.pop("payload", {}),
        timestamp=JAN + dt.timedelta(hours=hours), **fields,
    )  # fmt: skip


def _export(world, export_format: str = "csv", **filters) -> ReportExport:
    export = request_message_export(
        organization=world.org_a, export_format=export_format, filters=MessageFilters(**{**RANGE, **filters}),
        requested_by=world.operator, via="api",
    )  # fmt: skip
    run_export_task.apply(args=[export.pk]).get()  # inline: CI's second stage has a broker but no worker
    export.refresh_from_db()
    return export


def test_csv_holds_the_organizations_frames_in_the_range_escaped(world):
    _frame("A-HARBOUR-1", 1, "DataTransfer", payload={"data": "=HYPERLINK(1)"})
    _frame("A-DEPOT-1", 2, "Reset", direction="out")
    _frame("A-DEPOT-1", 24 * 8)  # after the range
    _frame("B-CP-1", 3)  # another organization's
    _frame("STRANGER", 4)  # no organization's
    export = _export(world)
    assert (export.status, export.kind, export.row_count, export.rows_written) == ("done", "messages", 2, 2)
    assert export.file.name.endswith(f"messages-{export.pk}.csv")
    rows = list(csv.DictReader(io.StringIO(export.file.open("rb").read().decode("utf-8-sig"))))
    assert tuple(rows[0]) == MESSAGE_COLUMNS
    assert [(row["charge_point_id"], row["action"], row["direction"]) for row in rows] == [
        ("A-HARBOUR-1", "DataTransfer", "in"), ("A-DEPOT-1", "Reset", "out"),
    ]  # fmt: skip
    assert rows[0]["timestamp"] == "2026-01-01T01:00:00.000000Z"
    assert json.loads(rows[0]["payload"]) == {"data": "=HYPERLINK(1)"}  # a JSON text cell starts with {


def test_json_filtered_by_charger_action_and_direction(world):
    _frame("A-HARBOUR-1", 1)
    _frame("A-HARBOUR-1", 2, "Reset", direction="out")
    _frame("A-DEPOT-1", 3, "Reset", direction="out")
    export = _export(world, "json", charger=world.charger1.pk, action="Reset", direction="out")
    rows = json.loads(export.file.open("rb").read())
    assert [row["message_id"] for row in rows] == ["A-HARBOUR-1-2"]


@pytest.mark.parametrize(
    ("filters", "field"),
    [
        ({"date_to": JAN + dt.timedelta(days=32)}, "date_to"),  # more than 31 days
        ({"date_to": JAN}, "date_to"),  # empty range
        ({"direction": "sideways"}, "direction"),
    ],
)
def test_filters_are_validated_with_the_field_named(world, filters, field):
    with pytest.raises(ValidationError) as error:
        _export(world, **filters)
    assert field in error.value.message_dict


def test_another_organizations_charger_and_pdf_are_refused(world):
    with pytest.raises(ValidationError) as error:
        _export(world, charger=world.b_charger.pk)
    assert "charger" in error.value.message_dict
    with pytest.raises(ValidationError) as error:
        _export(world, "pdf")
    assert "format" in error.value.message_dict


def test_through_the_api(world):
    _frame("A-HARBOUR-1", 1)
    api = APIClient()
    api.force_authenticate(world.operator)
    body = {"organization": world.org_a.pk, "format": "json", "date_from": "2026-01-01T00:00:00Z",
            "date_to": "2026-01-02T00:00:00Z"}  # fmt: skip
    answer = api.post("/api/v1/report-exports/messages", body, format="json")
    assert answer.status_code == 202, answer.content
    assert answer.json()["kind"] == "messages"
    refused = api.post("/api/v1/report-exports/messages", {**body, "charger": world.b_charger.pk}, format="json")
    assert refused.status_code == 400
    assert "charger" in refused.json()["errors"]
    assert (
        api.post("/api/v1/report-exports/messages", {**body, "organization": world.org_b.pk}, format="json").status_code
        == 400
    )
