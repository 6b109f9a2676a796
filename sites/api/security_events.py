"""Security events, read-only (ACCEPTANCE S13): the chargers' and the central system's own, of
the caller's organizations' chargers, newest first; filterable by severity, critical, source,
type, charger, acknowledgement and time. Events of no known charger (a refused unknown id) are the platform's.
A critical event stays raised until someone whose role may acknowledge it in its organization
does so (POST .../acknowledge): who and when are recorded, the event itself is not changed."""

import django_filters
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, generics, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import ACKNOWLEDGE_SECURITY_EVENTS
from accounts.tenancy import scope_queryset
from common.api_filters import FilterSet, StrictBooleanFilter, UtcIsoDateTimeFilter
from sites.models import Charger, SecurityEvent
from sites.security_events import acknowledge_security_events


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
        return (
            security_events_visible_to(self.request.user).select_related("charger__site").order_by("-timestamp", "-id")
        )

    @extend_schema(request=None, responses=SecurityEventSerializer)
    @action(detail=True, methods=["post"])
    def acknowledge(self, request: Request, pk: str | None = None) -> Response:
        """Take note of the event (S13); acknowledging it again changes nothing."""
        event = self.get_object()
        if not request.user.has_perm(ACKNOWLEDGE_SECURITY_EVENTS, event):
            raise exceptions.PermissionDenied("Your role may not acknowledge security events of this organization.")
        acknowledge_security_events(SecurityEvent.objects.filter(pk=event.pk), by=request.user)
        event.refresh_from_db(fields=["acknowledged_at", "acknowledged_by"])
        return Response(self.get_serializer(event).data)


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
