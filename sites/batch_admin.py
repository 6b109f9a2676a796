"""Command batches in the admin (issue 20): "Send a command to the selected chargers" on the
charger list queues one intent for all of them as a batch (sites.commands.batches), whose page
shows how far it got: queued, waiting for offline chargers, sent, accepted, rejected, failed,
and the chargers it does not suit, with why."""

from dataclasses import asdict

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.admin_tenancy import TenantScopedAdmin
from accounts.models import Organization
from sites.command_forms import COMMAND_FORMS, CommandForm
from sites.commands.batches import Selection, batch_progress, request_batch
from sites.models import Charger, Command, CommandBatch

# What makes sense for a whole fleet at once; the rest names a session, a connector's
# transaction or a certificate of one charger.
BATCH_KINDS = (
    "reset", "change_availability", "change_setting", "read_settings", "clear_cache", "trigger_message",
    "update_firmware", "get_diagnostics", "get_log", "get_local_list_version",
)  # fmt: skip
PROGRESS_LABELS = {
    "total": "Chargers chosen",
    "not_yet_queued": "Not queued yet",
    "refused": "Not suited (see below)",
    "waiting_offline": "Waiting for offline chargers",
    "queued": "Queued",
    "sent": "Sent, no answer yet",
    "accepted": "Accepted",
    "rejected": "Rejected",
    "failed": "Failed, timed out or expired",
}


def batch_forms(request: HttpRequest) -> dict[str, type[CommandForm]]:
    return {
        kind: COMMAND_FORMS[kind]
        for kind in BATCH_KINDS
        if kind in COMMAND_FORMS and request.user.has_perm(COMMAND_FORMS[kind].permission())
    }


def send_batch_page(model_admin, request: HttpRequest, queryset: QuerySet[Charger]) -> HttpResponse | None:
    """The charger list's action: pick the intent, fill in its form, queue it as a batch."""
    organizations = Organization.objects.filter(pk__in=queryset.values("site__organization_id"))
    if organizations.count() != 1:
        messages.error(request, "Choose chargers of one organization: a batch belongs to one.")
        return None
    allowed = batch_forms(request)
    chosen = request.POST.get("batch_intent", "")
    form_class = allowed.get(chosen)
    form = None
    if form_class is not None:
        form = form_class(request.POST if request.POST.get("confirm") == "yes" else None)
        if form.is_bound and form.is_valid():
            try:
                batch = request_batch(
                    organization=organizations.get(),
                    intent=form.intent(),
                    selection=Selection(charge_point_ids=tuple(queryset.values_list("charge_point_id", flat=True))),
                    requested_by=request.user,
                    via=Command.Via.ADMIN,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request, f"{form_class.title()} queued as batch {batch.pk} for {batch.total} chargers."
                )
                return HttpResponseRedirect(reverse("admin:sites_commandbatch_change", args=[batch.pk]))
    context = {
        **model_admin.admin_site.each_context(request),
        "title": f"Send a command to {queryset.count()} chargers",
        "opts": model_admin.model._meta,
        "chargers": queryset.order_by("charge_point_id")[:50],
        "count": queryset.count(),
        "selected": list(queryset.values_list("pk", flat=True)),
        "intents_allowed": sorted((form.title(), kind) for kind, form in allowed.items()),
        "chosen": chosen if form_class else "",
        "chosen_title": form_class.title() if form_class else "",
        "form": form,
    }
    return TemplateResponse(request, "admin/sites/charger/send_batch.html", context)


@admin.register(CommandBatch)
class CommandBatchAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "organization"
    list_display = ["__str__", "organization", "state", "progress_summary", "requested_by", "created_at"]
    list_filter = ["state", "intent", "organization"]
    list_select_related = ["organization", "requested_by"]
    fields = ["organization", "intent", "fields", "selection", "state", "progress_table", "refused_table",
              "requested_by", "requested_via", "created_at", "finished_at"]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # from the charger list ("Send a command to the selected chargers") or the API

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @display(description="Progress")
    def progress_summary(self, batch: CommandBatch) -> str:
        progress = batch_progress(batch)
        return (
            f"{progress.accepted} accepted, {progress.rejected} rejected, {progress.failed} failed, "
            f"{progress.waiting_offline} waiting offline, of {progress.total}"
        )

    @display(description="Progress")
    def progress_table(self, batch: CommandBatch) -> str:
        rows = format_html_join(
            "", "<tr><td class='pr-4'>{}</td><td>{}</td></tr>",
            ((PROGRESS_LABELS[name], value) for name, value in asdict(batch_progress(batch)).items()),
        )  # fmt: skip
        commands = reverse("admin:sites_command_changelist") + f"?batch__id__exact={batch.pk}"
        return format_html('<table>{}</table><a href="{}">The commands</a>', rows, commands)

    @display(description="Not suited")
    def refused_table(self, batch: CommandBatch) -> str:
        if not batch.refused:
            return "-"
        return format_html_join(
            "", "<div>{}: {}</div>", ((entry["charge_point_id"], entry["reason"]) for entry in batch.refused)
        )
