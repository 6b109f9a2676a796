"""Session costs with their breakdown."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from billing.models import SessionCost
from billing.receipts import receipt_response
from sites.selectors import chargers_visible_to


class SessionCostSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionCost
        fields = ["session", "tariff", "currency", "net", "vat", "total", "breakdown", "computed_at"]
        read_only_fields = fields


class SessionCostViewSet(viewsets.ReadOnlyModelViewSet):
    """The price of each completed session (filter with ?session=<id>)."""

    serializer_class = SessionCostSerializer
    filterset_fields = ["session", "currency"]
    ordering_fields = ["computed_at", "total"]

    @extend_schema(responses={(200, "application/pdf"): OpenApiTypes.BINARY}, summary="The session's PDF receipt")
    @action(detail=True, methods=["get"])
    def receipt(self, request, pk=None):
        return receipt_response(self.get_object())

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return SessionCost.objects.none()
        costs = SessionCost.objects.select_related("session").order_by("-computed_at")
        return costs.filter(session__charger__in=chargers_visible_to(self.request.user))
