"""Alerts in the admin (issue 19): the list an operator works through (unresolved first, by
default), acknowledge and resolve (with what was done) from the list or an alert's page, and
who in the organization is emailed which alerts. Alerts are raised and resolved by the system
(reports.alerts); people only acknowledge and resolve them, through the services."""

from collections.abc import Sequence

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from unfold.admin import ModelAdmin
from unfold.decorators import action, display
from unfold.widgets import UnfoldAdminTextInputWidget

from accounts.admin_tenancy import TenantScopedAdmin, require_permission
from accounts.models import Membership, User
from accounts.roles import HANDLE_ALERTS
from accounts.tenancy import organizations_of
from common.times import format_local
from reports.alerts import ALERTED_ROLES, UNRESOLVED, acknowledge_alerts, resolve_alerts
from reports.models import Alert, AlertKind, AlertState, AlertSubscription
from reports.selectors import unresolved_alert_count

ACTION_TEMPLATE = "admin/reports/alert/alert_action.html"
STATE_LABELS = {AlertState.OPEN: "danger", AlertState.ACKNOWLEDGED: "warning", AlertState.RESOLVED: "success"}


class AlertStateFilter(admin.SimpleListFilter):
    """Unresolved alerts (open or acknowledged) unless the operator asks for others."""

    title = "state"
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin) -> list[tuple[str, str]]:
        return [
            ("unresolved", "Unresolved"),
            (AlertState.OPEN, "Open"),
            (AlertState.ACKNOWLEDGED, "Acknowledged"),
            (AlertState.RESOLVED, "Resolved"),
            ("all", "All"),
        ]

    def choices(self, changelist):
        chosen = self.value() or "unresolved"
        for lookup, title in self.lookup_choices:
            yield {
                "selected": chosen == lookup,
                "query_string": changelist.get_query_string({self.parameter_name: lookup}),
                "display": title,
            }

    def queryset(self, request: HttpRequest, queryset: QuerySet[Alert]) -> QuerySet[Alert]:
        value = self.value() or "unresolved"
        if value == "unresolved":
            return queryset.filter(state__in=UNRESOLVED)
        if value in AlertState.values:
            return queryset.filter(state=value)
        return queryset


class ResolveForm(forms.Form):
    resolution = forms.CharField(
        label="What was done",
        max_length=255,
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"placeholder": "e.g. technician replaced the RCD"}),
        help_text="Kept with the alert and in the audit trail.",
    )


def _local(alert: Alert, moment) -> str:
    """In the charger's site time zone (UTC for an alert about no charger), to the second."""
    return format_local(moment, alert.charger.site.timezone if alert.charger else None) or "-"


@admin.register(Alert)
class AlertAdmin(TenantScopedAdmin, ModelAdmin):
    tenant_path = "organization"
    list_display = ["raised", "alert_kind", "summary", "charger_link", "alert_state", "handled_by"]
    list_display_links = ["summary"]
    list_filter = [AlertStateFilter, "kind", "organization"]
    list_select_related = ["charger__site", "organization", "acknowledged_by", "resolved_by"]
    search_fields = ["summary", "charger__charge_point_id"]
    readonly_fields = [
        "organization", "alert_kind", "summary", "charger_link", "session_link", "security_event_link",
        "alert_state", "raised", "acknowledged", "resolved", "resolution", "emailed",
    ]  # fmt: skip
    fields = readonly_fields
    actions = ["acknowledge", "resolve"]
    actions_detail = ["acknowledge_one", "resolve_one"]

    # --- columns ---------------------------------------------------------------------------

    @display(description="Raised", ordering="raised_at")
    def raised(self, alert: Alert) -> str:
        return _local(alert, alert.raised_at)

    @display(description="Kind", label={kind.label: "info" for kind in AlertKind})
    def alert_kind(self, alert: Alert) -> str:
        return alert.get_kind_display()

    @display(description="State", label={state.label: color for state, color in STATE_LABELS.items()})
    def alert_state(self, alert: Alert) -> str:
        return alert.get_state_display()

    @display(description="Charger")
    def charger_link(self, alert: Alert) -> str:
        if alert.charger is None:
            return "-"
        url = reverse("admin:sites_charger_change", args=[alert.charger_id])
        return format_html('<a href="{}">{}</a>', url, alert.charger.charge_point_id)

    @display(description="Session")
    def session_link(self, alert: Alert) -> str:
        if alert.session_id is None:
            return "-"
        url = reverse("admin:charging_chargingsession_change", args=[alert.session_id])
        return format_html('<a href="{}">Session {}</a>', url, alert.session_id)

    @display(description="Security event")
    def security_event_link(self, alert: Alert) -> str:
        if alert.security_event_id is None:
            return "-"
        url = reverse("admin:sites_securityevent_change", args=[alert.security_event_id])
        return format_html('<a href="{}">Event {}</a>', url, alert.security_event_id)

    @display(description="Handled by")
    def handled_by(self, alert: Alert) -> str:
        if alert.resolved_at is not None:
            return f"resolved by {alert.resolved_by or 'the system'}"
        if alert.acknowledged_by is not None:
            return f"acknowledged by {alert.acknowledged_by}"
        return "-"

    @display(description="Acknowledged")
    def acknowledged(self, alert: Alert) -> str:
        if alert.acknowledged_at is None:
            return "-"
        return f"{_local(alert, alert.acknowledged_at)} by {alert.acknowledged_by or 'someone since removed'}"

    @display(description="Resolved")
    def resolved(self, alert: Alert) -> str:
        if alert.resolved_at is None:
            return "-"
        who = alert.resolved_by or "the system (the condition ended)"
        return f"{_local(alert, alert.resolved_at)} by {who}"

    @display(description="Emailed")
    def emailed(self, alert: Alert) -> str:
        return _local(alert, alert.notified_at) if alert.notified_at else "not emailed (no subscriber)"

    # --- permissions: raised by the system, handled by people ------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # the page is read-only; acknowledging and resolving are actions

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_handle_permission(self, request: HttpRequest, object_id: str | None = None) -> bool:
        return request.user.has_perm(HANDLE_ALERTS)

    # --- list actions and buttons ----------------------------------------------------------

    @admin.action(description="Acknowledge", permissions=["handle"])
    def acknowledge(self, request: HttpRequest, queryset: QuerySet[Alert]) -> None:
        self._acknowledge(request, queryset)

    @admin.action(description="Resolve", permissions=["handle"])
    def resolve(self, request: HttpRequest, queryset: QuerySet[Alert]) -> HttpResponse | None:
        return self._resolve(request, list(queryset.select_related("charger")), single=False)

    @action(description="Acknowledge", url_path="acknowledge", permissions=["handle"])
    def acknowledge_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        self._acknowledge(request, self._detail(request, object_id))
        return HttpResponseRedirect(reverse("admin:reports_alert_change", args=[object_id]))

    @action(description="Resolve", url_path="resolve", permissions=["handle"])
    def resolve_one(self, request: HttpRequest, object_id: str) -> HttpResponse:
        alerts = list(self._detail(request, object_id).select_related("charger"))
        return self._resolve(request, alerts, single=True) or HttpResponseRedirect(
            reverse("admin:reports_alert_change", args=[object_id])
        )

    def _detail(self, request: HttpRequest, object_id: str) -> QuerySet[Alert]:
        alerts = self.get_queryset(request).filter(pk=object_id)
        if not alerts.exists():
            raise PermissionDenied
        return alerts

    def _acknowledge(self, request: HttpRequest, alerts: QuerySet[Alert]) -> None:
        """The permission counts in each alert's organization (S16)."""
        require_permission(request, HANDLE_ALERTS, alerts)
        count = acknowledge_alerts(alerts, by=request.user)
        if count:
            messages.success(request, f"Acknowledged {count} alert(s).")
        else:
            messages.warning(request, "Nothing to acknowledge: the alerts chosen were not open.")

    def _resolve(self, request: HttpRequest, alerts: Sequence[Alert], *, single: bool) -> HttpResponse | None:
        """A small form for what was done; once posted, resolve and go back."""
        require_permission(request, HANDLE_ALERTS, alerts)
        alerts = [alert for alert in alerts if alert.state in UNRESOLVED]
        if not alerts:
            messages.warning(request, "Nothing to resolve: the alerts chosen are resolved already.")
            return None
        if request.POST.get("confirm") == "yes":
            form = ResolveForm(request.POST)
            if form.is_valid():
                count = resolve_alerts(
                    Alert.objects.filter(pk__in=[alert.pk for alert in alerts]),
                    by=request.user,
                    resolution=form.cleaned_data["resolution"],
                )
                messages.success(request, f"Resolved {count} alert(s).")
                return None
        else:
            form = ResolveForm()
        context = {
            **self.admin_site.each_context(request),
            "title": "Resolve alerts" if len(alerts) > 1 else "Resolve this alert",
            "opts": self.model._meta,
            "alerts": [(alert, _local(alert, alert.raised_at)) for alert in alerts],
            "form": form,
            "single": single,
            "back_url": (
                reverse("admin:reports_alert_change", args=[alerts[0].pk])
                if single
                else reverse("admin:reports_alert_changelist")
            ),
        }
        return TemplateResponse(request, ACTION_TEMPLATE, context)


class AlertSubscriptionForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label="Alerts",
        choices=AlertKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind of alert.",
    )

    class Meta:
        model = AlertSubscription
        fields = ["organization", "user", "kinds"]
        labels = {"user": "Person"}

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        organization, user = cleaned.get("organization"), cleaned.get("user")
        if organization and user:
            member = Membership.objects.filter(organization=organization, user=user, role__in=ALERTED_ROLES)
            if not member.exists():
                self.add_error("user", f"{user} is not a member of {organization} who works in the admin.")
            elif not user.email:
                self.add_error("user", f"{user} has no email address to send alerts to.")
        return cleaned


@admin.register(AlertSubscription)
class AlertSubscriptionAdmin(TenantScopedAdmin, ModelAdmin):
    """Who in each organization is emailed which alerts (organization admins decide)."""

    tenant_path = "organization"
    form = AlertSubscriptionForm
    list_display = ["user", "organization", "alerts"]
    list_filter = ["organization"]
    list_select_related = ["user", "organization"]

    @display(description="Alerts")
    def alerts(self, subscription: AlertSubscription) -> str:
        if not subscription.kinds:
            return "All"
        return ", ".join(AlertKind(kind).label for kind in subscription.kinds if kind in AlertKind.values)

    def formfield_for_foreignkey(self, db_field, request: HttpRequest, **kwargs):
        if db_field.name == "user":
            # Members of the organizations this admin manages, nobody else.
            managed = organizations_of(request.user, roles=("admin",))
            kwargs["queryset"] = User.objects.filter(memberships__organization__in=managed).distinct()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


def unresolved_badge(request: HttpRequest) -> int | str:
    """The sidebar's count next to "Alerts" (unfold calls it on every admin page: one COUNT)."""
    count = unresolved_alert_count(request.user)
    return count or ""
