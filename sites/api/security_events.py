"""Security events, read-only (ACCEPTANCE S13): the chargers' and the central system's own, of
the caller's organizations' chargers, newest first; filterable by severity, critical, source,
type, charger, acknowledgement and time. Events of no known charger (a refused unknown id) are the platform's."""

import django_filters
from django.shortcuts import get_object_or_404
from rest_framework import generics, serializers, viewsets

from accounts.tenancy import scope_queryset
from common.api_filters import FilterSet, StrictBooleanFilter, UtcIsoDateTimeFilter
from sites.models import Charger, SecurityEvent


class SecurityEventSerializer(serializers.ModelSerializer):
    type = serializers.CharField(source="kind", read_only=True)

    class Meta:
        model = SecurityEvent
        fields = [
            "id", "charge_point_id", "type", "source", "severity", "critical", "tech_info", "detail", "occurred_at",
            "timestamp", "repeats", "last_seen_at", "acknowledged_at",
        ]  # fmt: skip
        read_only_fields = fields


class SecurityEventFilter(FilterSet):
    type = django_filters.CharFilter(field_name="kind")
    since = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="timestamp", lookup_expr="lt")
    # acknowledged=false&critical=true: what still stands out for the operators (S13).
    acknowledged = StrictBooleanFilter(field_name="acknowledged_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = SecurityEvent
        fields = ["severity", "critical", "source", "charge_point_id"]


def security_events_visible_to(user):
    return scope_queryset(SecurityEvent.objects.all(), user, "charger__site__organization")


class SecurityEventViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SecurityEventSerializer
    filterset_class = SecurityEventFilter
    ordering_fields = ["timestamp", "occurred_at"]

    def get_queryset(self):
        return security_events_visible_to(self.request.user).order_by("-timestamp", "-id")


class ChargerSecurityEventsView(generics.ListAPIView):
    """The security events of one charger (by charge point id) the caller's organization owns."""

    serializer_class = SecurityEventSerializer
    filterset_class = SecurityEventFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return SecurityEvent.objects.none()
        owned = scope_queryset(Charger.objects.all(), self.request.user, "site__organization")
        charger = get_object_or_404(owned, charge_point_id=self.kwargs["charge_point_id"])
        return security_events_visible_to(self.request.user).filter(charger=charger).order_by("-timestamp", "-id")
