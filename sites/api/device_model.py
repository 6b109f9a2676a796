"""A charger's OCPP 2.0.1 device model, read-only: its variables (as reported with NotifyReport),
monitors (NotifyMonitoringReport), events (NotifyEvent) and the reports that brought them.

Scoped to the charger's own organization (sites.device_model.selectors): a charger shared with a
partner does not show its device model to the partner; an unknown or foreign charger is 404."""

from django.shortcuts import get_object_or_404
from rest_framework import filters, generics, serializers
from rest_framework.settings import api_settings

from accounts.tenancy import scope_queryset
from sites.device_model.models import DeviceEvent, DeviceReport, DeviceVariable, VariableMonitor
from sites.device_model.selectors import (
    device_events_visible_to,
    device_reports_visible_to,
    device_variables_visible_to,
    variable_monitors_visible_to,
)
from sites.models import Charger

IDENTITY_FIELDS = [
    "component_name", "component_instance", "evse_id", "connector_id", "variable_name", "variable_instance",
]  # fmt: skip


class DeviceVariableSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceVariable
        fields = [
            *IDENTITY_FIELDS, "attribute_type", "value", "mutability", "persistent", "constant", "unit", "data_type",
            "min_limit", "max_limit", "values_list", "supports_monitoring", "report", "reported_at", "received_at",
            "stale",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "evse_id": {"help_text": "0: a component not of an EVSE."},
            "connector_id": {"help_text": "0: a component not of a connector."},
            "value": {"help_text": "null: the attribute has no value (unset, or write-only)."},
            "report": {"help_text": "Id of the report that last included it (see device-reports)."},
            "stale": {"help_text": "Left out of a later complete FullInventory report."},
        }


class VariableMonitorSerializer(serializers.ModelSerializer):
    class Meta:
        model = VariableMonitor
        fields = [
            "monitor_id", *IDENTITY_FIELDS, "monitor_type", "severity", "value", "transaction", "report",
            "reported_at", "stale",
        ]  # fmt: skip
        read_only_fields = fields


class DeviceEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceEvent
        fields = [
            "event_id", "timestamp", *IDENTITY_FIELDS, "trigger", "cause", "actual_value", "tech_code", "tech_info",
            "cleared", "transaction_id", "variable_monitoring_id", "notification_type", "problem", "generated_at",
            "received_at",
        ]  # fmt: skip
        read_only_fields = fields


class DeviceReportSerializer(serializers.ModelSerializer):
    class Meta:
        model = DeviceReport
        fields = [
            "id", "kind", "request_id", "generated_at", "received_at", "last_part_at", "parts_received",
            "last_seq_no", "items", "complete", "full",
        ]  # fmt: skip
        read_only_fields = fields


class ChargerDeviceModelView(generics.ListAPIView):
    """Rows of one charger (by charge point id) the caller's organization owns."""

    filter_backends = [*api_settings.DEFAULT_FILTER_BACKENDS, filters.SearchFilter]
    rows_visible_to = staticmethod(device_variables_visible_to)

    def get_queryset(self):
        model = self.get_serializer_class().Meta.model
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return model.objects.none()
        owned = scope_queryset(Charger.objects.all(), self.request.user, "site__organization")
        charger = get_object_or_404(owned, charge_point_id=self.kwargs["charge_point_id"])
        return self.rows_visible_to(self.request.user).filter(charger=charger)


class ChargerVariablesView(ChargerDeviceModelView):
    """The charger's device model: one row per component, variable and attribute type, as last
    reported (GetBaseReport / GetReport answered with NotifyReport, B07/B08). `search` looks in
    component, variable and value."""

    serializer_class = DeviceVariableSerializer
    filterset_fields = [*IDENTITY_FIELDS, "attribute_type", "mutability", "stale", "report"]
    search_fields = ["component_name", "component_instance", "variable_name", "variable_instance", "value"]
    ordering_fields = ["component_name", "variable_name", "reported_at"]


class ChargerMonitorsView(ChargerDeviceModelView):
    """The charger's variable monitors (GetMonitoringReport answered with NotifyMonitoringReport, N02)."""

    serializer_class = VariableMonitorSerializer
    rows_visible_to = staticmethod(variable_monitors_visible_to)
    filterset_fields = ["component_name", "variable_name", "monitor_type", "severity", "stale"]
    search_fields = ["component_name", "variable_name"]
    ordering_fields = ["monitor_id", "severity"]


class ChargerEventsView(ChargerDeviceModelView):
    """The charger's events (NotifyEvent, N07/N08), newest first; `problem=true` for those raised to operators."""

    serializer_class = DeviceEventSerializer
    rows_visible_to = staticmethod(device_events_visible_to)
    filterset_fields = ["component_name", "variable_name", "trigger", "notification_type", "cleared", "problem"]
    search_fields = ["component_name", "variable_name", "actual_value", "tech_code", "tech_info"]
    ordering_fields = ["timestamp", "event_id"]


class ChargerDeviceReportsView(ChargerDeviceModelView):
    """The reports the charger sent in parts (NotifyReport, NotifyMonitoringReport), newest first."""

    serializer_class = DeviceReportSerializer
    rows_visible_to = staticmethod(device_reports_visible_to)
    filterset_fields = ["kind", "request_id", "complete"]
    ordering_fields = ["received_at", "generated_at"]
