from django.contrib import admin
from django.http import FileResponse, HttpRequest
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.dateparse import parse_datetime
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from accounts.admin_tenancy import TenantScopedAdmin
from accounts.models import Activity
from charging.models import IdToken
from common.times import format_local, local_time_column
from reports.downloads import export_file_response
from reports.forms import SessionExportForm
from reports.models import ExportStatus, ReportExport
from reports.services import request_session_export
from sites.models import Charger, Site

STATUS_LABELS = {
    ExportStatus.QUEUED: "info",
    ExportStatus.RUNNING: "warning",
    ExportStatus.DONE: "success",
    ExportStatus.FAILED: "danger",
}


@admin.register(ReportExport)
class ReportExportAdmin(TenantScopedAdmin, ModelAdmin):
    """Staff request an export with the add form; the job fills in status, progress and the
    file, which is downloaded through a tenant-checked view (never a media URL)."""

    tenant_path = "organization"
    add_form = SessionExportForm
    list_display = ["__str__", "organization", "export_status", "progress", "requested_by", "created", "download"]
    list_filter = ["status", "format", "kind", "organization"]
    list_select_related = ["organization", "requested_by"]
    actions_detail = ["download_file"]
    readonly_fields = [
        "organization",
        "kind",
        "format",
        "what",
        "export_status",
        "progress",
        "truncated",
        "download",
        "error",
        "requested_by",
        "created",
        "started",
        "finished",
    ]
    created = local_time_column("created_at", "Requested", zone_path="", seconds=False)
    started = local_time_column("started_at", "Started", zone_path="")
    finished = local_time_column("finished_at", "Finished", zone_path="")

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        if obj is None:
            return ["organization", "format", "site", "charger", "id_token", "date_from", "date_to"]
        return self.readonly_fields

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [] if obj is None else self.readonly_fields

    def get_form(self, request: HttpRequest, obj=None, change: bool = False, **kwargs):
        if obj is not None:  # a saved export is shown read-only
            return super().get_form(request, obj, change=change, **kwargs)
        form = super().get_form(request, obj, change=change, form=self.add_form, **kwargs)
        # A subclass per request carries the user, whose tenants the choices come from.
        return type(form.__name__, (form,), {"user": request.user})

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the job writes the row; people only request, read and delete

    def save_model(self, request: HttpRequest, obj: ReportExport, form: SessionExportForm, change: bool) -> None:
        """Created through the service (which audits it and starts the job), not form.save()."""
        export = request_session_export(
            organization=form.cleaned_data["organization"],
            export_format=form.cleaned_data["format"],
            filters=form.filters(),
            requested_by=request.user,
            via=Activity.Via.ADMIN,
        )
        # The admin goes on with `obj` (log entry, redirect): make it the created row.
        obj.__dict__.update(
            {field.attname: getattr(export, field.attname) for field in ReportExport._meta.concrete_fields}
        )
        obj._state.adding = False

    @display(description="Status", label=STATUS_LABELS, ordering="status")
    def export_status(self, export: ReportExport) -> str:
        return export.status

    @display(description="What it holds")
    def what(self, export: ReportExport) -> str:
        """The export's filters in words (times in UTC, as they were asked for), not its JSON."""
        filters = export.filters or {}
        parts = []
        for key, model, label in (("site", Site, "site"), ("charger", Charger, "charger"),
                                  ("id_token", IdToken, "id token")):  # fmt: skip
            if filters.get(key) is not None:
                found = model.objects.filter(pk=filters[key]).first()
                parts.append(f"{label} {found if found is not None else f'#{filters[key]} (deleted)'}")
        if filters.get("action"):
            parts.append(f"action {filters['action']}")
        if filters.get("direction"):
            parts.append({"in": "from the chargers", "out": "to the chargers"}.get(filters["direction"], ""))
        for key, label in (("date_from", "from"), ("date_to", "until (excluded)")):
            moment = parse_datetime(filters[key]) if filters.get(key) else None
            if moment is not None:
                parts.append(f"{label} {format_local(moment, 'UTC', seconds=False)}")
        return "; ".join(part for part in parts if part) or "everything"

    @display(description="Progress (rows)")
    def progress(self, export: ReportExport) -> str:
        return export.progress

    @display(description="File")
    def download(self, export: ReportExport) -> str:
        if export.status != ExportStatus.DONE or not export.file:
            return "-"
        url = reverse("admin:reports_reportexport_download_file", args=[export.pk])
        return format_html('<a href="{}" class="text-primary-600">Download {}</a>', url, export.download_name)

    @action(description="Download the file", url_path="download")
    def download_file(self, request: HttpRequest, object_id: str) -> FileResponse:
        export = get_object_or_404(self.get_queryset(request), pk=object_id)
        return export_file_response(export)


from reports import alerts_admin  # noqa: E402,F401  (registers the alert admins)
