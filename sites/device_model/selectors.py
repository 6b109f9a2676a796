"""Reads of the device model, scoped by tenant. The device model is the operator's view of a
station: it is shown to the members of the charger's organization only, not to partners a
charger is shared with (they see the charger and its sessions, sites.selectors)."""

from dataclasses import dataclass

from django.db.models import Q, QuerySet

from accounts.tenancy import scope_queryset
from sites.device_model.models import DeviceEvent, DeviceReport, DeviceVariable, VariableMonitor

TENANT_PATH = "charger__site__organization"


def device_variables_visible_to(user) -> QuerySet[DeviceVariable]:
    return scope_queryset(DeviceVariable.objects.select_related("charger"), user, TENANT_PATH)


def variable_monitors_visible_to(user) -> QuerySet[VariableMonitor]:
    return scope_queryset(VariableMonitor.objects.select_related("charger"), user, TENANT_PATH)


def device_events_visible_to(user) -> QuerySet[DeviceEvent]:
    return scope_queryset(DeviceEvent.objects.select_related("charger"), user, TENANT_PATH)


def device_reports_visible_to(user) -> QuerySet[DeviceReport]:
    return scope_queryset(DeviceReport.objects.select_related("charger"), user, TENANT_PATH)


def problem_events(prefix: str = "") -> Q:
    """NotifyEvent data raised as problems (sites.device_model.services.is_problem); `prefix`
    leads to the events from another model (e.g. "device_events__")."""
    return Q(**{f"{prefix}problem": True})


@dataclass(frozen=True, slots=True)
class DeviceModelSummary:
    variables: int  # attributes stored (stale ones included)
    stale: int
    last_report: DeviceReport | None  # the latest NotifyReport report, complete or not


def device_model_summary(charger_id: int) -> DeviceModelSummary:
    """What the charger page says of the device model: "N variables, report of <time>"."""
    rows = DeviceVariable.objects.filter(charger_id=charger_id)
    last = (
        DeviceReport.objects.filter(charger_id=charger_id, kind=DeviceReport.Kind.VARIABLES)
        .order_by("-received_at", "-pk")
        .first()
    )
    return DeviceModelSummary(variables=rows.count(), stale=rows.filter(stale=True).count(), last_report=last)
