"""Command batches through the API (issue 20): one intent to many chargers of an organization
(sites.commands.batches), with its progress."""

from dataclasses import asdict

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import JSONParser
from rest_framework.request import Request
from rest_framework.response import Response

from accounts.models import Organization
from accounts.roles import ADMIN_ROLES
from accounts.tenancy import organizations_of, scope_queryset
from ocpp_gateway.api.serializers import command_request_serializer
from sites.commands.batches import Selection, batch_progress, request_batch
from sites.commands.intents import RawCall
from sites.models import Command, CommandBatch


class ProgressSerializer(serializers.Serializer):
    total = serializers.IntegerField(help_text="Chargers chosen.")
    not_yet_queued = serializers.IntegerField()
    refused = serializers.IntegerField(help_text="Chargers this intent does not suit (see `refused_chargers`).")
    waiting_offline = serializers.IntegerField(help_text="Queued for an offline charger: sent when it returns.")
    queued = serializers.IntegerField()
    sent = serializers.IntegerField(help_text="Sent, no answer yet.")
    accepted = serializers.IntegerField()
    rejected = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed, timed out or expired.")


class CommandBatchSerializer(serializers.ModelSerializer):
    progress = serializers.SerializerMethodField()
    refused_chargers = serializers.JSONField(source="refused", read_only=True)

    class Meta:
        model = CommandBatch
        fields = [
            "id", "organization", "intent", "fields", "selection", "state", "progress", "refused_chargers",
            "requested_via", "created_at", "finished_at",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(ProgressSerializer)
    def get_progress(self, batch: CommandBatch) -> dict:
        return asdict(batch_progress(batch))


class ChargerSelectionSerializer(serializers.Serializer):
    site_ids = serializers.ListField(child=serializers.IntegerField(), required=False, default=list)
    charge_point_ids = serializers.ListField(
        child=serializers.CharField(max_length=48), required=False, default=list, max_length=10_000
    )
    online_only = serializers.BooleanField(required=False, default=False)


class CommandBatchRequestSerializer(serializers.Serializer):
    organization = serializers.PrimaryKeyRelatedField(
        queryset=Organization.objects.all(), required=False, help_text="Needed when you act in several."
    )
    chargers = ChargerSelectionSerializer(
        help_text="Which of the organization's chargers: by site, by charge point id, or all ({}); online_only "
        "leaves out those offline (otherwise their commands wait for them)."
    )
    command = serializers.JSONField(
        help_text="The intent and its fields, as for one charger's commands (POST /chargers/<id>/commands), "
        'e.g. {"intent": "reset", "hard": false}. No raw calls.'
    )


class CommandBatchViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """POST: send one intent to many chargers (202, queued a chunk at a time). GET: batches and
    their progress."""

    serializer_class = CommandBatchSerializer
    # A nested body (the selection, the intent): JSON only, never a form with thousands of fields.
    parser_classes = [JSONParser]

    def get_queryset(self):
        return scope_queryset(CommandBatch.objects.all(), self.request.user, "organization", roles=ADMIN_ROLES)

    @extend_schema(request=CommandBatchRequestSerializer, responses={202: CommandBatchSerializer})
    def create(self, request: Request, *args, **kwargs) -> Response:
        body = CommandBatchRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        organization = self._organization(request, body.validated_data.get("organization"))
        intent_body = command_request_serializer(body.validated_data["command"])
        if not intent_body.is_valid():
            raise exceptions.ValidationError({"command": intent_body.errors})
        intent = intent_body.intent()
        if isinstance(intent, RawCall):
            raise exceptions.ValidationError({"command": ["A raw call is sent to one charger at a time."]})
        chosen = body.validated_data["chargers"]
        selection = Selection(
            site_ids=tuple(chosen["site_ids"]),
            charge_point_ids=tuple(chosen["charge_point_ids"]),
            online_only=chosen["online_only"],
        )
        try:
            batch = request_batch(
                organization=organization, intent=intent, selection=selection, requested_by=request.user,
                via=Command.Via.API,
            )  # fmt: skip
        except DjangoPermissionDenied as error:
            raise exceptions.PermissionDenied(str(error)) from None
        except DjangoValidationError as error:
            raise exceptions.ValidationError({"chargers": error.messages}) from None
        batch.refresh_from_db()
        return Response(CommandBatchSerializer(batch).data, status=status.HTTP_202_ACCEPTED)

    def _organization(self, request: Request, asked: Organization | None) -> Organization:
        mine = organizations_of(request.user, roles=ADMIN_ROLES)
        if asked is not None:
            if not mine.filter(pk=asked.pk).exists():
                raise exceptions.ValidationError({"organization": ["Not an organization of yours."]})
            return asked
        if mine.count() != 1:
            raise exceptions.ValidationError({"organization": ["You act in several organizations: name one."]})
        return mine.get()
