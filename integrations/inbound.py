"""Inbound events (issue 20): what a trusted system (an API client, never a person) asks of the
central system through POST /api/v1/integrations/events, mapped onto the same services and
intents as the admin, with the same permission checks (the client's principal, limited by its
scopes) and the same audit trail.

Each event is idempotent by its Idempotency-Key: the answer is stored with the key, and the same
key from the same client gets that answer again without acting twice; the key sent again with
another body is refused (422). Events that fail (400, 403, 404) store nothing, so the client may
correct the request and send it again with the same key."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from rest_framework import exceptions, serializers

from accounts.models import ApiClient
from accounts.roles import model_permission
from accounts.tenancy import scope_queryset
from billing.api.views import TariffSerializer, TariffUpdateSerializer
from billing.models import Tariff
from billing.services import update_tariff
from charging.models import ChargingSession, IdToken, IdTokenStatus, SessionState
from charging.services.corrections import request_stop
from charging.services.tokens import set_token_status
from integrations.models import InboundEvent
from ocpp_gateway.api.views import CommandSerializer, error_messages, may_send
from sites.commands import request_command
from sites.commands.intents import RemoteStart
from sites.models import Command
from sites.selectors import chargers_visible_to

MAX_KEY_LENGTH = 100


class ReusedKey(exceptions.APIException):
    status_code = 422
    default_detail = "This Idempotency-Key was sent before with another request; use a new key for a new event."
    default_code = "idempotency_key_reused"


@dataclass(frozen=True, slots=True)
class Answer:
    status_code: int
    body: dict
    replayed: bool = False


# --- the events ---------------------------------------------------------------------------------


class SessionStartData(serializers.Serializer):
    charge_point_id = serializers.CharField(max_length=48)
    id_tag = serializers.CharField(max_length=255)
    connector_id = serializers.IntegerField(min_value=0, required=False, allow_null=True, default=None)
    evse_id = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)


class SessionStopData(serializers.Serializer):
    session_id = serializers.IntegerField()
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class IdTokenData(serializers.Serializer):
    id_tag = serializers.CharField(max_length=255)


class TariffUpdateData(serializers.Serializer):
    tariff_id = serializers.IntegerField()
    changes = serializers.DictField(
        allow_empty=False,
        help_text="The fields to change, as PATCH /api/v1/tariffs/<id> takes them (name, prices, fees, VAT, "
        "currency, `bands` as a whole list).",
    )


def _start_session(principal, data: dict) -> dict:
    charger = chargers_visible_to(principal).filter(charge_point_id=data["charge_point_id"]).first()
    if charger is None:
        raise exceptions.NotFound(f"No charger {data['charge_point_id']} of yours.")
    intent = RemoteStart(id_token=data["id_tag"], connector=data["connector_id"], evse=data["evse_id"])
    if not may_send(principal, charger, intent, intent):
        raise exceptions.PermissionDenied("This client may not start sessions on this charger.")
    try:
        command = request_command(charger=charger, intent=intent, requested_by=principal, via=Command.Via.API)
    except DjangoValidationError as error:
        raise exceptions.ValidationError(error_messages(intent, error)) from None
    return {"command": CommandSerializer(command).data}


def _stop_session(principal, data: dict) -> dict:
    visible = chargers_visible_to(principal).values("pk")
    session = (
        ChargingSession.objects.filter(pk=data["session_id"], charger__in=visible)
        .select_related("charger", "connector")
        .first()
    )
    if session is None:
        raise exceptions.NotFound(f"No session {data['session_id']} of yours.")
    if session.state != SessionState.ACTIVE:
        raise exceptions.ValidationError({"session_id": ["This session is not active."]})
    if not principal.has_perm("sites.send_remote_stop", session.charger):
        raise exceptions.PermissionDenied("This client may not stop sessions on this charger.")
    try:
        command = request_stop(session=session, requested_by=principal, via=Command.Via.API, reason=data["reason"])
    except DjangoValidationError as error:
        raise exceptions.ValidationError({"session_id": error.messages}) from None
    return {"command": CommandSerializer(command).data}


def _token_status(status: str) -> Callable[[ApiClient, dict], dict]:
    def change(principal, data: dict) -> dict:
        token = IdToken.objects.filter(
            organization__in=principal.organizations.all(), id_tag__iexact=data["id_tag"]
        ).first()
        if token is None:
            raise exceptions.NotFound(f"No id token {data['id_tag']} of yours.")
        if not principal.has_perm("charging.change_idtoken", token):
            raise exceptions.PermissionDenied("This client may not change id tokens.")
        changed = set_token_status(token=token, status=status, by=principal, via="api")
        return {"id_token": {"id": token.pk, "id_tag": token.id_tag, "status": token.status, "changed": changed}}

    return change


def _update_tariff(principal, data: dict) -> dict:
    tariff = scope_queryset(Tariff.objects.all(), principal, "organization").filter(pk=data["tariff_id"]).first()
    if tariff is None:
        raise exceptions.NotFound(f"No tariff {data['tariff_id']} of yours.")
    if not principal.has_perm(model_permission(Tariff, "change"), tariff):
        raise exceptions.PermissionDenied("This client may not change tariffs.")
    changes = TariffUpdateSerializer(tariff, data=data["changes"], partial=True)
    writable = {name for name, field in changes.fields.items() if not field.read_only}
    unknown = sorted(set(data["changes"]) - writable)
    if unknown:
        raise exceptions.ValidationError({"changes": [f"Not a field a tariff change may set: {', '.join(unknown)}."]})
    if not changes.is_valid():
        raise exceptions.ValidationError({"changes": changes.errors})
    try:
        update_tariff(tariff, by=principal, via="api", **changes.validated_data)
    except DjangoValidationError as error:
        details = error.message_dict if hasattr(error, "error_dict") else error.messages
        raise exceptions.ValidationError({"changes": details}) from None
    return {"tariff": TariffSerializer(Tariff.objects.prefetch_related("bands").get(pk=tariff.pk)).data}


@dataclass(frozen=True, slots=True)
class EventType:
    description: str
    data: type[serializers.Serializer]
    handle: Callable[..., dict]


INBOUND_EVENT_TYPES: dict[str, EventType] = {
    "session.start": EventType(
        "Start a session for an id token on a charger (RemoteStart, queued while it is offline); "
        "answers the command", SessionStartData, _start_session,
    ),
    "session.stop": EventType(
        "Stop an active session (RemoteStop); answers the command", SessionStopData, _stop_session
    ),
    "id_token.block": EventType(
        "Block an id token (a lost card): the next authorization refuses it", IdTokenData,
        _token_status(IdTokenStatus.BLOCKED),
    ),
    "id_token.unblock": EventType(
        "Accept an id token again", IdTokenData, _token_status(IdTokenStatus.ACCEPTED)
    ),
    "tariff.update": EventType(
        "Change a tariff's prices (as PATCH /api/v1/tariffs/<id>, the same rules); answers the tariff",
        TariffUpdateData, _update_tariff,
    ),
}  # fmt: skip


# --- idempotency --------------------------------------------------------------------------------


def request_digest(body: object) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True, default=str).encode()).hexdigest()


def receive_event(*, client: ApiClient, principal, key: str, event_type: str, data: dict, digest: str) -> Answer:
    """Act on one event once per key; the same key again answers what it answered the first time."""
    previous = _previous_answer(client, key, digest)
    if previous is not None:
        return previous
    about = INBOUND_EVENT_TYPES[event_type]
    body = about.data(data=data)
    body.is_valid(raise_exception=True)
    try:
        with transaction.atomic():
            result = about.handle(principal, body.validated_data)
            answer = {"type": event_type, "idempotency_key": key, **result}
            InboundEvent.objects.create(
                client=client, idempotency_key=key, type=event_type, request_hash=digest, status_code=202,
                response=answer,
            )  # fmt: skip
    except IntegrityError:
        # The same key arrived twice at once and the other request stored first: this one's work
        # was rolled back with it; answer as the other did.
        previous = _previous_answer(client, key, digest)
        if previous is None:
            raise
        return previous
    return Answer(202, answer)


def _previous_answer(client: ApiClient, key: str, digest: str) -> Answer | None:
    previous = InboundEvent.objects.filter(client=client, idempotency_key=key).first()
    if previous is None:
        return None
    if previous.request_hash != digest:
        raise ReusedKey
    return Answer(previous.status_code, previous.response, replayed=True)
