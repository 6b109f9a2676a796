"""The device model in the admin: read-only, tenant-scoped (TenantScopedAdmin, like every admin
of charger data), browsable per station from the charger page ("Device model (N variables,
report of <time>)"). Registered by sites.admin, which imports this module."""

from django.contrib import admin
from django.db.models import DateTimeField
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import capfirst
from unfold.admin import ModelAdmin
from unfold.decorators import display

from accounts.admin_tenancy import TenantScopedAdmin
from common.times import format_local, local_time_column
from sites.device_model.models import DeviceEvent, DeviceReport, DeviceVariable, VariableMonitor
from sites.device_model.selectors import device_model_summary
from sites.models import Charger


class ReadOnlyAdmin(TenantScopedAdmin, ModelAdmin):
    """What stations report: shown, searched and filtered, never written in the admin. Each
    time is shown in the charger's site time zone to the second, as `<field>_local`."""

    tenant_path = "charger__site__organization"
    list_select_related = ["charger__site"]

    def __init_subclass__(cls, **kwargs) -> None:
        super().__init_subclass__(**kwargs)
        for field in cls.model._meta.fields if getattr(cls, "model", None) else []:
            if isinstance(field, DateTimeField):
                setattr(cls, f"{field.name}_local", local_time_column(field.name, capfirst(field.verbose_name)))

    def _shown(self, name: str) -> str:
        field = next((f for f in self.model._meta.fields if f.name == name), None)
        return f"{name}_local" if isinstance(field, DateTimeField) else name

    def get_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return self.get_readonly_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj=None) -> list[str]:
        return [self._shown(field.name) for field in self.model._meta.fields]

    def get_list_display(self, request: HttpRequest) -> list[str]:
        return [self._shown(name) for name in super().get_list_display(request)]

    def get_object(self, request: HttpRequest, object_id: str, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        return type(obj).objects.select_related("charger__site").get(pk=obj.pk) if obj is not None else None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def _link(model: type, charger: Charger, text: str) -> str:
    url = reverse(f"admin:sites_{model._meta.model_name}_changelist")
    return format_html('<a href="{}?charger__id__exact={}">{}</a>', url, charger.pk, text)


def device_model_link(charger: Charger) -> str:
    """The charger page's way into its device model: "Device model (N variables, report of <time>)"."""
    summary = device_model_summary(charger.pk)
    if not summary.variables and summary.last_report is None:
        return "No device model reported (OCPP 2.0.1: GetBaseReport FullInventory fills it)."
    text = f"Device model ({summary.variables} variables"
    if summary.stale:
        text += f", {summary.stale} stale"
    report = summary.last_report
    if report is not None:
        state = "complete" if report.complete else f"incomplete, {report.parts_received} part(s)"
        text += f", report of {format_local(report.generated_at, charger.site.timezone)}, {state}"
    links = [
        _link(DeviceVariable, charger, text + ")"),
        _link(DeviceReport, charger, "reports"),
        _link(VariableMonitor, charger, "monitors"),
        _link(DeviceEvent, charger, "events"),
    ]
    return format_html("{} &middot; {} &middot; {} &middot; {}", *links)


@admin.register(DeviceVariable)
class DeviceVariableAdmin(ReadOnlyAdmin):
    model = DeviceVariable
    list_display = [
        "charger", "component", "variable", "attribute_type", "value", "mutability", "unit", "data_type",
        "reported_at", "freshness",
    ]  # fmt: skip
    list_filter = ["charger", "component_name", "mutability", "attribute_type", "stale", "charger__site__organization"]
    search_fields = ["component_name", "component_instance", "variable_name", "variable_instance", "value",
                     "charger__charge_point_id"]  # fmt: skip
    list_per_page = 100

    @display(description="Component", ordering="component_name")
    def component(self, row: DeviceVariable) -> str:
        return row.component_label

    @display(description="Variable", ordering="variable_name")
    def variable(self, row: DeviceVariable) -> str:
        return row.variable_label

    @display(description="State", label={"current": "success", "stale": "warning"})
    def freshness(self, row: DeviceVariable) -> str:
        return "stale" if row.stale else "current"


@admin.register(DeviceReport)
class DeviceReportAdmin(ReadOnlyAdmin):
    model = DeviceReport
    list_display = ["charger", "kind", "request_id", "generated_at", "parts_received", "items", "completeness",
                    "full", "last_part_at"]  # fmt: skip
    list_filter = ["charger", "kind", "complete", "full"]
    search_fields = ["charger__charge_point_id", "request_id"]
    date_hierarchy = "received_at"

    @display(description="State", label={"complete": "success", "incomplete": "warning"})
    def completeness(self, report: DeviceReport) -> str:
        return "complete" if report.complete else "incomplete"


@admin.register(VariableMonitor)
class VariableMonitorAdmin(ReadOnlyAdmin):
    model = VariableMonitor
    list_display = ["charger", "monitor_id", "component", "variable", "monitor_type", "severity", "value",
                    "transaction", "reported_at", "stale"]  # fmt: skip
    list_filter = ["charger", "monitor_type", "severity", "stale"]
    search_fields = ["component_name", "variable_name", "charger__charge_point_id"]

    @display(description="Component", ordering="component_name")
    def component(self, row: VariableMonitor) -> str:
        return row.component_label

    @display(description="Variable", ordering="variable_name")
    def variable(self, row: VariableMonitor) -> str:
        return row.variable_label


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    model = DeviceEvent
    list_display = ["timestamp", "charger", "event_id", "component", "variable", "trigger", "actual_value",
                    "tech_code", "cleared", "notification_type", "raised"]  # fmt: skip
    list_filter = ["problem", "trigger", "notification_type", "cleared", "charger", "charger__site__organization"]
    search_fields = ["component_name", "variable_name", "actual_value", "tech_code", "tech_info",
                     "charger__charge_point_id", "transaction_id"]  # fmt: skip
    date_hierarchy = "timestamp"

    @display(description="Component", ordering="component_name")
    def component(self, row: DeviceEvent) -> str:
        return row.component_label

    @display(description="Variable", ordering="variable_name")
    def variable(self, row: DeviceEvent) -> str:
        return row.variable_label

    @display(description="Problem", ordering="problem", label={"problem": "danger", "-": "default"})
    def raised(self, row: DeviceEvent) -> str:
        return "problem" if row.problem else "-"
