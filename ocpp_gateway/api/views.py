"""Commands through the API: POST queues one (202), GET reads its status and result, with an
optional `wait` that holds the request until the command has finished or the wait ends."""

import threading
import time

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django_filters import rest_framework as filters
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import command_permission
from common.api_filters import FilterSet, UtcIsoDateTimeFilter
from ocpp_gateway.api.serializers import (
    COMMAND_REQUEST_DESCRIPTION,
    COMMAND_REQUEST_EXAMPLES,
    command_request_schema,
    command_request_serializer,
)
from sites.api.views import JobStatusSerializer
from sites.commands import request_command
from sites.commands.intents import Intent, RawCall
from sites.commands.progress import job_status_fields, latest_job_status
from sites.commands.rules import read_intent
from sites.models import Charger, Command
from sites.selectors import chargers_visible_to, commands_visible_to

MAX_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2
# A waiting request holds one of the process's HTTP_SYNC_THREADS request threads: at most half
# of them wait at once, so waits never starve the admin and the rest of the API. Beyond that the
# answer comes at once (the client reads `status` either way).
_waiting = threading.BoundedSemaphore(max(1, settings.HTTP_SYNC_THREADS // 2))


class CommandSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)
    job_status = serializers.SerializerMethodField(
        help_text="The latest status the charger reported about the job the command started (a log upload, a "
        "firmware update), found by the request id it repeats; null until it reports one."
    )

    class Meta:
        model = Command
        fields = [
            "id",
            "charge_point_id",
            "intent",
            "fields",
            "action",
            "payload",
            "status",
            "result",
            "error_code",
            "error_description",
            "attempts",
            "idempotency_key",
            "requested_via",
            "created_at",
            "sent_at",
            "finished_at",
            "expires_at",
            "request_id",
            "job_status",
        ]
        read_only_fields = fields
        extra_kwargs = {
            "intent": {"help_text": "What was asked: the intent's kind."},
            "fields": {"help_text": "The intent's fields."},
            "action": {"help_text": "The wire action sent to the charger (empty until it is sent)."},
            "payload": {"help_text": "The wire payload sent to the charger, secrets masked (empty until it is sent)."},
        }

    @extend_schema_field(JobStatusSerializer(allow_null=True))
    def get_job_status(self, command: Command) -> dict | None:
        return job_status_fields(latest_job_status(command))


class CommandFilter(FilterSet):
    charge_point_id = filters.CharFilter(field_name="charger__charge_point_id", max_length=48)
    since = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="gte")
    until = UtcIsoDateTimeFilter(field_name="created_at", lookup_expr="lt")

    class Meta:
        model = Command
        fields = ["intent", "status", "requested_via", "batch"]


class CommandListView(generics.ListAPIView):
    """Every command to the caller's chargers, newest first: filter by charger, intent, status,
    how it was asked (admin, api, system), batch and creation time; order by any of its times."""

    serializer_class = CommandSerializer
    filterset_class = CommandFilter
    ordering_fields = ["created_at", "sent_at", "finished_at", "expires_at"]

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # schema generation has no user
            return Command.objects.none()
        return commands_visible_to(self.request.user).select_related("charger").order_by("-created_at", "-pk")


class ChargerCommandsView(APIView):
    """POST: queue a command for the charger. GET: its latest commands."""

    serializer_class = CommandSerializer

    @extend_schema(responses=CommandSerializer(many=True), summary="The charger's latest 100 commands")
    def get(self, request: Request, charge_point_id: str) -> Response:
        charger = get_object_or_404(chargers_visible_to(request.user), charge_point_id=charge_point_id)
        commands = commands_visible_to(request.user).filter(charger=charger)[:100]
        return Response(CommandSerializer(commands, many=True).data)

    @extend_schema(
        request=command_request_schema(),
        responses={202: CommandSerializer},
        examples=COMMAND_REQUEST_EXAMPLES,
        summary="Send a command to the charger (queued while it is offline)",
        description=COMMAND_REQUEST_DESCRIPTION,
    )
    def post(self, request: Request, charge_point_id: str) -> Response:
        charger = get_object_or_404(chargers_visible_to(request.user), charge_point_id=charge_point_id)
        body = command_request_serializer(request.data, charger)
        body.is_valid(raise_exception=True)
        intent = body.intent()
        try:
            # A raw call is judged as what the charger's version reads it as (400 before 403, as
            # for any request that is not well-formed).
            meant = read_intent(charger=charger, intent=intent)
        except DjangoValidationError as error:
            raise ValidationError(error_messages(intent, error)) from None
        if not may_send(request.user, charger, intent, meant):
            raise PermissionDenied(f"You may not send this command ({intent.title.lower()}).")
        try:
            command = request_command(
                charger=charger,
                intent=intent,
                requested_by=request.user,
                via=Command.Via.API,
                idempotency_key=body.validated_data["idempotency_key"],
            )
        except DjangoValidationError as error:  # well-formed, but not for this charger (sites.commands.rules)
            raise ValidationError(error_messages(intent, error)) from None
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


def may_send(user, charger: Charger, intent: Intent, meant: Intent) -> bool:
    """The permission of the intent's kind on this charger; a raw call that the charger's
    version reads as a neutral intent (`meant`) may also be sent with that intent's permission:
    partners start and stop sessions in the raw form, as they always could."""
    kinds = {intent.kind, meant.kind}
    return any(user.has_perm(command_permission(kind), charger) for kind in kinds)


def error_messages(intent: Intent, error: DjangoValidationError) -> dict[str, list[str]]:
    """The port's refusal in the API's error shape: per field when it names fields; for the raw
    form, an unknown action on `action` and the rest on `payload`; otherwise on the request."""
    if hasattr(error, "error_dict"):
        return error.message_dict
    if not isinstance(intent, RawCall):
        return {"non_field_errors": error.messages}
    unknown_action = any(part.code == "action" for part in error.error_list)
    return {"action" if unknown_action else "payload": error.messages}


class CommandDetailView(APIView):
    """The command's status and result. `?wait=N` (seconds, at most 30) holds the answer until
    the command has finished or N seconds have passed."""

    serializer_class = CommandSerializer

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "wait",
                {"type": "number", "minimum": 0, "maximum": MAX_WAIT_SECONDS},
                description=f"Seconds (0-{MAX_WAIT_SECONDS:g}) to wait for the command to finish. When many "
                "requests are already waiting, the answer comes at once: read `status`.",
            )
        ],
        responses=CommandSerializer,
        summary="A command's status and result",
    )
    def get(self, request: Request, command_id: int) -> Response:
        commands = commands_visible_to(request.user)
        command = get_object_or_404(commands, pk=command_id)
        wait = _wait_seconds(request)
        if wait and not command.is_finished and _waiting.acquire(blocking=False):
            try:
                _wait_until_finished(command, wait)
            finally:
                _waiting.release()
        return Response(CommandSerializer(command).data)


def _wait_until_finished(command: Command, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not command.is_finished and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)
        command.refresh_from_db()


def _wait_seconds(request: Request) -> float:
    raw = request.query_params.get("wait", "0")
    try:
        wait = float(raw)
    except ValueError:
        raise ValidationError({"wait": ["A number of seconds."]}) from None
    if not 0 <= wait <= MAX_WAIT_SECONDS:
        raise ValidationError({"wait": [f"Between 0 and {MAX_WAIT_SECONDS:g} seconds."]})
    return wait
