import zoneinfo

from django import forms
from django.contrib import admin, messages
from django.contrib.admin import helpers
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from accounts.admin_tenancy import PlatformOnlyAdmin, TenantScopedAdmin, WriteOnceAdmin, require_permission
from accounts.models import Organization
from accounts.roles import (
    ACKNOWLEDGE_SECURITY_EVENTS,
    CHARGER_KEY_PERMISSION,
    command_permission,
    model_permission,
)
from common.times import format_day, format_local, local_time_column
from sites.batch_admin import batch_forms, send_batch_page
from sites.certificates.signing import certificate_signer
from sites.command_forms import CommandForm, command_forms_for
from sites.commands import request_command, rotate_charger_key
from sites.commands.intents import ChangeSetting, ClearCache, Intent, Reset, TriggerableMessage, TriggerMessage
from sites.commands.progress import latest_job_status, latest_job_statuses
from sites.console import STATE_COLOURS
from sites.console_admin import ChargerConsoleAdmin
from sites.device_model.admin import device_model_link
from sites.models import (
    SITE_FIELDS,
    Charger,
    ChargerCertificate,
    ChargerReport,
    ChargerShare,
    Command,
    ConfigurationKey,
    ConnectionEvent,
    Connector,
    SecurityEvent,
    Site,
    StatusNotificationRecord,
    UnknownCharger,
    UnknownChargerState,
)
from sites.resources import ChargerResource, SiteResource
from sites.security_events import acknowledge_security_events, event_type
from sites.selectors import needing_attention
from sites.services import adopt_unknown_charger, issue_charger_key
from sites.sharing import share_charger, unshare_charger

BADGE_CLASSES = {
    "success": "bg-green-100 text-green-700 dark:bg-green-500/20 dark:text-green-400",
    "info": "bg-blue-100 text-blue-700 dark:bg-blue-500/20 dark:text-blue-400",
    "warning": "bg-orange-100 text-orange-700 dark:bg-orange-500/20 dark:text-orange-400",
    "danger": "bg-red-100 text-red-700 dark:bg-red-500/20 dark:text-red-400",
    "default": "bg-base-100 text-base-700 dark:bg-base-500/20 dark:text-base-200",
}


def connector_badge(connector: Connector, *, with_number: bool = False) -> str:
    label = connector.get_status_display()
    return format_html(
        '<span class="inline-block rounded px-2 py-0.5 text-xs font-semibold {}" title="{}">{}</span>',
        BADGE_CLASSES[STATE_COLOURS.get(connector.status, "default")],
        connector.error_code,
        f"{connector.connector_id}: {label}" if with_number else label,
    )


def render_issued_keys(model_admin, request: HttpRequest, issued: list[tuple[str, str]]) -> TemplateResponse:
    """The one page that ever shows charger keys in clear (S6)."""
    context = {**model_admin.admin_site.each_context(request), "title": "New charger keys", "issued": issued}
    return TemplateResponse(request, "admin/sites/charger/issued_keys.html", context)


class SiteAdminForm(forms.ModelForm):
    timezone = forms.ChoiceField(choices=[])

    class Meta:
        model = Site
        fields = SITE_FIELDS

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["timezone"].choices = [(name, name) for name in sorted(zoneinfo.available_timezones())]


class ChargerInline(TabularInline):
    model = Charger
    extra = 0
    fields = ["charge_point_id", "vendor", "model", "ocpp_version", "registration_status", "is_online"]
    readonly_fields = ["is_online"]
    show_change_link = True


@admin.register(Site)
class SiteAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    tenant_path = "organization"
    resource_classes = [SiteResource]
    import_form_class = ImportForm
    export_form_class = ExportForm
    form = SiteAdminForm
    list_display = ["name", "organization", "city", "country", "timezone", "charger_count"]
    list_filter = ["organization", "country", "timezone"]
    search_fields = ["name", "address", "city", "organization__name"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    inlines = [ChargerInline]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Site]:
        return super().get_queryset(request).annotate(charger_total=Count("chargers"))

    @display(description="Chargers", ordering="charger_total")
    def charger_count(self, site: Site) -> int:
        return site.charger_total


# What chargers report about their connectors: shown, never hand-edited (issue 19).
CONNECTOR_PROTOCOL_FIELDS = ["status", "error_code", "info", "vendor_error_code", "status_timestamp"]
# What a charger says about itself in BootNotification: editable only when the charger is added.
BOOT_FIELDS = ["vendor", "model", "serial_number", "firmware_version"]


# Times of a connector's status, in its charger's site time zone.
CONNECTOR_SHOWN_FIELDS = ["status", "error_code", "info", "vendor_error_code", "status_time"]


class ConnectorInline(TabularInline):
    model = Connector
    extra = 0
    fields = ["connector_id", "evse_id", *CONNECTOR_SHOWN_FIELDS]
    readonly_fields = CONNECTOR_SHOWN_FIELDS
    status_time = local_time_column("status_timestamp", "Status since (charger's clock)")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charger__site")


class ReadOnlyInline(TabularInline):
    """History written by chargers: shown, never edited; paginated."""

    extra = 0
    can_delete = False
    per_page = 20
    # Its times are shown in the charger's site time zone: the rows carry the site.
    zone_related = ["charger__site"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related(*self.zone_related)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


class StatusHistoryInline(ReadOnlyInline):
    model = StatusNotificationRecord
    fields = [
        "sent_at",
        "received",
        "connector_id",
        "status",
        "error_code",
        "info",
        "vendor_error_code",
        "applied",
    ]
    readonly_fields = ["sent_at", "received"]
    verbose_name_plural = "status history"
    sent_at = local_time_column("timestamp", "Time (charger's clock)")
    received = local_time_column("received_at", "Received")


class ChargerReportInline(ReadOnlyInline):
    model = ChargerReport
    fk_name = "charger"
    fields = ["received", "kind", "status", "request_id", "command"]
    readonly_fields = ["received"]
    received = local_time_column("received_at", "Received")


class JobStatusInline(ReadOnlyInline):
    """What the charger reported about the command's job (log upload, firmware update)."""

    model = ChargerReport
    fk_name = "command"
    fields = ["received", "kind", "status", "request_id"]
    readonly_fields = ["received"]
    received = local_time_column("received_at", "Received")
    verbose_name_plural = "job status reported by the charger"


class CertificateInline(ReadOnlyInline):
    """The charger's certificate inventory (A02/A03, M03-M05): public facts only; a private key
    never reaches the database."""

    model = ChargerCertificate
    fields = [
        "use", "source", "subject", "issuer", "serial_number", "valid_from", "valid_to", "fingerprint_sha256",
        "hash_algorithm", "issuer_name_hash", "issuer_key_hash", "renewal_requested",
    ]  # fmt: skip
    readonly_fields = fields
    valid_from = local_time_column("not_before", "Valid from", seconds=False)
    valid_to = local_time_column("not_after", "Valid to", seconds=False)
    renewal_requested = local_time_column("renewal_requested_at", "Renewal requested")
    verbose_name_plural = "certificates"


class ConfigurationInline(TabularInline):
    """The last reported configuration. Editing a value queues a change of that setting; the value
    shown changes once the charger accepts."""

    model = ConfigurationKey
    fields = ["key", "value", "readonly", "updated"]
    readonly_fields = ["key", "readonly", "updated"]
    updated = local_time_column("updated_at", "Reported")

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charger__site")

    extra = 0
    can_delete = False
    per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False


class CommandInline(ReadOnlyInline):
    model = Command
    fields = [
        "created", "intent", "fields", "action", "status", "requested_by", "requested_via", "attempts",
        "finished", "result", "job_status",
    ]  # fmt: skip
    readonly_fields = ["created", "finished", "job_status"]
    created = local_time_column("created_at", "Requested")
    finished = local_time_column("finished_at", "Finished")
    verbose_name_plural = "command history"
    ordering = ["-created_at", "-id"]

    @display(description="Job status")
    def job_status(self, command: Command) -> str:
        return job_status_text(command)


def job_status_text(command: Command) -> str:
    """The latest status the charger reported about the command's job (N01/L01), or "-"."""
    report = latest_job_status(command)
    return f"{report.status} ({format_local(report.received_at, command.charger.site.timezone)})" if report else "-"


def status_requests(charger: Charger) -> list[TriggerMessage]:
    """A status report of a whole charger: one request per connector where connectors are
    addressed by EVSE (2.0.1 asks for one connector's StatusNotification, F06.FR.13), else one
    request that covers them all (1.6 sec. 5.17: no connectorId, every connector)."""
    by_evse = [c for c in charger.connectors.all() if c.evse_id is not None]
    if not by_evse:
        return [TriggerMessage(message=TriggerableMessage.STATUS)]
    return [
        TriggerMessage(message=TriggerableMessage.STATUS, evse=c.evse_id, connector=c.connector_id) for c in by_evse
    ]


def _queue_for_each(model_admin, request: HttpRequest, queryset: QuerySet[Charger], intent: Intent) -> None:
    require_permission(request, command_permission(intent.kind), queryset)
    for charger in queryset:
        request_command(charger=charger, intent=intent, requested_by=request.user, via=Command.Via.ADMIN)
    model_admin.message_user(
        request, f"{intent.title} queued for {queryset.count()} charger(s); see each command history."
    )


@admin.register(Charger)
class ChargerAdmin(ChargerConsoleAdmin, TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    tenant_path = "site__organization"
    resource_classes = [ChargerResource]
    import_form_class = ImportForm
    export_form_class = ExportForm
    list_display = [
        "charge_point_id",
        "site",
        "organization",
        "connection",
        "connector_states",
        "registration_status",
        "ocpp_version",
        "firmware_version",
        "last_seen",
    ]
    list_filter = ["is_online", "registration_status", "ocpp_version", "security_profile", "site__organization", "site"]
    search_fields = ["charge_point_id", "serial_number", "vendor", "model", "site__name"]
    list_select_related = ["site", "site__organization"]
    autocomplete_fields = ["site"]
    readonly_fields = [
        "ocpp_version",
        "is_online",
        "auth_key",
        "status",
        "error_code",
        "status_since",
        "connected",
        "last_heartbeat",
        "last_seen",
        "last_boot",
        "created",
        "boot_reason",
        "iccid",
        "imsi",
        "device_model",
        "firmware_and_logs",
        "certificate_authority",
        "security_events",
    ]
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "charge_point_id",
                    "site",
                    "ocpp_version",
                    "preferred_ocpp_version",
                    "registration_status",
                    "heartbeat_interval",
                )
            },
        ),
        (
            "Hardware",
            {"fields": ("vendor", "model", "serial_number", "firmware_version", "boot_reason", "iccid", "imsi")},
        ),
        ("Security", {"fields": ("security_profile", "auth_key", "certificate_authority", "security_events")}),
        ("Charger status (connector 0)", {"fields": ("status", "error_code", "status_since")}),
        ("Device model (OCPP 2.0.1)", {"fields": ("device_model",)}),
        ("Firmware updates and log uploads", {"fields": ("firmware_and_logs",)}),
        (
            "Connection",
            {
                "fields": (
                    "is_online",
                    "connected",
                    "last_seen",
                    "last_heartbeat",
                    "last_boot",
                    "created",
                )
            },
        ),
    )
    inlines = [
        ConnectorInline, ConfigurationInline, CommandInline, StatusHistoryInline, ChargerReportInline,
        CertificateInline,
    ]  # fmt: skip
    actions = ["generate_auth_key", "rotate_auth_key", "soft_reset", "clear_cache", "trigger_status", "send_batch"]
    actions_detail = ["send_command"]

    status_since = local_time_column("status_timestamp", "Status since (charger's clock)", zone_path="site.timezone")
    connected = local_time_column("connected_at", "Connected", zone_path="site.timezone")
    last_heartbeat = local_time_column("last_heartbeat_at", "Last heartbeat", zone_path="site.timezone")
    last_seen = local_time_column("last_seen_at", "Last seen", zone_path="site.timezone")
    last_boot = local_time_column("last_boot_at", "Last boot", zone_path="site.timezone")
    created = local_time_column("created_at", "Added", zone_path="site.timezone", seconds=False)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Charger]:
        return super().get_queryset(request).prefetch_related("connectors")

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        fields = list(super().get_readonly_fields(request, obj))
        return fields + BOOT_FIELDS if obj is not None else fields

    @display(description="Organization", ordering="site__organization__name")
    def organization(self, charger: Charger) -> str:
        return charger.site.organization.name

    @display(description="Connection", label={"online": "success", "offline": "danger"})
    def connection(self, charger: Charger) -> str:
        return "online" if charger.is_online else "offline"

    @display(description="Connectors")
    def connector_states(self, charger: Charger) -> str:
        connectors = sorted(charger.connectors.all(), key=lambda c: (c.evse_id or 0, c.connector_id))
        if not connectors:
            return "-"
        return format_html_join(" ", "{}", ((connector_badge(c, with_number=True),) for c in connectors))

    @display(description="Device model")
    def device_model(self, charger: Charger) -> str:
        return device_model_link(charger) if charger.pk else "-"

    @display(description="Security events")
    def security_events(self, charger: Charger) -> str:
        """The charger's critical events no one has acknowledged yet (S13), and a link to all."""
        if not charger.pk:
            return "-"
        raised = needing_attention(charger.security_events.all()).count()
        url = reverse("admin:sites_securityevent_changelist") + f"?charger__id__exact={charger.pk}"
        return format_html(
            '<a href="{}">{} critical, not acknowledged</a> <a href="{}">(all)</a>',
            url + "&attention=raised", raised, url,
        )  # fmt: skip

    @display(description="Certificate authority")
    def certificate_authority(self, charger: Charger) -> str:
        """Who signs the chargers' CSRs: the configured CA's subject, validity and fingerprint
        (its key stays in its file), or why none signs."""
        signer = certificate_signer()
        summary = getattr(signer, "summary", lambda: None)()
        if summary is None:
            if signer.problem():  # names the server's settings: for the logs, not for operators
                return (
                    "No certificate authority configured, or its files cannot be read: chargers' certificate "
                    "requests are refused until the platform administrator sets one up."
                )
            return "An external signer"
        return format_html(
            "{}<br>valid {} to {}<br>SHA-256 {}",
            summary.subject, format_day(summary.not_before.date()), format_day(summary.not_after.date()),
            summary.fingerprint_sha256,
        )  # fmt: skip

    @display(description="Latest status")
    def firmware_and_logs(self, charger: Charger) -> str:
        """The latest status of each job kind, with the command that started it (N01.FR.07, L01.FR.10)."""
        latest = latest_job_statuses(charger) if charger.pk else {}
        if not latest:
            return "-"
        rows = (
            (report.get_kind_display(), report.status, format_local(report.received_at, charger.site.timezone),
             f" (command #{report.command_id})" if report.command_id else "")
            for report in latest.values()
        )  # fmt: skip
        return format_html_join("", "<div>{}: {} at {}{}</div>", rows)

    @display(description="HTTP Basic key")
    def auth_key(self, charger: Charger) -> str:
        # Write-only: the admin says whether a key is set, never what it is (S6).
        return "set (hidden)" if charger.has_auth_key else "not set"

    def save_formset(self, request: HttpRequest, form, formset, change: bool) -> None:
        if formset.model is not ConfigurationKey:
            super().save_formset(request, form, formset, change)
            return
        # Not saved here: each edit becomes a ChangeSetting to the charger.
        if not request.user.has_perm(command_permission("change_setting"), formset.instance):
            if any(f.has_changed() for f in formset.forms):
                messages.error(request, "You may not change a charger's configuration.")
            return
        for entry_form in formset.forms:
            entry = entry_form.instance
            if not entry_form.has_changed() or entry.readonly:
                continue
            try:
                request_command(
                    charger=entry.charger,
                    intent=ChangeSetting(key=entry.key, value=entry_form.cleaned_data["value"]),
                    requested_by=request.user,
                    via=Command.Via.ADMIN,
                )
            except ValidationError as error:  # e.g. AuthorizationKey: only the rotation action sets it
                messages.error(request, f"{entry.key} not changed: {' '.join(error.messages)}")
                continue
            messages.info(request, f"Change of {entry.key} queued; the value changes once accepted.")

    @action(description="Send a command", url_path="command")
    def send_command(self, request: HttpRequest, object_id: str):
        """One page for every operator command: pick an intent, fill in its form, queue it."""
        charger = get_object_or_404(self.get_queryset(request), pk=object_id)
        allowed = {
            kind: form
            for kind, form in command_forms_for(charger).items()
            if request.user.has_perm(form.permission(), charger)
        }
        chosen = request.GET.get("intent") or request.POST.get("command_intent")
        form_class = allowed.get(chosen)
        if chosen and form_class is None:
            raise PermissionDenied
        form = None
        if form_class is not None:
            form = form_class(request.POST if request.method == "POST" else None)
            command = self._queue_from_form(request, charger, form) if form.is_bound and form.is_valid() else None
            if command is not None:
                messages.success(
                    request, f"{form_class.title()} queued (command {command.pk}); its result appears below."
                )
                return HttpResponseRedirect(reverse("admin:sites_charger_change", args=[charger.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": f"Send a command to {charger.charge_point_id}",
            "charger": charger,
            "intents_allowed": sorted((form.title(), kind) for kind, form in allowed.items()),
            "chosen": chosen,
            "chosen_title": form_class.title() if form_class else "",
            "form": form,
            "help_text": form_class.help_text if form_class else "",
        }
        return TemplateResponse(request, "admin/sites/charger/send_command.html", context)

    @staticmethod
    def _queue_from_form(request: HttpRequest, charger: Charger, form: CommandForm) -> Command | None:
        """Queue the form's intent; what the outbound port refuses for this charger (an
        unknown connector, a private URL, ...) becomes an error on the form."""
        try:
            return request_command(
                charger=charger, intent=form.intent(), requested_by=request.user, via=Command.Via.ADMIN
            )
        except ValidationError as error:
            form.add_error(None, error)
            return None

    # What the list's actions declare (Django offers an action only to those who hold its
    # permission in some organization; each action checks every charger's organization).
    def has_send_rotate_key_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("rotate_key"))

    def has_send_reset_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("reset"))

    def has_send_clear_cache_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("clear_cache"))

    def has_send_trigger_message_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(command_permission("trigger_message"))

    def has_issue_key_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(CHARGER_KEY_PERMISSION)

    @admin.action(
        description="Rotate key over OCPP",
        permissions=["send_rotate_key"],
    )
    def rotate_auth_key(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        """The new key takes effect only when the charger answers Accepted (S7)."""
        require_permission(request, command_permission("rotate_key"), queryset)
        for charger in queryset:
            rotate_charger_key(charger=charger, requested_by=request.user)
        self.message_user(request, f"Key rotation queued for {queryset.count()} charger(s).")

    def has_send_batch_permission(self, request: HttpRequest) -> bool:
        return bool(batch_forms(request))

    @admin.action(description="Send a command to the selected chargers (batch)", permissions=["send_batch"])
    def send_batch(self, request: HttpRequest, queryset: QuerySet[Charger]) -> HttpResponse | None:
        return send_batch_page(self, request, queryset)

    @admin.action(description="Soft reset", permissions=["send_reset"])
    def soft_reset(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        _queue_for_each(self, request, queryset, Reset(hard=False))

    @admin.action(description="Clear authorization cache", permissions=["send_clear_cache"])
    def clear_cache(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        _queue_for_each(self, request, queryset, ClearCache())

    @admin.action(description="Ask for a status report", permissions=["send_trigger_message"])
    def trigger_status(self, request: HttpRequest, queryset: QuerySet[Charger]) -> None:
        require_permission(request, command_permission(TriggerMessage.kind), queryset)
        queued, refused = 0, []
        for charger in queryset.prefetch_related("connectors"):
            try:
                for intent in status_requests(charger):
                    request_command(charger=charger, intent=intent, requested_by=request.user, via=Command.Via.ADMIN)
                    queued += 1
            except ValidationError as error:
                refused.append(f"{charger.charge_point_id}: {' '.join(error.messages)}")
        self.message_user(request, f"{queued} status request(s) queued; see each command history.")
        if refused:
            self.message_user(request, "Not asked: " + "; ".join(refused), level=messages.WARNING)

    @admin.action(description="Generate a new HTTP Basic key (shown once)", permissions=["issue_key"])
    def generate_auth_key(self, request: HttpRequest, queryset: QuerySet[Charger]) -> TemplateResponse:
        """The old keys stop working at once, so the operator confirms the list first (as
        with Django's delete_selected); the permission counts per charger's organization."""
        require_permission(request, CHARGER_KEY_PERMISSION, queryset)
        if request.POST.get("post") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "title": "Generate new HTTP Basic keys?",
                "chargers": queryset.select_related("site__organization"),
                "action_checkbox_name": helpers.ACTION_CHECKBOX_NAME,
                "action_name": "generate_auth_key",
                "opts": self.model._meta,
            }
            return TemplateResponse(request, "admin/sites/charger/issue_keys_confirmation.html", context)
        issued = [
            (charger.charge_point_id, issue_charger_key(charger=charger, issued_by=request.user, via="admin"))
            for charger in queryset
        ]
        return render_issued_keys(self, request, issued)


@admin.register(Connector)
class ConnectorAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "charger__site__organization"
    list_display = ["__str__", "charger", "evse_id", "connector_id", "state", "error_code", "status_time"]
    list_filter = ["status", "error_code", "charger__site__organization"]
    search_fields = ["charger__charge_point_id"]
    list_select_related = ["charger__site"]
    autocomplete_fields = ["charger"]
    readonly_fields = CONNECTOR_SHOWN_FIELDS
    status_time = local_time_column("status_timestamp", "Status since (charger's clock)")

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        # The stored status_timestamp is shown as status_time (in the site's time zone).
        return [name for name in super().get_fields(request, obj) if name != "status_timestamp"]

    @display(description="Status", ordering="status")
    def state(self, connector: Connector) -> str:
        return connector_badge(connector)


class AdoptForm(forms.Form):
    site = forms.ModelChoiceField(queryset=Site.objects.select_related("organization"))
    connector_count = forms.IntegerField(min_value=1, max_value=32, initial=1)


@admin.register(UnknownCharger)
class UnknownChargerAdmin(PlatformOnlyAdmin, ModelAdmin):
    """The inbox of connection attempts by unknown charge point ids (S1)."""

    list_display = [
        "charge_point_id",
        "inbox_state",
        "attempts",
        "first_seen",
        "last_seen",
        "remote_address",
        "vendor",
        "model",
        "serial_number",
    ]
    list_filter = ["state", "vendor"]
    search_fields = ["charge_point_id", "serial_number", "remote_address"]
    readonly_fields = [
        "charge_point_id",
        "attempts",
        "first_seen",
        "last_seen",
        "remote_address",
        "subprotocols",
        "vendor",
        "model",
        "serial_number",
        "firmware_version",
        "adopted_charger",
    ]
    actions = ["adopt", "dismiss"]
    # An unknown charger has no site yet: its times are in UTC, and say so.
    first_seen = local_time_column("first_seen_at", "First seen", zone_path="site")
    last_seen = local_time_column("last_seen_at", "Last seen", zone_path="site")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @display(description="State", label={"new": "warning", "adopted": "success", "dismissed": "default"})
    def inbox_state(self, unknown: UnknownCharger) -> str:
        return unknown.state

    @action(description="Adopt into a site (issues a key, shown once)")
    def adopt(self, request: HttpRequest, queryset: QuerySet[UnknownCharger]) -> TemplateResponse | None:
        pending = queryset.filter(state=UnknownChargerState.NEW)
        form = AdoptForm(request.POST if "apply" in request.POST else None)
        if form.is_bound and form.is_valid():
            issued = []
            for unknown in pending:
                charger, key = adopt_unknown_charger(
                    unknown=unknown,
                    site=form.cleaned_data["site"],
                    connector_count=form.cleaned_data["connector_count"],
                )
                self.log_change(request, unknown, f"Adopted as charger {charger.pk}.")
                issued.append((charger.charge_point_id, key))
            return render_issued_keys(self, request, issued)
        context = {
            **self.admin_site.each_context(request),
            "title": "Adopt unknown chargers",
            "form": form,
            "entries": pending,
            "action_name": "adopt",
        }
        return TemplateResponse(request, "admin/sites/unknowncharger/adopt.html", context)

    @action(description="Dismiss")
    def dismiss(self, request: HttpRequest, queryset: QuerySet[UnknownCharger]) -> None:
        updated = queryset.filter(state=UnknownChargerState.NEW).update(state=UnknownChargerState.DISMISSED)
        self.message_user(request, f"Dismissed {updated} entries.")


class SecurityEventAttentionFilter(admin.SimpleListFilter):
    """Critical events stay raised until an operator acknowledges them (S13)."""

    title = "attention"
    parameter_name = "attention"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [("raised", "Critical, not acknowledged"), ("acknowledged", "Acknowledged")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[SecurityEvent]) -> QuerySet[SecurityEvent]:
        if self.value() == "raised":
            return needing_attention(queryset)
        if self.value() == "acknowledged":
            return queryset.filter(acknowledged_at__isnull=False)
        return queryset


@admin.register(SecurityEvent)
class SecurityEventAdmin(TenantScopedAdmin, ModelAdmin):
    """The charger's security events and ours, append-only (S13): no one adds, changes or deletes
    them here; the critical ones are marked and stay raised until acknowledged."""

    tenant_path = "charger__site__organization"
    list_display = [
        "recorded", "charge_point_id", "kind", "event_source", "event_severity", "is_critical", "attention",
        "repeats", "occurred", "about",
    ]  # fmt: skip
    list_select_related = ["charger__site"]
    list_filter = [
        SecurityEventAttentionFilter, "critical", "severity", "source", "kind", "charger",
        "charger__site__organization",
    ]  # fmt: skip
    search_fields = ["charge_point_id", "kind", "tech_info"]
    date_hierarchy = "timestamp"
    readonly_fields = [
        "charger", "charge_point_id", "kind", "source", "severity", "critical", "tech_info", "detail", "occurred",
        "recorded", "repeats", "last_seen", "acknowledged", "acknowledged_by",
    ]  # fmt: skip
    fields = readonly_fields
    actions = ["acknowledge"]
    recorded = local_time_column("timestamp", "Recorded")
    occurred = local_time_column("occurred_at", "Occurred (charger's clock)")
    last_seen = local_time_column("last_seen_at", "Last reported")
    acknowledged = local_time_column("acknowledged_at", "Acknowledged")

    @display(description="Critical", label={"critical": "danger", "": "info"})
    def is_critical(self, event: SecurityEvent) -> str:
        return "critical" if event.critical else ""

    @display(description="Attention", label={"raised": "danger", "acknowledged": "success", "": "info"})
    def attention(self, event: SecurityEvent) -> str:
        if event.acknowledged_at is not None:
            return "acknowledged"
        return "raised" if event.critical else ""

    @display(description="Source")
    def event_source(self, event: SecurityEvent) -> str:
        return "charger" if event.source == SecurityEvent.Source.CHARGER else "central system"

    @display(description="What it means")
    def about(self, event: SecurityEvent) -> str:
        return event_type(event.kind).description

    @display(description="Severity", label={"info": "info", "warning": "warning", "critical": "danger"})
    def event_severity(self, event: SecurityEvent) -> str:
        return event.severity

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # append-only

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # append-only

    def has_acknowledge_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(ACKNOWLEDGE_SECURITY_EVENTS)

    @admin.action(description="Acknowledge", permissions=["acknowledge"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[SecurityEvent]) -> None:
        """The permission counts in each event's organization (S16)."""
        require_permission(request, ACKNOWLEDGE_SECURITY_EVENTS, queryset.select_related("charger__site"))
        count = acknowledge_security_events(queryset, by=request.user)
        self.message_user(request, f"Acknowledged {count} security event(s).")


@admin.register(ConnectionEvent)
class ConnectionEventAdmin(TenantScopedAdmin, ModelAdmin):
    """When each charger went online or offline (written by the gateway's services; the
    uptime report reads it). Read-only."""

    tenant_path = "charger__site__organization"
    list_display = ["time", "charger", "kind", "reason"]
    list_filter = ["kind", "reason", "charger__site__organization"]
    list_select_related = ["charger__site"]
    search_fields = ["charger__charge_point_id"]
    date_hierarchy = "at"
    readonly_fields = ["charger", "kind", "time", "reason"]
    fields = readonly_fields
    time = local_time_column("at", "Time")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


COMMAND_TIMES = {
    "created_at": "created", "next_attempt_at": "next_attempt", "sent_at": "sent", "finished_at": "finished",
    "expires_at": "expires",
}  # fmt: skip


@admin.register(Command)
class CommandAdmin(TenantScopedAdmin, ModelAdmin):
    """Every command sent or waiting, with its outcome (read-only: commands are sent from
    the charger page, the charger list or the API)."""

    tenant_path = "charger__site__organization"

    list_display = [
        "created", "charger", "intent", "action", "command_status", "requested_by", "attempts", "finished",
    ]  # fmt: skip
    list_filter = ["status", "intent", "requested_via", "charger__site__organization"]
    search_fields = ["charger__charge_point_id", "intent", "action", "idempotency_key", "message_id"]
    list_select_related = ["charger__site", "requested_by"]
    date_hierarchy = "created_at"
    # Its times in the charger's site time zone, to the second, in place of the stored fields.
    readonly_fields = [
        *(COMMAND_TIMES.get(field.name, field.name) for field in Command._meta.fields), "job_status",
    ]  # fmt: skip
    fields = readonly_fields
    created = local_time_column("created_at", "Requested")
    next_attempt = local_time_column("next_attempt_at", "Next attempt")
    sent = local_time_column("sent_at", "Sent")
    finished = local_time_column("finished_at", "Finished")
    expires = local_time_column("expires_at", "Expires")

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        return Command.objects.select_related("charger__site").get(pk=obj.pk) if obj is not None else None

    inlines = [JobStatusInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    @display(
        description="Status",
        ordering="status",
        label={
            "queued": "default",
            "sent": "info",
            "accepted": "success",
            "rejected": "warning",
            "failed": "danger",
            "timed_out": "danger",
            "expired": "default",
        },
    )
    def command_status(self, command: Command) -> str:
        return command.status

    @display(description="Job status")
    def job_status(self, command: Command) -> str:
        return job_status_text(command)


class ChargerShareForm(forms.ModelForm):
    class Meta:
        model = ChargerShare
        fields = ["charger", "partner"]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # Partners are other organizations: offered by kind, not by the user's own tenancy.
        if "partner" in self.fields:  # absent on a saved share, which is read-only
            self.fields["partner"].queryset = Organization.objects.filter(kind=Organization.Kind.PARTNER)


@admin.register(ChargerShare)
class ChargerShareAdmin(WriteOnceAdmin, TenantScopedAdmin, ModelAdmin):
    """Chargers shared with partner organizations: their partners may see the charger and its
    sessions and start or stop charging on it through the API."""

    tenant_path = "charger__site__organization"
    form = ChargerShareForm
    list_display = ["charger", "partner", "shared"]
    # Partners are other organizations: offered as far as this changelist's (scoped) shares name them.
    list_filter = [("partner", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["charger__charge_point_id", "partner__name"]
    list_select_related = ["charger__site", "partner"]
    shared = local_time_column("created_at", "Shared since", seconds=False)

    def save_model(self, request: HttpRequest, obj: ChargerShare, form, change: bool) -> None:
        if not request.user.has_perm(model_permission(Charger, "change"), obj.charger):
            raise PermissionDenied
        share = share_charger(charger=obj.charger, partner=obj.partner)
        obj.pk, obj.created_at = share.pk, share.created_at

    def delete_model(self, request: HttpRequest, obj: ChargerShare) -> None:
        unshare_charger(share=obj)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for share in queryset:
            unshare_charger(share=share)
