"""Alerts through the API (issue 19/20): what the admin's alert list shows, for the caller's
organizations, newest first, unresolved unless asked otherwise; acknowledge and resolve with
the same services, permissions and audit as the admin."""

import django_filters
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Activity
from accounts.roles import HANDLE_ALERTS
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from reports.alerts import UNRESOLVED, acknowledge_alerts, resolve_alerts
from reports.models import Alert, AlertKind, AlertState
from reports.selectors import alerts_visible_to


class AlertSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True, default=None)

    class Meta:
        model = Alert
        fields = [
            "id", "organization", "kind", "summary", "state", "charger", "charge_point_id", "session",
            "security_event", "detail", "raised_at", "acknowledged_at", "acknowledged_by", "resolved_at",
            "resolved_by", "resolution",
        ]  # fmt: skip
        read_only_fields = fields


class ResolveSerializer(serializers.Serializer):
    resolution = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


STATE_CHOICES = [("unresolved", "Open or acknowledged"), *AlertState.choices, ("all", "All")]


class AlertFilter(FilterSet):
    state = django_filters.ChoiceFilter(choices=STATE_CHOICES, method="filter_state", empty_label=None)
    kind = django_filters.ChoiceFilter(choices=AlertKind.choices)
    since = UtcIsoDateTimeFilter(field_name="raised_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="raised_at", lookup_expr="lt")

    class Meta:
        model = Alert
        fields = ["charger"]

    def filter_state(self, queryset, name, value):
        if value == "unresolved":
            return queryset.filter(state__in=UNRESOLVED)
        if value in AlertState.values:
            return queryset.filter(state=value)
        return queryset

    def filter_queryset(self, queryset):
        if not self.form.cleaned_data.get("state"):
            queryset = queryset.filter(state__in=UNRESOLVED)  # unresolved unless asked otherwise
        return super().filter_queryset(queryset)


class AlertViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = AlertSerializer
    filterset_class = AlertFilter
    ordering_fields = ["raised_at", "acknowledged_at", "resolved_at"]

    def get_queryset(self):
        return alerts_visible_to(self.request.user).select_related("charger").order_by("-raised_at", "-id")

    def _handled(self, request: Request) -> Alert:
        alert = self.get_object()
        if not request.user.has_perm(HANDLE_ALERTS, alert):
            raise exceptions.PermissionDenied("Your role may not handle alerts of this organization.")
        return alert

    @extend_schema(request=None, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Someone is on it; acknowledging an acknowledged or resolved alert changes nothing."""
        alert = self._handled(request)
        acknowledge_alerts(Alert.objects.filter(pk=alert.pk), by=request.user, via=Activity.Via.API)
        alert.refresh_from_db()
        return Response(self.get_serializer(alert).data)

    @extend_schema(request=ResolveSerializer, responses=AlertSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request: Request, pk: str | None = None) -> Response:
        """Close the alert, with what was done; resolving a resolved alert changes nothing."""
        alert = self._handled(request)
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        resolve_alerts(
            Alert.objects.filter(pk=alert.pk),
            by=request.user,
            resolution=body.validated_data["resolution"],
            via=Activity.Via.API,
        )
        alert.refresh_from_db()
        return Response(self.get_serializer(alert).data)
