"""Sites and chargers (with connectors and live status), and the unknown-charger inbox."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import permissions, serializers, viewsets

from accounts.tenancy import scope_queryset
from sites.commands.progress import job_status_fields, latest_job_statuses
from sites.models import Charger, Connector, Site, UnknownCharger
from sites.selectors import chargers_visible_to


class SiteSerializer(serializers.ModelSerializer):
    class Meta:
        model = Site
        fields = ["id", "organization", "name", "address", "city", "postal_code", "country", "latitude", "longitude",
                  "timezone"]  # fmt: skip
        read_only_fields = fields


class ConnectorSerializer(serializers.ModelSerializer):
    class Meta:
        model = Connector
        fields = ["connector_id", "evse_id", "status", "error_code", "info", "status_timestamp"]
        read_only_fields = fields


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
                  "ocpp_version", "registration_status", "is_online", "last_seen_at", "last_heartbeat_at", "status",
                  "error_code", "connectors", "jobs"]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(serializers.DictField(child=JobStatusSerializer(), allow_null=True))
    def get_jobs(self, charger: Charger) -> dict[str, dict | None] | None:
        # On one charger only: a list would cost a query per job kind per charger.
        view = self.context.get("view")
        if view is not None and getattr(view, "action", None) == "list":
            return None
        return {kind: job_status_fields(report) for kind, report in latest_job_statuses(charger).items()}


class SiteViewSet(viewsets.ReadOnlyModelViewSet):
    serializer_class = SiteSerializer
    filterset_fields = ["organization", "country", "city"]
    ordering_fields = ["name"]

    def get_queryset(self):
        return scope_queryset(Site.objects.order_by("name"), self.request.user, "organization")


class ChargerViewSet(viewsets.ReadOnlyModelViewSet):
    """Chargers with their connectors and live status."""

    serializer_class = ChargerSerializer
    lookup_field = "charge_point_id"
    lookup_value_regex = "[^/]+"
    filterset_fields = ["site", "is_online", "registration_status", "ocpp_version"]
    ordering_fields = ["charge_point_id", "last_seen_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return Charger.objects.none()
        # Own chargers, and chargers other organizations shared with the caller's partner organization.
        return chargers_visible_to(self.request.user).prefetch_related("connectors").order_by("charge_point_id")


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
