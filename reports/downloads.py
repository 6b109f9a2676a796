"""The one way an export file leaves the server: streamed to someone who may see its row
(the admin and the API find the row through their tenant-scoped querysets first)."""

from django.http import FileResponse, Http404

from reports.models import ExportFormat, ExportStatus, ReportExport

CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.JSON: "application/json",
    ExportFormat.PDF: "application/pdf",
}


def export_file_response(export: ReportExport) -> FileResponse:
    if export.status != ExportStatus.DONE or not export.file:
        raise Http404("The export has no file (yet).")
    return FileResponse(
        export.file.open("rb"),
        as_attachment=True,
        filename=export.download_name,
        content_type=CONTENT_TYPES[export.format],
    )
