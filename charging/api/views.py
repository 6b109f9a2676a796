"""Id tokens, sessions with their meter values, reservations and charging profiles."""

import django_filters
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from rest_framework import exceptions, serializers, viewsets

from accounts.roles import model_permission
from accounts.services import record_change, snapshot
from accounts.tenancy import organizations_of, scope_queryset
from charging.models import ChargingProfile, ChargingSession, IdToken, IdTokenPlace, MeterValue, Reservation
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from sites.models import Charger
from sites.selectors import chargers_visible_to

WRITER_ROLES = ("admin", "operator")
DUPLICATE_TAG = "This id tag exists already (case-insensitively)."


class IdTokenPlaceSerializer(serializers.ModelSerializer):
    """A charger (by its charge point id) where the token may charge, or one EVSE of it."""

    charger = serializers.SlugRelatedField(slug_field="charge_point_id", queryset=Charger.objects.all())
    evse_id = serializers.IntegerField(min_value=1, max_value=32767, required=False, allow_null=True)

    class Meta:
        model = IdTokenPlace
        fields = ["charger", "evse_id"]


class IdTokenSerializer(serializers.ModelSerializer):
    """The organization is chosen once, among the caller's own (S14, S22), and never changed (S17).
    `places`: where the token may charge, when not at every charger of its organization (2.0.1
    C01.FR.19-22); written as a whole, an empty list lifts the restriction."""

    places = IdTokenPlaceSerializer(many=True, required=False)

    class Meta:
        model = IdToken
        fields = [
            "id", "organization", "id_tag", "kind", "status", "expires_at", "parent_id_tag", "holder_name", "places",
        ]  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if self.instance is not None and not isinstance(self.instance, list | tuple):
            fields["organization"].read_only = True
        elif request is not None:
            fields["organization"].queryset = organizations_of(request.user, roles=WRITER_ROLES)
        schema_only = getattr(self.context.get("view"), "swagger_fake_view", False)  # no user, no database
        if request is not None and not schema_only:  # a charger one may not see does not exist (S14)
            fields["places"].child.fields["charger"].queryset = chargers_visible_to(request.user)
        return fields

    def validate(self, attrs: dict) -> dict:
        organization = attrs.get("organization") or getattr(self.instance, "organization", None)
        id_tag = attrs.get("id_tag", getattr(self.instance, "id_tag", ""))
        clash = IdToken.objects.filter(organization=organization, id_tag__iexact=id_tag)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError({"id_tag": [DUPLICATE_TAG]})
        foreign = [
            place["charger"].charge_point_id
            for place in attrs.get("places", [])
            if place["charger"].site.organization_id != getattr(organization, "pk", None)
        ]
        if foreign:
            raise serializers.ValidationError({"places": [f"Not chargers of the token's organization: {foreign}"]})
        return attrs

    def create(self, validated_data: dict) -> IdToken:
        places = validated_data.pop("places", [])
        token = super().create(validated_data)
        _replace_places(token, places)
        return token

    def update(self, instance: IdToken, validated_data: dict) -> IdToken:
        places = validated_data.pop("places", None)
        token = super().update(instance, validated_data)
        if places is not None:
            _replace_places(token, places)
        return token


def _replace_places(token: IdToken, places: list[dict]) -> None:
    token.places.all().delete()
    unique = {(place["charger"].pk, place.get("evse_id")) for place in places}
    IdTokenPlace.objects.bulk_create(
        IdTokenPlace(token=token, charger_id=charger_id, evse_id=evse_id) for charger_id, evse_id in unique
    )


class IdTokenUpdateSerializer(IdTokenSerializer):
    """An id token as PUT and PATCH change it: the organization is shown, never written (S17).
    Its own class so the schema says so too (one shared request schema listed it as required)."""

    class Meta(IdTokenSerializer.Meta):
        read_only_fields = ["organization"]


class IdTokenViewSet(viewsets.ModelViewSet):
    serializer_class = IdTokenSerializer

    def get_serializer_class(self):
        return IdTokenUpdateSerializer if self.action in ("update", "partial_update") else IdTokenSerializer

    filterset_fields = ["organization", "status", "kind"]
    ordering_fields = ["id_tag", "created_at"]

    def get_queryset(self):
        tokens = IdToken.objects.order_by("id_tag").prefetch_related("places__charger")
        return scope_queryset(tokens, self.request.user, "organization")

    def perform_create(self, serializer) -> None:
        # The organization was chosen among those where the caller's role writes; the permission
        # is asked too, for an API client whose scopes may not include tokens.
        candidate = IdToken(organization=serializer.validated_data["organization"])
        if not self.request.user.has_perm(model_permission(IdToken, "add"), candidate):
            raise exceptions.PermissionDenied("You may not add id tokens to this organization.")
        record_change(actor=self.request.user, verb="created", obj=self._save(serializer), via="api")

    def perform_update(self, serializer) -> None:
        self._require("change", serializer.instance)
        before = snapshot(serializer.instance)
        record_change(actor=self.request.user, verb="changed", obj=self._save(serializer), via="api", before=before)

    def _save(self, serializer) -> IdToken:
        """The serializer's check for a duplicate tag races with a concurrent write of the same
        tag; the database's unique constraint decides, and the loser gets the same 400."""
        try:
            with transaction.atomic():
                return serializer.save()
        except IntegrityError:
            raise serializers.ValidationError({"id_tag": [DUPLICATE_TAG]}) from None

    def perform_destroy(self, instance) -> None:
        self._require("delete", instance)
        record_change(actor=self.request.user, verb="deleted", obj=instance, via="api")
        instance.delete()

    def _require(self, verb: str, token: IdToken) -> None:
        if not self.request.user.has_perm(model_permission(IdToken, verb), token):
            raise exceptions.PermissionDenied(f"Your role may not {verb} id tokens of this organization.")


class MeterValueSerializer(serializers.ModelSerializer):
    class Meta:
        model = MeterValue
        fields = ["timestamp", "received_at", "measurand", "phase", "unit", "context", "location", "value",
                  "raw_value", "flag"]  # fmt: skip
        read_only_fields = fields


class SessionSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)
    connector_id = serializers.IntegerField(source="connector.connector_id", read_only=True)

    class Meta:
        model = ChargingSession
        fields = ["id", "charge_point_id", "connector_id", "id_tag", "transaction_id", "transaction_uid", "state",
                  "started_at", "start_received_at", "stopped_at", "stop_received_at", "meter_start_wh",
                  "meter_stop_wh", "energy_wh", "last_power_w", "stop_reason", "needs_review"]  # fmt: skip
        read_only_fields = fields


class SessionFilter(FilterSet):
    charge_point_id = django_filters.CharFilter(field_name="charger__charge_point_id", max_length=48)
    since = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="started_at", lookup_expr="lt")

    class Meta:
        model = ChargingSession
        # charger__charge_point_id: the first name of the charge_point_id filter, kept for callers.
        fields = ["state", "needs_review", "charger__charge_point_id", "id_tag"]


class SessionViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SessionSerializer
    filterset_class = SessionFilter
    ordering_fields = ["started_at", "stopped_at", "start_received_at", "stop_received_at", "energy_wh"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return ChargingSession.objects.none()
        sessions = ChargingSession.objects.select_related("charger", "connector").order_by("-started_at")
        return sessions.filter(charger__in=chargers_visible_to(self.request.user))


class SessionMeterValueViewSet(viewsets.ReadOnlyModelViewSet):
    """The meter values of one session, oldest first."""

    serializer_class = MeterValueSerializer
    filterset_fields = ["measurand", "phase", "context"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no session
            return MeterValue.objects.none()
        sessions = ChargingSession.objects.filter(charger__in=chargers_visible_to(self.request.user))
        session = get_object_or_404(sessions, pk=self.kwargs["session_pk"])
        return MeterValue.objects.filter(session=session).order_by("timestamp", "id")


class ReservationSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)

    class Meta:
        model = Reservation
        fields = ["id", "charge_point_id", "connector", "id_token", "expires_at", "status", "charger_answer",
                  "session", "created_at"]  # fmt: skip
        read_only_fields = fields


class ReservationViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ReservationSerializer
    filterset_fields = ["status"]
    ordering_fields = ["created_at", "expires_at"]

    def get_queryset(self):
        reservations = Reservation.objects.select_related("charger").order_by("-created_at")
        return scope_queryset(reservations, self.request.user, "charger__site__organization")


class ChargingProfileSerializer(serializers.ModelSerializer):
    class Meta:
        model = ChargingProfile
        fields = ["id", "organization", "name", "purpose", "stack_level", "kind", "recurrency", "valid_from",
                  "valid_to", "charging_rate_unit", "duration", "start_schedule", "min_charging_rate",
                  "periods"]  # fmt: skip
        read_only_fields = fields


class ChargingProfileViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = ChargingProfileSerializer
    filterset_fields = ["purpose", "kind"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return scope_queryset(ChargingProfile.objects.order_by("name"), self.request.user, "organization")
