"""Tariffs (with their time-of-day bands), where they apply (assignments), and session costs
with their breakdown. Writes go through billing.services, with the same money rules as the
admin and the permission of the caller's role (or API client's `tariffs` scope) in the
tariff's organization, which is chosen once and never changed."""

import django_filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, viewsets
from rest_framework.decorators import action

from accounts.tenancy import organizations_of, scope_queryset
from billing.models import NOT_NEGATIVE, SessionCost, Tariff, TariffAssignment, TariffBand
from billing.receipts import receipt_response
from billing.services import (
    create_tariff,
    create_tariff_assignment,
    delete_tariff,
    delete_tariff_assignment,
    update_tariff,
    update_tariff_assignment,
)
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from sites.api.views import OwnOrganizationMixin, require, schema_only
from sites.models import Charger, Site
from sites.selectors import chargers_visible_to

# DRF turns the models' MinValueValidator into its own check, with its own words: the admin's are kept.
NOT_NEGATIVE_MESSAGES = {"error_messages": {"min_value": NOT_NEGATIVE[0].message}}


def _not_negative(*names: str) -> dict[str, dict]:
    return {name: NOT_NEGATIVE_MESSAGES for name in names}


class TariffBandSerializer(serializers.ModelSerializer):
    """A time-of-day band in the site's time zone; an end at or before the start wraps midnight.
    An empty price is the tariff's own."""

    class Meta:
        model = TariffBand
        fields = ["start_time", "end_time", "price_per_kwh", "price_per_minute"]
        extra_kwargs = _not_negative("price_per_kwh", "price_per_minute")


class TariffSerializer(OwnOrganizationMixin, serializers.ModelSerializer):
    """A tariff; its organization is chosen once, among the caller's own. `bands` are written as
    a whole (an empty list removes them; left out, they stay)."""

    bands = TariffBandSerializer(many=True, required=False)

    class Meta:
        model = Tariff
        fields = ["id", "organization", "name", "currency", "vat_percent", "flat_fee", "price_per_kwh",
                  "price_per_minute", "idle_fee_per_minute", "idle_grace_minutes", "min_price", "max_price",
                  "bands"]  # fmt: skip
        validators: list = []  # the service validates the whole tariff (billing.services.create_tariff)
        extra_kwargs = _not_negative(
            "flat_fee", "price_per_kwh", "price_per_minute", "idle_fee_per_minute", "min_price", "max_price"
        )


class TariffUpdateSerializer(TariffSerializer):
    """A tariff as PUT and PATCH change it: the organization is shown, never written."""

    class Meta(TariffSerializer.Meta):
        read_only_fields = ["organization"]


class TariffViewSet(viewsets.ModelViewSet):
    """Tariffs of your organizations (see README, Billing, for how prices combine). Deleting a
    tariff deletes its assignments; priced sessions keep their amounts."""

    serializer_class = TariffSerializer
    filterset_fields = ["organization", "currency"]
    ordering_fields = ["name"]

    def get_serializer_class(self):
        return TariffUpdateSerializer if self.action in ("update", "partial_update") else TariffSerializer

    def get_queryset(self):
        tariffs = Tariff.objects.order_by("name", "pk").prefetch_related("bands")
        return scope_queryset(tariffs, self.request.user, "organization")

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        organization = fields.pop("organization")
        require(self.request.user, "add", Tariff(organization=organization))
        serializer.instance = create_tariff(organization=organization, by=self.request.user, via="api", **fields)

    def perform_update(self, serializer) -> None:
        require(self.request.user, "change", serializer.instance)
        update_tariff(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)
        serializer.instance = self.get_queryset().get(pk=serializer.instance.pk)  # its bands, as stored now

    def perform_destroy(self, instance: Tariff) -> None:
        require(self.request.user, "delete", instance)
        delete_tariff(instance, by=self.request.user, via="api")


class TariffAssignmentSerializer(serializers.ModelSerializer):
    """Which tariff applies to exactly one target of its organization (an organization, a site
    or a charger) from `valid_from` until `valid_to` (open-ended when null). The most specific
    assignment valid when a session starts prices it."""

    class Meta:
        model = TariffAssignment
        fields = ["id", "tariff", "organization", "site", "charger", "valid_from", "valid_to"]
        validators: list = []  # the service validates the whole assignment

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is None or schema_only(self):
            return fields
        user = request.user
        if not fields["tariff"].read_only:
            fields["tariff"].queryset = scope_queryset(Tariff.objects.all(), user, "organization")
        fields["organization"].queryset = organizations_of(user)
        fields["site"].queryset = scope_queryset(Site.objects.all(), user, "organization")
        fields["charger"].queryset = scope_queryset(Charger.objects.all(), user, "site__organization")
        return fields


class TariffAssignmentUpdateSerializer(TariffAssignmentSerializer):
    """An assignment as PUT and PATCH change it: its target and validity; the tariff stays."""

    class Meta(TariffAssignmentSerializer.Meta):
        read_only_fields = ["tariff"]


class TariffAssignmentViewSet(viewsets.ModelViewSet):
    """Where and when your tariffs apply, latest first (filter by tariff, organization, site or
    charger)."""

    serializer_class = TariffAssignmentSerializer
    filterset_fields = ["tariff", "organization", "site", "charger"]
    ordering_fields = ["valid_from", "valid_to"]

    def get_serializer_class(self):
        if self.action in ("update", "partial_update"):
            return TariffAssignmentUpdateSerializer
        return TariffAssignmentSerializer

    def get_queryset(self):
        assignments = TariffAssignment.objects.order_by("-valid_from", "-pk")
        return scope_queryset(assignments, self.request.user, "tariff__organization")

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        tariff = fields.pop("tariff")
        # Asked in the tariff's organization, where the assignment belongs (its target must be there too).
        require(self.request.user, "add", TariffAssignment(tariff=tariff, organization_id=tariff.organization_id))
        serializer.instance = create_tariff_assignment(tariff=tariff, by=self.request.user, via="api", **fields)

    def perform_update(self, serializer) -> None:
        require(self.request.user, "change", serializer.instance)
        update_tariff_assignment(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)

    def perform_destroy(self, instance: TariffAssignment) -> None:
        require(self.request.user, "delete", instance)
        delete_tariff_assignment(instance, by=self.request.user, via="api")


class SessionCostSerializer(serializers.ModelSerializer):
    class Meta:
        model = SessionCost
        fields = ["session", "tariff", "currency", "net", "vat", "total", "breakdown", "computed_at"]
        read_only_fields = fields


class SessionCostFilter(FilterSet):
    charge_point_id = django_filters.CharFilter(field_name="session__charger__charge_point_id", max_length=48)
    since = UtcIsoDateTimeFilter(field_name="computed_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="computed_at", lookup_expr="lt")

    class Meta:
        model = SessionCost
        fields = ["session", "currency", "tariff"]


class SessionCostViewSet(viewsets.ReadOnlyModelViewSet):
    """The price of each completed session (filter with ?session=<id> or ?charge_point_id=)."""

    serializer_class = SessionCostSerializer
    filterset_class = SessionCostFilter
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
