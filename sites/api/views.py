"""Sites, chargers (with connectors and live status) and their connectors, and the
unknown-charger inbox. Writes go through sites.services, with the permission of the caller's
role (or API client's scopes) in the object's organization; the organization of a site, and of
a charger through its site, is never taken from the request once the object exists (S17)."""

from django.db.models import F
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, permissions, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.roles import CHARGER_KEY_PERMISSION, model_permission
from accounts.tenancy import organizations_of, scope_queryset
from sites.commands.progress import job_status_fields, latest_job_statuses
from sites.models import Charger, Connector, Site, UnknownCharger
from sites.selectors import chargers_visible_to
from sites.services import (
    add_charger,
    add_connector,
    create_site,
    delete_charger,
    delete_connector,
    delete_site,
    disconnect_charger,
    update_charger,
    update_site,
)


def require(user, verb: str, obj) -> None:
    """Refuse (403) unless the user (or API client, within its scopes) may `verb` this object:
    the permission counts in the object's organization only (S16)."""
    if not user.has_perm(model_permission(type(obj), verb), obj):
        noun = type(obj)._meta.verbose_name_plural
        raise exceptions.PermissionDenied(f"You may not {verb} {noun} of this organization.")


def schema_only(serializer: serializers.Serializer) -> bool:
    """Schema generation: no user, no database."""
    return getattr(serializer.context.get("view"), "swagger_fake_view", False)


class OwnOrganizationMixin:
    """For a ModelSerializer with an `organization`: on create it is chosen among the caller's
    own organizations (read-only on update: never changed)."""

    def get_fields(self):
        fields = super().get_fields()  # type: ignore[misc]
        request = self.context.get("request")  # type: ignore[attr-defined]
        if request is not None and not schema_only(self) and not fields["organization"].read_only:  # type: ignore[arg-type]
            fields["organization"].queryset = organizations_of(request.user)
        return fields


class SiteSerializer(OwnOrganizationMixin, serializers.ModelSerializer):
    """A site; its organization is chosen once, among the caller's own, and never changed."""

    class Meta:
        model = Site
        fields = ["id", "organization", "name", "address", "city", "postal_code", "country", "latitude", "longitude",
                  "timezone", "created_at"]  # fmt: skip
        read_only_fields = ["created_at"]
        validators: list = []  # the service validates the whole site (sites.services.create_site)


class SiteUpdateSerializer(SiteSerializer):
    """A site as PUT and PATCH change it: the organization is shown, never written."""

    class Meta(SiteSerializer.Meta):
        read_only_fields = ["organization", "created_at"]


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = ["id", "connector_id", "evse_id", "status", "error_code", "info", "status_timestamp"]
        read_only_fields = fields


class NewConnectorSerializer(serializers.ModelSerializer):
    """A connector an operator adds: its number (1.6), or its number within an EVSE (2.0.1).
    Its status is what the charger reports."""

    class Meta:
        model = Connector
        fields = ["id", "connector_id", "evse_id", "status", "error_code", "info", "status_timestamp"]
        read_only_fields = ["id", "status", "error_code", "info", "status_timestamp"]
        validators: list = []  # the service validates the whole connector (sites.services.add_connector)


class JobStatusSerializer(serializers.Serializer):
    """A job status the charger reported (LogStatusNotification, (Signed)FirmwareStatusNotification,
    DiagnosticsStatusNotification), as sites.commands.progress.job_status_fields gives it."""

    kind = serializers.CharField(help_text="firmware, log or diagnostics")
    status = serializers.CharField(help_text="The charger's word, e.g. Uploading, Uploaded, Installed.")
    request_id = serializers.IntegerField(allow_null=True)
    command = serializers.IntegerField(allow_null=True, help_text="The command that started the job.")
    received_at = serializers.DateTimeField()


class ChargerSerializer(serializers.ModelSerializer):
    """Secrets (keys) and the security profile are never exposed or writable (S17)."""

    organization = serializers.IntegerField(source="site.organization_id", read_only=True)
    connectors = ConnectorSerializer(many=True, read_only=True)
    jobs = serializers.SerializerMethodField(
        help_text="Per job kind (firmware, log, diagnostics), the latest status the charger reported, with the "
        "command that started it. On a single charger's page only (null in the list)."
    )

    class Meta:
        model = Charger
        fields = ["charge_point_id", "organization", "site", "vendor", "model", "serial_number", "firmware_version",
                  "ocpp_version", "preferred_ocpp_version", "registration_status", "heartbeat_interval", "is_online",
                  "last_seen_at", "last_heartbeat_at", "last_boot_at", "connected_at", "status", "error_code",
                  "local_list_version", "created_at", "connectors", "jobs"]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "local_list_version": {
                "help_text": "The local authorization list's version the charger holds (its entries: "
                "/chargers/<id>/local-list); 0: none, -1: the charger keeps no list."
            }
        }

    @extend_schema_field(serializers.DictField(child=JobStatusSerializer(), allow_null=True))
    def get_jobs(self, charger: Charger) -> dict[str, dict | None] | None:
        # On one charger only: a list would cost a query per job kind per charger.
        view = self.context.get("view")
        if view is not None and getattr(view, "action", None) == "list":
            return None
        return {kind: job_status_fields(report) for kind, report in latest_job_statuses(charger).items()}


class ChargerUpdateSerializer(ChargerSerializer):
    """A charger as PUT and PATCH change it: its site (within its organization), the answer to
    its BootNotification, its heartbeat interval and preferred OCPP version. What the charger
    reports (hardware, firmware, status, connection) is its own word."""

    class Meta(ChargerSerializer.Meta):
        read_only_fields = [
            name for name in ChargerSerializer.Meta.fields
            if name not in ("site", "heartbeat_interval", "preferred_ocpp_version", "registration_status")
        ]  # fmt: skip

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not schema_only(self):
            fields["site"].queryset = scope_queryset(Site.objects.all(), request.user, "organization")
        return fields


class NewChargerSerializer(serializers.ModelSerializer):
    """A charger to register: it gets `connector_count` connectors (numbered from 1) and a new
    random HTTP Basic key (security profile 1), shown once in the answer."""

    connector_count = serializers.IntegerField(min_value=1, max_value=32, default=1, write_only=True)

    class Meta:
        model = Charger
        fields = ["charge_point_id", "site", "connector_count", "vendor", "model", "serial_number", "firmware_version",
                  "preferred_ocpp_version", "registration_status", "heartbeat_interval"]  # fmt: skip
        validators: list = []  # the service validates the whole charger (sites.services.register_charger)
        extra_kwargs = {"charge_point_id": {"validators": []}}  # unique: said by the service, in the error shape

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None and not schema_only(self):
            fields["site"].queryset = scope_queryset(Site.objects.all(), request.user, "organization")
        return fields


class RegisteredChargerSerializer(ChargerSerializer):
    auth_key = serializers.CharField(
        read_only=True,
        help_text="The charger's HTTP Basic password (its username is its charge point id): shown in this answer "
        "only, kept as a hash. Configure it on the charger (AuthorizationKey).",
    )

    class Meta(ChargerSerializer.Meta):
        fields = [*ChargerSerializer.Meta.fields, "auth_key"]
        read_only_fields = fields


class DisconnectedSerializer(serializers.Serializer):
    charge_point_id = serializers.CharField()
    disconnected = serializers.BooleanField(
        help_text="True: the process holding the socket was told to close it. False: the charger was not connected "
        "(or the gateway could not be reached)."
    )


class SiteViewSet(viewsets.ModelViewSet):
    """Sites of your organizations. Deleting a site that still has chargers answers 409."""

    serializer_class = SiteSerializer
    filterset_fields = ["organization", "country", "city"]
    ordering_fields = ["name", "created_at"]

    def get_serializer_class(self):
        return SiteUpdateSerializer if self.action in ("update", "partial_update") else SiteSerializer

    def get_queryset(self):
        return scope_queryset(Site.objects.order_by("name"), self.request.user, "organization")

    def perform_create(self, serializer) -> None:
        fields = dict(serializer.validated_data)
        organization = fields.pop("organization")
        require(self.request.user, "add", Site(organization=organization))
        serializer.instance = create_site(organization=organization, by=self.request.user, via="api", **fields)

    def perform_update(self, serializer) -> None:
        require(self.request.user, "change", serializer.instance)
        update_site(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)

    def perform_destroy(self, instance: Site) -> None:
        require(self.request.user, "delete", instance)
        delete_site(instance, by=self.request.user, via="api")


class ChargerViewSet(viewsets.ModelViewSet):
    """Chargers with their connectors and live status. Registering one answers its new HTTP
    Basic key, once; deleting one with sessions answers 409."""

    serializer_class = ChargerSerializer
    lookup_field = "charge_point_id"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["site", "is_online", "registration_status", "ocpp_version"]
    ordering_fields = ["charge_point_id", "last_seen_at", "last_heartbeat_at", "last_boot_at", "connected_at",
                       "created_at"]  # fmt: skip

    def get_serializer_class(self):
        if self.action == "create":
            return NewChargerSerializer
        if self.action in ("update", "partial_update"):
            return ChargerUpdateSerializer
        return ChargerSerializer

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return Charger.objects.none()
        # Own chargers, and chargers other organizations shared with the caller's partner organization.
        return chargers_visible_to(self.request.user).prefetch_related("connectors").order_by("charge_point_id")

    @extend_schema(request=NewChargerSerializer, responses={201: RegisteredChargerSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = self.get_serializer(data=request.data)
        body.is_valid(raise_exception=True)
        fields = dict(body.validated_data)
        candidate = Charger(site=fields["site"])
        require(request.user, "add", candidate)
        if not request.user.has_perm(CHARGER_KEY_PERMISSION, candidate):
            raise exceptions.PermissionDenied("You may not issue charger keys in this organization.")
        charger, key = add_charger(by=request.user, via="api", **fields)
        charger.auth_key = key  # type: ignore[attr-defined]
        answer = RegisteredChargerSerializer(charger, context=self.get_serializer_context())
        return Response(answer.data, status=status.HTTP_201_CREATED)

    def perform_update(self, serializer) -> None:
        require(self.request.user, "change", serializer.instance)
        update_charger(serializer.instance, by=self.request.user, via="api", **serializer.validated_data)

    def perform_destroy(self, instance: Charger) -> None:
        require(self.request.user, "delete", instance)
        delete_charger(instance, by=self.request.user, via="api")

    @extend_schema(request=None, responses=DisconnectedSerializer, summary="Close the charger's live connection")
    @action(detail=True, methods=["post"])
    def disconnect(self, request: Request, charge_point_id: str | None = None) -> Response:
        """The process holding the charger's WebSocket closes it (code 4001); the charger is
        marked offline and is expected to connect again. Needs the permission to change the
        charger."""
        charger = self.get_object()
        require(request.user, "change", charger)
        done = disconnect_charger(charger=charger, by=request.user, via="api")
        return Response({"charge_point_id": charger.charge_point_id, "disconnected": done})


class ChargerConnectorViewSet(
    mixins.ListModelMixin, mixins.CreateModelMixin, mixins.RetrieveModelMixin, mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):  # fmt: skip
    """The connectors of one charger. An operator adds a connector the charger has not reported
    yet, or deletes one it no longer has (409 while sessions refer to it); their status is what
    the charger reports."""

    serializer_class = NewConnectorSerializer
    filterset_fields = ["evse_id", "status"]
    ordering_fields = ["connector_id", "status_timestamp"]

    def charger(self) -> Charger:
        if not hasattr(self, "_charger"):
            self._charger = get_object_or_404(chargers_visible_to(self.request.user),
                                              charge_point_id=self.kwargs["charge_point_id"])  # fmt: skip
        return self._charger

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return Connector.objects.none()
        # A 1.6 charger's connectors (no EVSE) first, on every database (NULLs sort last on PostgreSQL).
        return Connector.objects.filter(charger=self.charger()).order_by(
            F("evse_id").asc(nulls_first=True), "connector_id"
        )

    def create(self, request: Request, *args, **kwargs) -> Response:
        self.charger()  # a charger one may not see answers 404 before the body is read
        return super().create(request, *args, **kwargs)

    def perform_create(self, serializer) -> None:
        charger = self.charger()
        require(self.request.user, "add", Connector(charger=charger))
        fields = serializer.validated_data
        serializer.instance = add_connector(charger=charger, by=self.request.user, via="api", **fields)

    def perform_destroy(self, instance: Connector) -> None:
        require(self.request.user, "delete", instance)
        delete_connector(instance, by=self.request.user, via="api")


class UnknownChargerSerializer(serializers.ModelSerializer):
    class Meta:
        model = UnknownCharger
        fields = ["id", "charge_point_id", "state", "attempts", "first_seen_at", "last_seen_at", "remote_address",
                  "vendor", "model", "serial_number", "firmware_version"]  # fmt: skip
        read_only_fields = fields


class UnknownChargerViewSet(viewsets.ReadOnlyModelViewSet):
    """Connection attempts by unknown charge point ids: they belong to no tenant, so only
    platform administrators see them."""

    serializer_class = UnknownChargerSerializer
    permission_classes = [permissions.IsAdminUser]
    filterset_fields = ["state"]
    ordering_fields = ["last_seen_at"]

    def get_queryset(self):
        if not self.request.user.is_superuser:
            return UnknownCharger.objects.none()
        return UnknownCharger.objects.order_by("-last_seen_at")
