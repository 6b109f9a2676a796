import json
from typing import Any, cast

from django import forms
from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.forms.models import BaseInlineFormSet
from django.http import Http404, HttpResponseRedirect, JsonResponse
from django.urls import path
from django.utils.html import format_html
from import_export.admin import ImportExportModelAdmin
from simple_history.admin import SimpleHistoryAdmin
from unfold.admin import ModelAdmin, TabularInline
from unfold.contrib.import_export.forms import ExportForm, ImportForm
from unfold.decorators import action, display

from accounts.admin_tenancy import TenantScopedAdmin, WriteOnceAdmin, require_permission
from accounts.roles import command_permission
from charging.local_list import DIFFERENTIAL, FULL, send_local_list
from charging.models import (
    ChargingProfile,
    ChargingProfileAssignment,
    ChargingSession,
    IdToken,
    IdTokenPlace,
    LocalAuthorizationList,
    LocalListEntry,
    MeterValue,
    Reservation,
    TransactionEventRecord,
    UnmatchedStop,
)
from charging.reservations import ACTIVE_STATUSES, cancel, check_reservation, reserve
from charging.resources import IdTokenResource
from charging.selectors import local_time, session_figures, session_page, stuck_sessions
from charging.session_admin import SessionOperationsMixin, StuckSessionFilter
from charging.smart_charging import check_assignment, clear_charging_profile, set_charging_profile, validate_periods
from common.times import local_time_column


class IdTokenPlaceFormSet(BaseInlineFormSet):
    def clean(self) -> None:
        """The places of a token are chargers of its own organization."""
        super().clean()
        for form in self.forms:
            charger = getattr(form, "cleaned_data", {}).get("charger")
            if charger is not None and charger.site.organization_id != self.instance.organization_id:
                form.add_error("charger", "Not a charger of the token's organization.")


class IdTokenPlaceInline(TabularInline):
    """Where the token may charge; none: at every charger of its organization (2.0.1 C01.FR.19-22)."""

    model = IdTokenPlace
    formset = IdTokenPlaceFormSet
    fields = ["charger", "evse_id"]
    autocomplete_fields = ["charger"]
    extra = 0


@admin.register(IdToken)
class IdTokenAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin, ImportExportModelAdmin):
    tenant_path = "organization"
    resource_classes = [IdTokenResource]
    import_form_class = ImportForm
    export_form_class = ExportForm
    list_display = ["id_tag", "organization", "holder_name", "kind", "token_status", "expires_at", "parent_id_tag"]
    list_filter = ["status", "kind", "organization"]
    search_fields = ["id_tag", "holder_name", "parent_id_tag"]
    list_select_related = ["organization"]
    autocomplete_fields = ["organization"]
    inlines = [IdTokenPlaceInline]

    @display(
        description="Status",
        ordering="status",
        label={"Accepted": "success", "Blocked": "danger", "Expired": "warning", "Invalid": "danger"},
    )
    def token_status(self, token: IdToken) -> str:
        return token.effective_status()


class MeterValueInline(TabularInline):
    """Telemetry as the charger sent it: read-only, paginated (a session can hold thousands),
    its times in the site's time zone to the second."""

    model = MeterValue
    verbose_name_plural = "meter values (as the charger sent them)"
    fields = ["sampled_at", "received", "measurand", "phase", "unit", "context", "location", "raw_value", "flag"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    per_page = 25

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charger__site")

    @display(description="Sampled at (charger's clock)")
    def sampled_at(self, reading: MeterValue) -> str:
        return local_time(reading.timestamp, reading.charger.site.timezone)

    @display(description="Received")
    def received(self, reading: MeterValue) -> str:
        return local_time(reading.received_at, reading.charger.site.timezone)


class TransactionEventInline(TabularInline):
    """The events a charger reported the transaction in (2.0.1 TransactionEvent), as received:
    read-only, in sequence order, so a reviewer sees what was missing, late or sent offline."""

    model = TransactionEventRecord
    verbose_name_plural = "transaction events (as the charger sent them)"
    fields = ["seq_no", "kind", "trigger_reason", "charging_state", "sent_at", "received", "offline", "applied",
              "frame"]  # fmt: skip
    readonly_fields = fields
    ordering = ["seq_no"]
    extra = 0
    can_delete = False
    per_page = 25

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("charger__site")

    @display(description="Sent at (charger's clock)")
    def sent_at(self, event: TransactionEventRecord) -> str:
        return local_time(event.timestamp, event.charger.site.timezone)

    @display(description="Received")
    def received(self, event: TransactionEventRecord) -> str:
        return local_time(event.received_at, event.charger.site.timezone)

    @display(description="As sent")
    def frame(self, event: TransactionEventRecord) -> str:
        """The event's payload one click away, rather than a JSON dump in the row."""
        return format_html(
            '<details><summary class="cursor-pointer">show</summary>'
            '<pre class="whitespace-pre-wrap break-all font-mono text-xs">{}</pre></details>',
            json.dumps(event.payload, indent=2, sort_keys=True, default=str),
        )


@admin.register(ChargingSession)
class ChargingSessionAdmin(SessionOperationsMixin, TenantScopedAdmin, ModelAdmin):
    """A session as the charger reported it: nothing of it is edited here. What an operator does
    to a session is a named action with a reason (charging.services.corrections): stop it, ask
    the charger about it, close it when its stop never came, mark it reviewed."""

    tenant_path = "charger__site__organization"
    list_display = [
        "transaction",
        "charger",
        "connector_number",
        "id_tag",
        "session_state",
        "started",
        "stopped",
        "energy_kwh",
        "stop_reason",
        "needs_review",
    ]
    list_filter = [
        StuckSessionFilter,
        "state",
        "needs_review",
        "stop_reason",
        "charger__site__organization",
        "charger__site",
        "started_at",
    ]
    search_fields = ["charger__charge_point_id", "id_tag", "transaction_uid", "=transaction_id"]
    list_select_related = ["charger__site", "connector"]
    date_hierarchy = "started_at"
    list_before_template = "admin/charging/chargingsession/list_before.html"
    change_form_before_template = "admin/charging/chargingsession/session_header.html"
    fieldsets = (
        (
            "As the charger reported it (times in the site's time zone)",
            {
                "fields": (
                    ("transaction_id", "transaction_uid"),
                    ("started_local", "start_received_local"),
                    ("stopped_local", "stop_received_local"),
                    ("meter_start_wh", "meter_stop_wh"),
                    ("stop_id_tag", "last_power_w"),
                )
            },
        ),
    )
    readonly_fields = [
        "transaction_id",
        "transaction_uid",
        "started_local",
        "start_received_local",
        "stopped_local",
        "stop_received_local",
        "meter_start_wh",
        "meter_stop_wh",
        "stop_id_tag",
        "last_power_w",
    ]
    inlines = [TransactionEventInline, MeterValueInline]

    def get_inline_instances(self, request, obj=None):
        inlines = super().get_inline_instances(request, obj)
        if obj is not None and not obj.events.exists():  # a 1.6 session has no transaction events
            inlines = [inline for inline in inlines if not isinstance(inline, TransactionEventInline)]
        return inlines

    def get_readonly_fields(self, request, obj=None) -> list[str]:
        # Every stored field too, whatever a fieldset names: a post never changes a session.
        return [*self.readonly_fields, *(field.name for field in self.model._meta.fields)]

    def has_add_permission(self, request) -> bool:
        return False  # sessions are opened by chargers

    def has_delete_permission(self, request, obj=None) -> bool:
        # Deleting a session deletes billing data: platform admins only, with Django's confirmation.
        return request.user.is_superuser and super().has_delete_permission(request, obj)

    def changelist_view(self, request, extra_context=None):
        stuck = stuck_sessions(sessions=self.get_queryset(request)).count()
        extra_context = {
            **(extra_context or {}),
            "stuck_count": stuck,
            "stuck_after_minutes": settings.SESSION_STUCK_AFTER,
        }
        return super().changelist_view(request, extra_context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        if request.method == "POST":
            # Nothing on the page is editable: a post saves nothing (and cannot write back, over
            # a charger's newer readings, the values the page was loaded with).
            return HttpResponseRedirect(request.path)
        session = self.get_object(request, unquote(object_id))
        extra_context = {**(extra_context or {}), "show_save": False, "show_save_and_continue": False,
                         "show_save_and_add_another": False}  # fmt: skip
        if session is not None:
            extra_context["page"] = session_page(session)
        return super().change_view(request, object_id, form_url, extra_context)

    def get_urls(self):
        live = path(
            "<path:object_id>/live/",
            self.admin_site.admin_view(self.live_view),
            name="charging_chargingsession_live",
        )
        return [live, *super().get_urls()]

    def live_view(self, request, object_id: str) -> JsonResponse:
        """An active session's changing figures and chart, polled by its page."""
        session = self.get_object(request, unquote(object_id))
        if session is None or not self.has_view_permission(request, session):
            raise Http404
        return JsonResponse(session_figures(session))

    def get_object(self, request, object_id, from_field=None):
        session = super().get_object(request, object_id, from_field)
        if session is not None:
            session = ChargingSession.objects.select_related("charger__site", "connector", "id_token").get(
                pk=session.pk
            )
        return session

    @display(description="Transaction", ordering="transaction_id")
    def transaction(self, session: ChargingSession) -> str:
        return str(session.transaction_id or session.transaction_uid)

    @display(description="Connector", ordering="connector__connector_id")
    def connector_number(self, session: ChargingSession) -> int:
        return session.connector.connector_id

    @display(description="State", ordering="state", label={"active": "info", "completed": "success"})
    def session_state(self, session: ChargingSession) -> str:
        return session.state

    @display(description="Energy (kWh)", ordering="energy_wh")
    def energy_kwh(self, session: ChargingSession) -> str:
        return f"{session.energy_wh / 1000:.3f}"

    @display(description="Started", ordering="started_at")
    def started(self, session: ChargingSession) -> str:
        """In the list: the site's local time to the second, with its zone."""
        return local_time(session.started_at, session.charger.site.timezone)

    @display(description="Stopped", ordering="stopped_at")
    def stopped(self, session: ChargingSession) -> str:
        return local_time(session.stopped_at, session.charger.site.timezone) or "-"

    def _local(self, session: ChargingSession, moment) -> str:
        return local_time(moment, session.charger.site.timezone) or "-"

    @display(description="Started (charger's clock)", ordering="started_at")
    def started_local(self, session: ChargingSession) -> str:
        return self._local(session, session.started_at)

    @display(description="Start received")
    def start_received_local(self, session: ChargingSession) -> str:
        return self._local(session, session.start_received_at)

    @display(description="Stopped (charger's clock)", ordering="stopped_at")
    def stopped_local(self, session: ChargingSession) -> str:
        return self._local(session, session.stopped_at)

    @display(description="Stop received")
    def stop_received_local(self, session: ChargingSession) -> str:
        return self._local(session, session.stop_received_at)


@admin.register(MeterValue)
class MeterValueAdmin(TenantScopedAdmin, ModelAdmin):
    """Telemetry as the chargers sent it: read-only for everyone (a session's energy and price
    come from it); times in the site's time zone to the second."""

    tenant_path = "charger__site__organization"
    list_display = [
        "sampled_at",
        "charger",
        "connector",
        "session",
        "measurand",
        "phase",
        "raw_value",
        "unit",
        "context",
    ]
    list_filter = [
        "measurand",
        "context",
        "unit",
        "phase",
        ("flag", admin.EmptyFieldListFilter),
        "charger__site__organization",
    ]
    search_fields = ["charger__charge_point_id", "=session__transaction_id"]
    list_select_related = ["charger__site", "connector", "connector__charger", "session", "session__charger"]
    date_hierarchy = "timestamp"
    show_full_result_count = False  # COUNT(*) over telemetry is slow on big tables

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @display(description="Sampled at (charger's clock)", ordering="timestamp")
    def sampled_at(self, reading: MeterValue) -> str:
        return local_time(reading.timestamp, reading.charger.site.timezone)


@admin.register(UnmatchedStop)
class UnmatchedStopAdmin(TenantScopedAdmin, ModelAdmin):
    """Charger-reported stops that matched no session (R5, R7), kept for review."""

    tenant_path = "charger__site__organization"

    list_display = [
        "received",
        "charger",
        "transaction_id",
        "id_tag",
        "stopped",
        "meter_stop_wh",
        "reason",
        "resolved",
    ]
    list_filter = ["resolved", "charger__site__organization"]
    search_fields = ["charger__charge_point_id", "id_tag", "=transaction_id"]
    list_select_related = ["charger__site"]
    readonly_fields = [
        "charger",
        "transaction_id",
        "id_tag",
        "stopped",
        "received",
        "meter_stop_wh",
        "reason",
        "transaction_data",
        "note",
    ]
    received = local_time_column("received_at", "Received")
    stopped = local_time_column("stopped_at", "Stopped (charger's clock)")

    def get_fields(self, request, obj=None) -> list[str]:
        # The stored times are shown as `received` and `stopped` (in the site's time zone).
        return [name for name in super().get_fields(request, obj) if name not in ("received_at", "stopped_at")]

    def has_add_permission(self, request) -> bool:
        return False


class ReservationForm(forms.ModelForm):
    class Meta:
        model = Reservation
        fields = ["charger", "connector", "id_token", "expires_at"]

    def clean(self) -> dict:
        # A ModelForm's clean() returns cleaned_data; the stubs type every form's as `dict | None`.
        data = cast(dict[str, Any], super().clean())
        try:  # the rules the API follows too (what the outbound port would refuse shown here, not on save)
            check_reservation(
                charger=data.get("charger"),
                connector=data.get("connector"),
                id_token=data.get("id_token"),
                expires_at=data.get("expires_at"),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return data


@admin.register(Reservation)
class ReservationAdmin(WriteOnceAdmin, TenantScopedAdmin, ModelAdmin):
    """Adding a reservation reserves on the charger; its status follows the charger's answer."""

    tenant_path = "charger__site__organization"

    form = ReservationForm
    list_display = ["pk", "charger", "connector", "id_token", "expires", "reservation_status", "charger_answer"]
    list_filter = ["status", "charger__site__organization"]
    search_fields = ["charger__charge_point_id", "id_token__id_tag", "=id"]
    list_select_related = ["charger__site", "connector", "connector__charger", "id_token"]
    expires = local_time_column("expires_at", "Expires", seconds=False)
    autocomplete_fields = ["charger", "connector", "id_token"]
    actions = ["cancel_reservations"]

    def save_model(self, request, obj: Reservation, form, change: bool) -> None:
        if not request.user.has_perm(command_permission("reserve"), obj.charger):
            raise PermissionDenied
        created = reserve(
            charger=obj.charger,
            connector=obj.connector,
            id_token=obj.id_token,
            expires_at=obj.expires_at,
            requested_by=request.user,
        )
        obj.pk, obj.status, obj.created_at = created.pk, created.status, created.created_at

    @display(
        description="Status",
        ordering="status",
        label={
            "accepted": "success",
            "used": "info",
            "requested": "default",
            "rejected": "warning",
            "failed": "danger",
        },
    )
    def reservation_status(self, reservation: Reservation) -> str:
        return reservation.status

    @action(description="Cancel reservation (on the charger)")
    def cancel_reservations(self, request, queryset) -> None:
        require_permission(request, command_permission("cancel_reservation"), (r.charger for r in queryset))
        active = queryset.filter(status__in=ACTIVE_STATUSES)
        for reservation in active:
            cancel(reservation=reservation, requested_by=request.user)
        self.message_user(request, f"Cancellation queued for {active.count()} reservation(s).")


class LocalListEntryInline(TabularInline):
    model = LocalListEntry
    fields = ["id_tag", "status", "expires_at", "parent_id_tag"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    per_page = 50

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(LocalAuthorizationList)
class LocalAuthorizationListAdmin(TenantScopedAdmin, ModelAdmin):
    """Each charger's local authorization list: the version it holds, its entries, and
    actions to send the organization's id tokens to it."""

    tenant_path = "site__organization"

    list_display = ["charge_point_id", "site", "local_list_version", "entries"]
    list_filter = ["site__organization", "site"]
    search_fields = ["charge_point_id"]
    list_select_related = ["site"]
    fields = ["charge_point_id", "site", "local_list_version"]
    readonly_fields = fields
    inlines = [LocalListEntryInline]
    actions = ["send_full", "send_differential"]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(entry_count=Count("local_list"))

    @display(description="Entries", ordering="entry_count")
    def entries(self, charger) -> int:
        return charger.entry_count

    def _send(self, request, queryset, update_type: str) -> None:
        require_permission(request, command_permission("send_local_list"), queryset)
        for charger in queryset:
            send_local_list(charger=charger, update_type=update_type, requested_by=request.user)
        self.message_user(request, f"Local list ({update_type}) queued for {queryset.count()} charger(s).")

    @action(description="Send the local list (full)")
    def send_full(self, request, queryset) -> None:
        self._send(request, queryset, FULL)

    @action(description="Send the local list (differential)")
    def send_differential(self, request, queryset) -> None:
        self._send(request, queryset, DIFFERENTIAL)


class ChargingProfileForm(forms.ModelForm):
    class Meta:
        model = ChargingProfile
        fields = "__all__"  # noqa: DJ007 (every field of the profile is edited here)

    def clean_periods(self):
        validate_periods(self.cleaned_data["periods"])
        return self.cleaned_data["periods"]


@admin.register(ChargingProfile)
class ChargingProfileAdmin(TenantScopedAdmin, SimpleHistoryAdmin, ModelAdmin):
    tenant_path = "organization"
    form = ChargingProfileForm
    list_display = ["name", "organization", "purpose", "stack_level", "kind", "charging_rate_unit"]
    list_filter = ["purpose", "kind", "organization"]
    search_fields = ["name"]
    autocomplete_fields = ["organization"]


class AssignmentForm(forms.ModelForm):
    class Meta:
        model = ChargingProfileAssignment
        fields = ["profile", "charger", "connector_id", "transaction_id"]

    def clean(self) -> dict:
        # A ModelForm's clean() returns cleaned_data; the stubs type every form's as `dict | None`.
        data = cast(dict[str, Any], super().clean())
        try:  # the rules the API follows too (what the outbound port would refuse shown here, not on save)
            check_assignment(
                profile=data.get("profile"),
                charger=data.get("charger"),
                connector_id=data.get("connector_id"),
                transaction_id=data.get("transaction_id"),
            )
        except ValidationError as error:
            self.add_error(None, error)
        return data


@admin.register(ChargingProfileAssignment)
class ChargingProfileAssignmentAdmin(WriteOnceAdmin, TenantScopedAdmin, ModelAdmin):
    """Adding an assignment sends the profile to the charger; what was sent is kept."""

    tenant_path = "charger__site__organization"

    form = AssignmentForm
    list_display = ["sent", "profile", "charger", "connector_id", "transaction_id", "status"]
    list_filter = ["status", "profile__purpose", "charger__site__organization"]
    search_fields = ["charger__charge_point_id", "profile__name"]
    list_select_related = ["profile", "charger__site"]
    sent = local_time_column("created_at", "Sent", seconds=False)
    autocomplete_fields = ["charger", "profile"]
    actions = ["clear_profiles"]

    def save_model(self, request, obj: ChargingProfileAssignment, form, change: bool) -> None:
        if not request.user.has_perm(command_permission("set_charging_profile"), obj.charger):
            raise PermissionDenied
        created = set_charging_profile(
            profile=obj.profile,
            charger=obj.charger,
            connector_id=obj.connector_id,
            transaction_id=obj.transaction_id,
            requested_by=request.user,
        )
        obj.pk, obj.status, obj.sent_payload, obj.created_at = (
            created.pk,
            created.status,
            created.sent_payload,
            created.created_at,
        )

    @action(description="Clear from the charger")
    def clear_profiles(self, request, queryset) -> None:
        require_permission(request, command_permission("clear_charging_profile"), (a.charger for a in queryset))
        active = queryset.filter(status=ChargingProfileAssignment.Status.ACCEPTED)
        for assignment in active:
            clear_charging_profile(assignment=assignment, requested_by=request.user)
        self.message_user(request, f"Clearing queued for {active.count()} assignment(s).")
