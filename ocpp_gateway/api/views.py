"""Commands through the API: POST queues one (202), GET reads its status and result, with an
optional `wait` that holds the request until the command has finished or the wait ends."""

import threading
import time

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.roles import command_permission
from ocpp_gateway.rpc import RpcError
from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16.handlers import CSMS_INITIATED
from sites.commands import request_command
from sites.commands.intents import RawCall
from sites.models import Command
from sites.selectors import chargers_visible_to, commands_visible_to

_INTERIM_KINDS = {"CancelReservation":"cancel_reservation","ChangeAvailability":"change_availability","ChangeConfiguration":"change_setting","ClearCache":"clear_cache","ClearChargingProfile":"clear_charging_profile","DataTransfer":"data_transfer","GetCompositeSchedule":"get_composite_schedule","GetConfiguration":"read_settings","GetDiagnostics":"get_diagnostics","GetLocalListVersion":"get_local_list_version","RemoteStartTransaction":"remote_start","RemoteStopTransaction":"remote_stop","ReserveNow":"reserve","Reset":"reset","SendLocalList":"send_local_list","SetChargingProfile":"set_charging_profile","TriggerMessage":"trigger_message","UnlockConnector":"unlock","UpdateFirmware":"update_firmware"}  # fmt: skip  # noqa: E501
MAX_WAIT_SECONDS = 30.0
POLL_SECONDS = 0.2
# A waiting request holds one of the process's HTTP_SYNC_THREADS request threads: at most half
# of them wait at once, so waits never starve the admin and the rest of the API. Beyond that the
# answer comes at once (the client reads `status` either way).
_waiting = threading.BoundedSemaphore(max(1, settings.HTTP_SYNC_THREADS // 2))


class CommandSerializer(serializers.ModelSerializer):
    charge_point_id = serializers.CharField(source="charger.charge_point_id", read_only=True)

    class Meta:
        model = Command
        fields = [
            "id",
            "charge_point_id",
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
        ]
        read_only_fields = fields


class CommandRequestSerializer(serializers.Serializer):
    action = serializers.ChoiceField(choices=sorted(CSMS_INITIATED))
    payload = serializers.DictField(default=dict)
    idempotency_key = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        # The payload must be a valid OCPP 1.6 request for the action (its official schema).
        try:
            validate_call_payload("ocpp1.6", attrs["action"], attrs["payload"], message_id="api")
        except RpcError as error:
            raise ValidationError({"payload": [error.description]}) from None
        return attrs


class ChargerCommandsView(APIView):
    """POST: queue a command for the charger. GET: its latest commands."""

    serializer_class = CommandSerializer

    @extend_schema(responses=CommandSerializer(many=True), summary="The charger's latest 100 commands")
    def get(self, request: Request, charge_point_id: str) -> Response:
        charger = get_object_or_404(chargers_visible_to(request.user), charge_point_id=charge_point_id)
        commands = commands_visible_to(request.user).filter(charger=charger)[:100]
        return Response(CommandSerializer(commands, many=True).data)

    @extend_schema(
        request=CommandRequestSerializer,
        responses={202: CommandSerializer},
        summary="Send a command to the charger (queued while it is offline)",
    )
    def post(self, request: Request, charge_point_id: str) -> Response:
        charger = get_object_or_404(chargers_visible_to(request.user), charge_point_id=charge_point_id)
        body = CommandRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        action = body.validated_data["action"]
        # Interim, until the codec reads raw calls as intents (issue 16).
        kind = _INTERIM_KINDS[action]
        if not request.user.has_perm(command_permission(kind), charger):
            raise PermissionDenied(f"You may not send {action}.")
        try:
            command = request_command(
                charger=charger,
                intent=RawCall(action=action, payload=body.validated_data["payload"]),
                requested_by=request.user,
                via=Command.Via.API,
                idempotency_key=body.validated_data["idempotency_key"],
            )
        except DjangoValidationError as error:  # well-formed, but not for this charger (sites.commands.rules)
            raise ValidationError({"payload": error.messages}) from None
        return Response(CommandSerializer(command).data, status=status.HTTP_202_ACCEPTED)


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
