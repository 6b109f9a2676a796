"""Report exports: POST asks for one (202; a Celery job writes the file), GET follows its
status and progress, `download` streams the finished file."""

from django.core.exceptions import ValidationError as DjangoValidationError
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Activity, Organization
from charging.models import IdToken
from reports.downloads import export_file_response
from reports.models import ExportFormat, ReportExport
from reports.selectors import (
    MessageFilters,
    SessionFilters,
    chargers_of,
    exports_visible_to,
    id_tokens_of,
    organizations_exportable_by,
    sites_of,
)
from reports.services import MESSAGE_FORMATS, request_message_export, request_session_export
from sites.models import Charger, Site


class ReportExportSerializer(serializers.ModelSerializer):
    download_url = serializers.SerializerMethodField()

    class Meta:
        model = ReportExport
        fields = ["id", "organization", "kind", "format", "filters", "status", "rows_written", "row_count",
                  "truncated", "error", "requested_by", "created_at", "started_at", "finished_at",
                  "download_url"]  # fmt: skip
        read_only_fields = fields

    def get_download_url(self, export: ReportExport) -> str | None:
        if export.status != ReportExport.Status.DONE:
            return None
        return reverse("reportexport-download", args=[export.pk])


class SessionExportRequestSerializer(serializers.Serializer):
    """Every choice is limited to the caller's own organizations (S14, S22)."""

    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.none())
    format = serializers.ChoiceField(choices=ExportFormat.choices, default=ExportFormat.CSV)
    site = serializers.PrimaryKeyRelatedField(queryset=Site.objects.none(), required=False, allow_null=True)
    charger = serializers.PrimaryKeyRelatedField(queryset=Charger.objects.none(), required=False, allow_null=True)
    id_token = serializers.PrimaryKeyRelatedField(queryset=IdToken.objects.none(), required=False, allow_null=True)
    date_from = serializers.DateTimeField(required=False, allow_null=True, help_text="Sessions started at or after.")
    date_to = serializers.DateTimeField(required=False, allow_null=True, help_text="Sessions started before.")

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            organizations = organizations_exportable_by(request.user)
            fields["organization"].queryset = organizations
            fields["site"].queryset = sites_of(organizations)
            fields["charger"].queryset = chargers_of(organizations)
            fields["id_token"].queryset = id_tokens_of(organizations)
        return fields

    def filters(self) -> SessionFilters:
        data = self.validated_data

        def pk(key: str) -> int | None:
            return data[key].pk if data.get(key) else None

        return SessionFilters(
            site=pk("site"),
            charger=pk("charger"),
            id_token=pk("id_token"),
            date_from=data.get("date_from"),
            date_to=data.get("date_to"),
        )


# Named in the schema (SPECTACULAR_SETTINGS ENUM_NAME_OVERRIDES): a message log has no PDF.
MESSAGE_FORMAT_CHOICES = [(export_format.value, export_format.label) for export_format in MESSAGE_FORMATS]


class MessageExportRequestSerializer(serializers.Serializer):
    """The message log of one of the caller's organizations (or of one of its chargers), in a
    range of at most 31 days."""

    organization = serializers.PrimaryKeyRelatedField(queryset=Organization.objects.none())
    format = serializers.ChoiceField(choices=MESSAGE_FORMAT_CHOICES, default=ExportFormat.CSV)
    charger = serializers.PrimaryKeyRelatedField(queryset=Charger.objects.none(), required=False, allow_null=True)
    action = serializers.CharField(max_length=64, required=False, allow_blank=True, help_text="e.g. StatusNotification")
    direction = serializers.ChoiceField(choices=["in", "out"], required=False, allow_blank=True)
    date_from = serializers.DateTimeField(help_text="Frames at or after.")
    date_to = serializers.DateTimeField(help_text="Frames before; at most 31 days after date_from.")

    def get_fields(self):
        fields = super().get_fields()
        request = self.context.get("request")
        if request is not None:
            organizations = organizations_exportable_by(request.user)
            fields["organization"].queryset = organizations
            fields["charger"].queryset = chargers_of(organizations)
        return fields

    def filters(self) -> MessageFilters:
        data = self.validated_data
        return MessageFilters(
            date_from=data["date_from"],
            date_to=data["date_to"],
            charger=data["charger"].pk if data.get("charger") else None,
            action=data.get("action", ""),
            direction=data.get("direction", ""),
        )


class ReportExportViewSet(
    mixins.CreateModelMixin, mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet
):
    serializer_class = ReportExportSerializer
    # Not "format": DRF reads ?format= as the renderer to answer with.
    filterset_fields = ["organization", "status", "kind"]
    ordering_fields = ["created_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation: no user, no database
            return ReportExport.objects.none()
        return exports_visible_to(self.request.user)

    @extend_schema(
        request=SessionExportRequestSerializer,
        responses={202: ReportExportSerializer},
        summary="Ask for an export of session history (written by a background job)",
    )
    def create(self, request: Request, *args, **kwargs) -> Response:
        return self._request_export(request, SessionExportRequestSerializer, request_session_export)

    @extend_schema(
        request=MessageExportRequestSerializer,
        responses={202: ReportExportSerializer},
        summary="Ask for an export of the message log (written by a background job)",
    )
    @action(detail=False, methods=["post"], url_path="messages")
    def messages(self, request: Request) -> Response:
        return self._request_export(request, MessageExportRequestSerializer, request_message_export)

    def _request_export(self, request: Request, body_class, service) -> Response:
        """202 with the export the service recorded (its job runs once committed); a refusal
        names the field at fault."""
        body = body_class(data=request.data, context=self.get_serializer_context())
        body.is_valid(raise_exception=True)
        try:
            export = service(
                organization=body.validated_data["organization"],
                export_format=body.validated_data["format"],
                filters=body.filters(),
                requested_by=request.user,
                via=Activity.Via.API,
            )
        except DjangoValidationError as error:
            raise ValidationError(error.message_dict) from None
        return Response(self.get_serializer(export).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(
        responses={
            (200, "text/csv"): OpenApiTypes.BINARY,
            (200, "application/json"): OpenApiTypes.BINARY,
            (200, "application/pdf"): OpenApiTypes.BINARY,
        },
        summary="The finished export's file (404 until it is done)",
    )
    @action(detail=True, methods=["get"])
    def download(self, request: Request, pk=None):
        return export_file_response(self.get_object())
