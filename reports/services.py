"""Writes of reports: requesting an export, and running it (called by the Celery task)."""

import datetime as dt
import logging
import tempfile

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organization
from accounts.services import record_change
from reports.models import ExportFormat, ExportKind, ExportStatus, ReportExport
from reports.selectors import (
    MESSAGE_COLUMNS,
    MessageFilters,
    SessionFilters,
    chargers_of,
    id_tokens_of,
    message_history,
    message_rows,
    organizations_exportable_by,
    session_history,
    session_rows,
    sites_of,
)
from reports.writers import write_csv, write_json, write_pdf

logger = logging.getLogger(__name__)


def validate_session_filters(organization: Organization, filters: SessionFilters) -> None:
    """Each filter must name something of the export's organization, and the range must be a range."""
    errors: dict[str, list[str]] = {}
    own = Organization.objects.filter(pk=organization.pk)
    site = sites_of(own).filter(pk=filters.site).first() if filters.site is not None else None
    if filters.site is not None and site is None:
        errors["site"] = [f"No site with id {filters.site} in {organization.name}."]
    if filters.charger is not None:
        charger = chargers_of(own).filter(pk=filters.charger).first()
        if charger is None:
            errors["charger"] = [f"No charger with id {filters.charger} in {organization.name}."]
        elif site is not None and charger.site_id != site.pk:
            errors["charger"] = [f"Charger {charger.charge_point_id} is not at site {site.name}."]
    if filters.id_token is not None and not id_tokens_of(own).filter(pk=filters.id_token).exists():
        errors["id_token"] = [f"No id token with id {filters.id_token} in {organization.name}."]
    for key in ("date_from", "date_to"):
        moment = getattr(filters, key)
        if moment is not None and timezone.is_naive(moment):
            errors[key] = ["Give a time zone (e.g. 2026-01-31T00:00:00Z)."]
    dates_valid = not errors.keys() & {"date_from", "date_to"}
    if dates_valid and filters.date_from and filters.date_to and filters.date_to <= filters.date_from:
        errors["date_to"] = ["Must be later than date_from."]
    if errors:
        raise ValidationError(errors)


# How much of the message log one export may cover: the log is the largest table.
MESSAGE_EXPORT_MAX_DAYS = 31
MESSAGE_FORMATS = (ExportFormat.CSV, ExportFormat.JSON)


def validate_message_filters(organization: Organization, filters: MessageFilters) -> None:
    errors: dict[str, list[str]] = {}
    own = Organization.objects.filter(pk=organization.pk)
    if filters.charger is not None and not chargers_of(own).filter(pk=filters.charger).exists():
        errors["charger"] = [f"No charger with id {filters.charger} in {organization.name}."]
    if filters.direction not in ("", "in", "out"):
        errors["direction"] = ["in or out."]
    if timezone.is_naive(filters.date_from) or timezone.is_naive(filters.date_to):
        errors["date_from"] = ["Give a time zone (e.g. 2026-01-31T00:00:00Z)."]
    elif filters.date_to <= filters.date_from:
        errors["date_to"] = ["Must be later than date_from."]
    elif filters.date_to - filters.date_from > dt.timedelta(days=MESSAGE_EXPORT_MAX_DAYS):
        errors["date_to"] = [f"At most {MESSAGE_EXPORT_MAX_DAYS} days after date_from."]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def request_session_export(
    *, organization: Organization, export_format: str, filters: SessionFilters, requested_by, via: str
) -> ReportExport:
    """Record an export of the organization's session history and start its job once the row
    is committed (the job must find it). ValidationError names the field at fault."""
    _check_exporter(organization, requested_by, export_format, ExportFormat.values)
    validate_session_filters(organization, filters)
    return _record_export(organization, ExportKind.SESSIONS, export_format, filters.as_json(), requested_by, via)


@transaction.atomic
def request_message_export(
    *, organization: Organization, export_format: str, filters: MessageFilters, requested_by, via: str
) -> ReportExport:
    """As request_session_export, for the message log of the organization's chargers (CSV or JSON)."""
    _check_exporter(organization, requested_by, export_format, MESSAGE_FORMATS)
    validate_message_filters(organization, filters)
    return _record_export(organization, ExportKind.MESSAGES, export_format, filters.as_json(), requested_by, via)


def _check_exporter(organization: Organization, requested_by, export_format: str, formats) -> None:
    if not organizations_exportable_by(requested_by).filter(pk=organization.pk).exists():
        raise ValidationError({"organization": ["You may not export data of this organization."]})
    if export_format not in formats:
        raise ValidationError({"format": [f"One of {', '.join(formats)}."]})


def _record_export(
    organization: Organization, kind: str, export_format: str, filters: dict, requested_by, via: str
) -> ReportExport:
    export = ReportExport.objects.create(
        organization=organization, kind=kind, format=export_format, filters=filters, requested_by=requested_by
    )
    record_change(actor=requested_by, verb="created", obj=export, via=via)
    transaction.on_commit(lambda: _start(export.pk))
    return export


def _start(export_id: int) -> None:
    from reports.tasks import run_export_task  # the task module imports this one

    run_export_task.delay(export_id)


def run_export(*, export_id: int) -> ReportExport | None:
    """Write the export's file: rows streamed from the database into a temporary file, which
    is then stored in the export's FileField. Any failure is recorded on the row."""
    # Claimed atomically, so a second delivery of a finished job writes nothing. A "running"
    # row is taken over: its worker died and the broker delivered the job again (acks late).
    claimed = ReportExport.objects.filter(
        Q(status=ExportStatus.QUEUED) | Q(status=ExportStatus.RUNNING), pk=export_id
    ).update(status=ExportStatus.RUNNING, started_at=timezone.now(), rows_written=0, error="")
    if not claimed:
        return None
    export = ReportExport.objects.select_related("organization").get(pk=export_id)
    try:
        if export.kind == ExportKind.MESSAGES:
            _write_message_export(export)
        else:
            _write_session_export(export)
    except Exception as error:  # recorded for the operator; the job itself is finished
        logger.exception("report export %s failed", export_id)
        export.status = ExportStatus.FAILED
        export.error = f"{type(error).__name__}: {error}"[:2000]
        export.finished_at = timezone.now()
        export.save(update_fields=["status", "error", "finished_at"])
        return export
    export.status = ExportStatus.DONE
    export.finished_at = timezone.now()
    export.save(update_fields=["file", "status", "rows_written", "row_count", "truncated", "finished_at"])
    return export


def _write_session_export(export: ReportExport) -> None:
    filters = SessionFilters.from_json(export.filters)
    sessions = session_history(export.organization_id, filters)
    matched = sessions.count()
    limit = settings.REPORTS_PDF_MAX_ROWS if export.format == ExportFormat.PDF else matched
    export.row_count = min(matched, limit)
    export.truncated = matched > limit
    ReportExport.objects.filter(pk=export.pk).update(row_count=export.row_count, truncated=export.truncated)
    if export.truncated:
        sessions = sessions[:limit]
    rows = _counting(session_rows(sessions), export)
    with tempfile.TemporaryFile() as out:
        if export.format == ExportFormat.CSV:
            write_csv(rows, out)
        elif export.format == ExportFormat.JSON:
            write_json(rows, out)
        else:
            write_pdf(rows, out, limit=limit, context=_pdf_context(export, filters, matched))
        out.seek(0)
        export.file.save(export.download_name, File(out), save=False)


def _write_message_export(export: ReportExport) -> None:
    frames = message_history(export.organization_id, MessageFilters.from_json(export.filters))
    export.row_count = frames.count()
    ReportExport.objects.filter(pk=export.pk).update(row_count=export.row_count)
    rows = _counting(message_rows(frames), export)
    with tempfile.TemporaryFile() as out:
        if export.format == ExportFormat.JSON:
            write_json(rows, out)
        else:
            write_csv(rows, out, MESSAGE_COLUMNS)
        out.seek(0)
        export.file.save(export.download_name, File(out), save=False)


def _counting(rows, export: ReportExport):
    """Pass rows through, recording progress every REPORTS_PROGRESS_EVERY rows."""
    every = max(1, settings.REPORTS_PROGRESS_EVERY)
    for row in rows:
        export.rows_written += 1
        if export.rows_written % every == 0:
            ReportExport.objects.filter(pk=export.pk).update(rows_written=export.rows_written)
        yield row


def _pdf_context(export: ReportExport, filters: SessionFilters, matched: int) -> dict:
    own = Organization.objects.filter(pk=export.organization_id)
    labels = []
    for label, key, rows, attribute in (
        ("Site", "site", sites_of(own), "name"),
        ("Charger", "charger", chargers_of(own), "charge_point_id"),
        ("Id token", "id_token", id_tokens_of(own), "id_tag"),
    ):
        if getattr(filters, key) is not None:
            value = rows.filter(pk=getattr(filters, key)).values_list(attribute, flat=True).first()
            labels.append((label, value or f"#{getattr(filters, key)}"))
    if filters.date_from is not None:
        labels.append(("From", f"{filters.date_from.astimezone(dt.UTC):%Y-%m-%d %H:%M}"))
    if filters.date_to is not None:
        labels.append(("Before", f"{filters.date_to.astimezone(dt.UTC):%Y-%m-%d %H:%M}"))
    return {
        "organization": export.organization,
        "filter_labels": labels,
        "generated_at": f"{timezone.now():%Y-%m-%d %H:%M}",
        "matched": matched,
        "truncated": export.truncated,
    }
