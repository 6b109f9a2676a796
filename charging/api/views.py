"""Id tokens, sessions with their meter values, reservations and charging profiles."""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiResponse, extend_schema, extend_schema_field
from rest_framework import exceptions, generics, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import command_permission, model_permission
from accounts.services import record_change, snapshot
from accounts.tenancy import organizations_of, scope_queryset
from charging.local_list import DIFFERENTIAL, FULL, send_local_list
from charging.models import (
    ChargingProfile,
    ChargingProfileAssignment,
    ChargingSession,
    IdToken,
    IdTokenPlace,
    LocalListEntry,
    MeterValue,
    Reservation,
)
from charging.reservations import ACTIVE_STATUSES, cancel, reserve
from charging.smart_charging import (
    clear_charging_profile,
    create_charging_profile,
    delete_charging_profile,
    send_charging_profile,
    update_charging_profile,
)
from common.api import Conflict, invalid
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from common.api_schema import ErrorSerializer
from sites.api.views import OwnOrganizationMixin, require
from sites.commands import intent_of
from sites.commands.intents import SendLocalList
from sites.models import Charger, Command, Connector
from sites.selectors import chargers_visible_to

WRITER_ROLES = ("admin", "operator")
DUPLICATE_TAG = "This id tag exists already (case-insensitively)."
INACTIVE = "The reservation is no longer active (rejected, failed, used, cancelled or expired)."
NOT_HELD = "The charger does not hold the profile: it did not accept it, or it was cleared since."


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
            "id", "organization", "id_tag", "kind", "status", "expires_at", "parent_id_tag", "holder_name",
            "charging_priority", "places",
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


class QueuedCommandSerializer(serializers.ModelSerializer):
    """The command that carries the request to the charger: follow it at /api/v1/commands/<id>."""

    class Meta:
        model = Command
        fields = ["id", "intent", "status", "requested_via", "created_at", "expires_at"]
        read_only_fields = fields


def queued(command: Command) -> Response:
    return Response(QueuedCommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


def own_chargers(user):
    """Chargers of the user's own organizations (not those only shared with them): reservations
    and charging profiles are the charger owner's."""
    return scope_queryset(Charger.objects.select_related("site"), user, "site__organization")


def charger_field() -> serializers.SlugRelatedField:
    """One of the caller's own chargers, by its charge point id (narrowed in get_fields)."""
    return serializers.SlugRelatedField(
        slug_field="charge_point_id",
        queryset=Charger.objects.all(),
        error_messages={"does_not_exist": "No such charger among yours."},
    )


def as_fields(error: DjangoValidationError, renamed: dict[str, str]) -> serializers.ValidationError:
    """A service's refusal (per field, in the service's words) as the API's 400, its fields named
    as the request names them."""
    refused = invalid(error)
    detail = refused.detail
    if isinstance(detail, dict):
        detail = {renamed.get(str(name), str(name)): messages for name, messages in detail.items()}
    return serializers.ValidationError(detail)


class ReservationSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)
    connector_id = serializers.IntegerField(
        source="connector.connector_id", read_only=True, allow_null=True, help_text="Null: any connector."
    )
    evse_id = serializers.IntegerField(source="connector.evse_id", read_only=True, allow_null=True)
    id_tag = serializers.CharField(source="id_token.id_tag", read_only=True)

    class Meta:
        model = Reservation
        fields = ["id", "charge_point_id", "connector", "connector_id", "evse_id", "id_token", "id_tag",
                  "expires_at", "status", "charger_answer", "session", "created_at"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "status": {
                "help_text": "requested until the charger answers; then accepted, rejected or failed; later "
                "used, cancelled or expired."
            },
        }


class NewReservationSerializer(serializers.Serializer):
    """A reservation to make: a connector of one of your chargers (by its number; 0 or left out:
    any connector), for one of your organization's id tokens (by id), until `expires_at`."""

    charge_point_id = charger_field()
    connector_id = serializers.IntegerField(
        min_value=0, max_value=32767, default=0, help_text="The connector's number; 0: any connector."
    )
    evse_id = serializers.IntegerField(
        min_value=1, max_value=32767, required=False, allow_null=True,
        help_text="OCPP 2.0.1: the EVSE of the connector, where several have a connector of that number.",
    )  # fmt: skip
    id_token = serializers.PrimaryKeyRelatedField(queryset=IdToken.objects.all(), help_text="The id token's id.")
    expires_at = serializers.DateTimeField(help_text="When the reservation ends; in the future.")

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not getattr(self.context.get("view"), "swagger_fake_view", False):
            # Another organization's charger or token does not exist (S14).
            fields["charge_point_id"].queryset = own_chargers(request.user)
            fields["id_token"].queryset = scope_queryset(IdToken.objects.all(), request.user, "organization")
        return fields

    def validate(self, attrs: dict) -> dict:
        charger: Charger = attrs["charge_point_id"]
        number, evse = attrs.get("connector_id") or 0, attrs.get("evse_id")
        attrs["connector"] = None
        if number == 0:
            if evse is not None:
                raise serializers.ValidationError({"connector_id": ["Give the connector's number with evse_id."]})
            return attrs
        connectors = Connector.objects.filter(charger=charger, connector_id=number)
        if evse is not None:
            connectors = connectors.filter(evse_id=evse)
        found = list(connectors[:2])
        if not found:
            where = f"{number}" if evse is None else f"{number} of EVSE {evse}"
            raise serializers.ValidationError(
                {"connector_id": [f"{charger.charge_point_id} has no connector {where}."]}
            )
        if len(found) > 1:
            raise serializers.ValidationError(
                {"evse_id": [f"Several EVSEs of {charger.charge_point_id} have a connector {number}: name the EVSE."]}
            )
        attrs["connector"] = found[0]
        return attrs


class ReservationViewSet(
    mixins.ListModelMixin, mixins.RetrieveModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet
):
    """Reservations on your chargers, newest first (filter by `charger__charge_point_id`,
    `status`, `id_token`). Creating one sends ReserveNow; its status follows the charger's answer."""

    serializer_class = ReservationSerializer
    filterset_fields = ["status", "charger__charge_point_id", "id_token"]
    ordering_fields = ["created_at", "expires_at"]

    def get_serializer_class(self):
        return NewReservationSerializer if self.action == "create" else ReservationSerializer

    def get_queryset(self):
        reservations = Reservation.objects.select_related("charger", "connector", "id_token").order_by("-created_at")
        return scope_queryset(reservations, self.request.user, "charger__site__organization")

    @extend_schema(request=NewReservationSerializer, responses={201: ReservationSerializer},
                   summary="Reserve a connector (sends ReserveNow)")  # fmt: skip
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = body.validated_data
        charger: Charger = fields["charge_point_id"]
        if not request.user.has_perm(command_permission("reserve"), charger):
            raise exceptions.PermissionDenied("You may not reserve on this charger.")
        try:
            reservation = reserve(
                charger=charger,
                connector=fields["connector"],
                id_token=fields["id_token"],
                expires_at=fields["expires_at"],
                requested_by=request.user,
                via=Command.Via.API,
            )
        except DjangoValidationError as error:
            raise as_fields(error, {"connector": "connector_id"}) from None
        answer = ReservationSerializer(
            self.get_queryset().get(pk=reservation.pk), context=self.get_serializer_context()
        )
        return Response(answer.data, status=status.HTTP_201_CREATED)

    @extend_schema(
        request=None,
        responses={202: QueuedCommandSerializer, 409: OpenApiResponse(ErrorSerializer, description=INACTIVE)},
        summary="Cancel the reservation (sends CancelReservation)",
    )
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, pk=None) -> Response:
        """The reservation is cancelled once the charger accepts. 409 when it is no longer active
        (rejected, failed, used, cancelled or expired)."""
        reservation = self.get_object()
        if not request.user.has_perm(command_permission("cancel_reservation"), reservation.charger):
            raise exceptions.PermissionDenied("You may not cancel reservations on this charger.")
        if reservation.status not in ACTIVE_STATUSES:
            raise Conflict(f"The reservation is no longer active ({reservation.status}).")
        return queued(cancel(reservation=reservation, requested_by=request.user, via=Command.Via.API))


class ChargingProfileSerializer(OwnOrganizationMixin, serializers.ModelSerializer):
    """A charging profile (OCPP 1.6 ChargingProfile; its id is the chargingProfileId). Its
    organization is chosen once, among yours, and never changed; the admin's checks apply
    (a name unique in the organization, schedule periods, Recurring needs `recurrency`)."""

    class Meta:
        model = ChargingProfile
        fields = ["id", "organization", "name", "purpose", "stack_level", "kind", "recurrency", "valid_from",
                  "valid_to", "charging_rate_unit", "duration", "start_schedule", "min_charging_rate",
                  "periods"]  # fmt: skip
        validators: list = []  # the service validates the whole profile (charging.smart_charging)


class ChargingProfileUpdateSerializer(ChargingProfileSerializer):
    """A profile as PUT and PATCH change it: the organization is shown, never written."""

    class Meta(ChargingProfileSerializer.Meta):
        read_only_fields = ["organization"]


class AssignmentSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)

    class Meta:
        model = ChargingProfileAssignment
        fields = ["id", "profile", "charge_point_id", "connector_id", "transaction_id", "status", "sent_payload",
                  "created_at"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "sent_payload": {"help_text": "The profile as it was sent (the intent's fields)."},
            "status": {
                "help_text": "requested until the charger answers; then accepted, rejected or failed; "
                "cleared once the charger accepted a ClearChargingProfile."
            },
        }


class SentAssignmentSerializer(AssignmentSerializer):
    command = serializers.SerializerMethodField(help_text="The command that carries the profile.")

    class Meta(AssignmentSerializer.Meta):
        fields = [*AssignmentSerializer.Meta.fields, "command"]
        read_only_fields = fields

    @extend_schema_field(QueuedCommandSerializer)
    def get_command(self, assignment: ChargingProfileAssignment) -> dict:
        return QueuedCommandSerializer(self.context["command"]).data


class AssignSerializer(serializers.Serializer):
    """Where to send the profile: one of your chargers, a connector (0: the charger as a whole;
    a charger maximum profile goes there only, a transaction profile never), and for a
    transaction profile the charger's transaction id of a session in progress there."""

    charge_point_id = charger_field()
    connector_id = serializers.IntegerField(min_value=0, max_value=32767, default=0)
    transaction_id = serializers.IntegerField(
        min_value=1, max_value=2**31 - 1, required=False, allow_null=True,
        help_text="TxProfile only: the session's `transaction_id` (see /api/v1/sessions).",
    )  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not getattr(self.context.get("view"), "swagger_fake_view", False):
            fields["charge_point_id"].queryset = own_chargers(request.user)  # another tenant's does not exist
        return fields


class ChargingProfileViewSet(viewsets.ModelViewSet):
    """Charging profiles of your organizations. `POST /charging-profiles/<id>/assign` sends one to
    a charger; deleting a profile that was sent to chargers answers 409."""

    serializer_class = ChargingProfileSerializer
    filterset_fields = ["organization", "purpose", "kind"]
    ordering_fields = ["name"]

    def get_serializer_class(self):
        if self.action == "assign":
            return AssignSerializer
        if self.action in ("update", "partial_update"):
            return ChargingProfileUpdateSerializer
        return ChargingProfileSerializer

    def get_queryset(self):
        return scope_queryset(ChargingProfile.objects.order_by("name", "pk"), self.request.user, "organization")

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        organization = fields.pop("organization")
        require(self.request.user, "add", ChargingProfile(organization=organization))
        serializer.instance = create_charging_profile(
            organization=organization, by=self.request.user, via="api", **fields
        )

    def perform_update(self, serializer) -> None:
        require(self.request.user, "change", serializer.instance)
        update_charging_profile(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)

    def perform_destroy(self, instance: ChargingProfile) -> None:
        require(self.request.user, "delete", instance)
        delete_charging_profile(instance, by=self.request.user, via="api")

    @extend_schema(request=AssignSerializer, responses={202: SentAssignmentSerializer},
                   summary="Send the profile to a charger (SetChargingProfile)")  # fmt: skip
    @action(detail=True, methods=["post"])
    def assign(self, request: Request, pk=None) -> Response:
        """Records an assignment with what was sent; its status follows the charger's answer.
        Checked as in the admin: the charger of the profile's organization, the purpose's
        connector, a transaction profile's transaction in progress on that connector."""
        profile = self.get_object()
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        charger: Charger = body.validated_data["charge_point_id"]
        if not request.user.has_perm(command_permission("set_charging_profile"), charger):
            raise exceptions.PermissionDenied("You may not send charging profiles to this charger.")
        try:
            assignment, command = send_charging_profile(
                profile=profile,
                charger=charger,
                connector_id=body.validated_data["connector_id"],
                transaction_id=body.validated_data.get("transaction_id"),
                requested_by=request.user,
                via=Command.Via.API,
            )
        except DjangoValidationError as error:
            raise as_fields(error, {"profile": "charge_point_id"}) from None
        answer = SentAssignmentSerializer(assignment, context={**self.get_serializer_context(), "command": command})
        return Response(answer.data, status=status.HTTP_202_ACCEPTED)


class ChargingProfileAssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """Charging profiles sent to your chargers, latest first (filter by `profile`,
    `charger__charge_point_id`, `connector_id`, `status`)."""

    serializer_class = AssignmentSerializer
    filterset_fields = ["profile", "charger__charge_point_id", "connector_id", "status"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        assignments = ChargingProfileAssignment.objects.select_related("charger").order_by("-created_at", "-pk")
        return scope_queryset(assignments, self.request.user, "charger__site__organization")

    @extend_schema(
        request=None,
        responses={202: QueuedCommandSerializer, 409: OpenApiResponse(ErrorSerializer, description=NOT_HELD)},
        summary="Clear the profile from the charger (ClearChargingProfile)",
    )
    @action(detail=True, methods=["post"])
    def clear(self, request: Request, pk=None) -> Response:
        """The assignment is `cleared` once the charger accepts. 409 unless the charger accepted
        the profile (and it was not cleared since)."""
        assignment = self.get_object()
        if not request.user.has_perm(command_permission("clear_charging_profile"), assignment.charger):
            raise exceptions.PermissionDenied("You may not clear charging profiles on this charger.")
        if assignment.status != ChargingProfileAssignment.Status.ACCEPTED:
            raise Conflict(f"The charger does not hold this profile ({assignment.status}).")
        return queued(clear_charging_profile(assignment=assignment, requested_by=request.user, via=Command.Via.API))


class LocalListEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = LocalListEntry
        fields = ["id_tag", "status", "expires_at", "parent_id_tag"]
        read_only_fields = fields


class PublishLocalListSerializer(serializers.Serializer):
    update_type = serializers.ChoiceField(
        choices=[FULL, DIFFERENTIAL],
        default=FULL,
        help_text="full: the whole list replaces the charger's; differential: only what changed since the list "
        "it holds (added, changed and removed tokens).",
    )


class PublishedLocalListSerializer(serializers.Serializer):
    update_type = serializers.ChoiceField(choices=[FULL, DIFFERENTIAL])
    version = serializers.IntegerField(help_text="The version sent; the charger holds it once it accepts.")
    entries = serializers.IntegerField(help_text="How many entries were sent (removals included).")
    command = QueuedCommandSerializer()


class ChargerLocalListView(generics.ListAPIView):
    """The charger's local authorization list (1.6 sec. 3.5 / 2.0.1 D01): GET reads the entries it
    holds (as of its last accepted SendLocalList; its version is the charger's
    `local_list_version`); POST publishes the list built from its organization's id tokens, as the
    admin's "Send the local list" does, the next version, full or differential."""

    serializer_class = LocalListEntrySerializer

    def _charger(self) -> Charger:
        return get_object_or_404(own_chargers(self.request.user), charge_point_id=self.kwargs["charge_point_id"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return LocalListEntry.objects.none()
        return LocalListEntry.objects.filter(charger=self._charger()).order_by("id_tag")

    @extend_schema(
        request=PublishLocalListSerializer,
        responses={202: PublishedLocalListSerializer},
        summary="Publish the local authorization list to the charger (SendLocalList)",
    )
    def post(self, request: Request, charge_point_id: str) -> Response:
        charger = self._charger()
        if not request.user.has_perm(command_permission("send_local_list"), charger):
            raise exceptions.PermissionDenied("You may not send the local list to this charger.")
        body = PublishLocalListSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        update_type = body.validated_data["update_type"]
        try:
            command = send_local_list(charger=charger, update_type=update_type, requested_by=request.user, via="api")
        except DjangoValidationError as error:
            raise as_fields(error, {}) from None
        sent = intent_of(command)
        assert isinstance(sent, SendLocalList)  # noqa: S101 (narrows the type)
        published = {
            "update_type": update_type, "version": sent.version, "entries": len(sent.entries),
            "command": QueuedCommandSerializer(command).data,
        }  # fmt: skip
        return Response(published, status=status.HTTP_202_ACCEPTED)
