"""The command API's request forms, built from the intent types (sites.commands.intents).

A command is asked for in one of two forms:

- the neutral form, `{"intent": "<kind>", <the intent's fields>}`, e.g.
  `{"intent": "unlock", "connector": 1}`: one serializer per intent type, whose fields are the
  dataclass's fields (so the API, its OpenAPI schema and the intents cannot disagree);
- the raw form, `{"action": "<wire action>", "payload": {...}}`, the charger's own protocol
  version's call, for experts (the `raw` intent).
"""

import dataclasses
import datetime as dt
import functools
import types
import typing
from typing import Any

from drf_spectacular.utils import OpenApiExample, PolymorphicProxySerializer
from rest_framework import serializers

from sites.commands.intents import INTENT_TYPES, Intent, RawCall, RotateKey
from sites.commands.rules import intent_kinds_for
from sites.models import Charger, OcppVersion

# OCPP's integers are 32-bit; every count, id and duration in an intent is 0 or more.
MAX_INTEGER = 2**31 - 1
# Not asked for through the API: the key rotation generates, seals and masks its key itself
# (sites.commands.rotate_charger_key), from the admin.
NOT_REQUESTABLE = frozenset({RotateKey.kind})
IDEMPOTENCY_KEY_HELP = "Sending the same key again returns the first command and sends nothing again."


def requestable_intent_types() -> dict[str, type[Intent]]:
    return {kind: intent_type for kind, intent_type in INTENT_TYPES.items() if kind not in NOT_REQUESTABLE}


def _optional(hint: Any) -> tuple[Any, bool]:
    """The type inside `X | None`, and whether None is allowed."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        if len(options) == 1:
            return options[0], True
    return hint, False


def _serializer_field(hint: Any, **options: Any) -> serializers.Field:
    """The DRF field for one dataclass field's type."""
    if hint is bool:
        return serializers.BooleanField(**options)
    if hint is int:
        return serializers.IntegerField(min_value=0, max_value=MAX_INTEGER, **options)
    if hint is float:
        return serializers.FloatField(**options)
    if hint is str:
        return serializers.CharField(trim_whitespace=False, **options)
    if hint is dt.datetime:
        return serializers.DateTimeField(**options)
    if typing.get_origin(hint) is tuple:
        (item, *_rest) = typing.get_args(hint)
        return serializers.ListField(child=_serializer_field(item), **options)
    if typing.get_origin(hint) is dict:
        return serializers.DictField(**options)
    if isinstance(hint, type) and dataclasses.is_dataclass(hint):
        return value_serializer(hint)(**options)
    raise TypeError(f"no API field for {hint!r}")  # a new intent type needs a mapping here


def _fields_of(cls: type) -> dict[str, serializers.Field]:
    """One DRF field per dataclass field: required unless it has a default, null where the
    dataclass allows None."""
    hints = typing.get_type_hints(cls)
    fields = {}
    for field in dataclasses.fields(cls):
        hint, nullable = _optional(hints[field.name])
        has_default = field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING
        options: dict[str, Any] = {"required": not has_default}
        if nullable:
            options["allow_null"] = True
        if hint is str:
            # Text the intent requires is never empty; optional text may be.
            options["allow_blank"] = has_default
        fields[field.name] = _serializer_field(hint, **options)
    return fields


@functools.cache
def value_serializer(cls: type) -> type[serializers.Serializer]:
    """The serializer of a value inside an intent (a charging profile, a schedule period...)."""
    return type(f"{cls.__name__}Value", (serializers.Serializer,), _fields_of(cls))


class IntentRequestSerializer(serializers.Serializer):
    """Base of the neutral form's serializers: `intent()` builds the intent of valid data."""

    intent_type: type[Intent] = Intent
    # A field the intent does not have is an error, not silently dropped: it was meant.
    refuse_unknown_fields = True

    def to_internal_value(self, data: Any) -> Any:
        if self.refuse_unknown_fields and isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["Not a field of this intent."] for name in unknown})
        return super().to_internal_value(data)

    def intent(self) -> Intent:
        fields = {
            name: value for name, value in self.validated_data.items() if name not in ("intent", "idempotency_key")
        }
        return self.intent_type.from_fields(fields)


@functools.cache
def intent_request_serializer(kind: str) -> type[IntentRequestSerializer]:
    """The neutral form of one intent type: `intent` names it, the rest are its fields."""
    intent_type = INTENT_TYPES[kind]
    fields: dict[str, Any] = {
        "intent": serializers.ChoiceField(choices=[kind], help_text=intent_type.title),
        **_fields_of(intent_type),
        "idempotency_key": serializers.CharField(
            max_length=100, required=False, allow_blank=True, default="", help_text=IDEMPOTENCY_KEY_HELP
        ),
    }
    # OpenAPI names request components "<name>Request" (COMPONENT_SPLIT_REQUEST).
    name = "".join(part.capitalize() for part in kind.split("_")) + "Intent"
    return type(name, (IntentRequestSerializer,), {**fields, "intent_type": intent_type, "__doc__": intent_type.title})


class RawCommandSerializer(IntentRequestSerializer):
    """The raw form: a call of the charger's own protocol version (for 1.6 chargers, today's
    `{"action": ..., "payload": ...}`), checked against that version's schema."""

    intent_type = RawCall
    refuse_unknown_fields = False  # as the raw form always did
    action = serializers.CharField(max_length=100, help_text="The wire action of the charger's protocol version.")
    payload = serializers.DictField(default=dict, help_text="The call's payload, as the version's schema says.")
    idempotency_key = serializers.CharField(
        max_length=100, required=False, allow_blank=True, default="", help_text=IDEMPOTENCY_KEY_HELP
    )


def command_request_serializer(data: Any, charger: Charger | None = None) -> IntentRequestSerializer:
    """The serializer for a request body: the neutral form when it names an intent, the raw
    form otherwise. An unknown intent is a 400 with the list of known ones; so is an intent the
    charger's protocol version cannot carry (a 2.0.1 report asked of a 1.6 charger), with the
    list of those it can."""
    if isinstance(data, dict) and "intent" in data:
        kinds = requestable_intent_types()
        kind = data["intent"]
        if not isinstance(kind, str) or kind not in kinds:
            raise serializers.ValidationError({"intent": [f"Unknown intent; one of: {', '.join(sorted(kinds))}."]})
        if charger is not None:
            _check_version_carries(charger, kind, kinds)
        if kind == RawCall.kind:
            return RawCommandSerializer(data={name: value for name, value in data.items() if name != "intent"})
        return intent_request_serializer(kind)(data=data)
    return RawCommandSerializer(data=data)


def _check_version_carries(charger: Charger, kind: str, requestable: dict[str, type[Intent]]) -> None:
    carried = intent_kinds_for(charger)
    if kind in carried:
        return
    version = f"OCPP {OcppVersion(charger.ocpp_version).value}"
    offered = ", ".join(sorted(set(requestable) & carried))
    raise serializers.ValidationError(
        {"intent": [f"{charger.charge_point_id} speaks {version}, which has no {kind}; one of: {offered}."]}
    )


# --- OpenAPI ---------------------------------------------------------------------------------

# The description and the raw form's examples below name 1.6 actions and payload fields on
# purpose: they document the 1.6 wire form that the raw form accepts (the one place the API
# shows a wire call). Nothing else in the API names one.
COMMAND_REQUEST_DESCRIPTION = (
    "Two forms. The neutral form names an intent and gives its fields, whatever the charger's protocol "
    'version: `{"intent": "unlock", "connector": 1}`. The raw form is a call of the charger\'s own version, '
    'checked against that version\'s schema: `{"action": "UnlockConnector", "payload": {"connectorId": 1}}` '
    'for a 1.6 charger (also accepted as `{"intent": "raw", "action": ..., "payload": ...}`). A raw call needs '
    "the permission to send raw calls, or the permission of the intent it amounts to (a raw remote start needs "
    "the remote start permission). `idempotency_key`, in either form, makes a retry return the first command."
)


def command_request_schema() -> PolymorphicProxySerializer:
    neutral = [intent_request_serializer(kind) for kind in requestable_intent_types() if kind != RawCall.kind]
    return PolymorphicProxySerializer(
        component_name="Command",  # "CommandRequest" in the schema, as every request component
        serializers=[*neutral, RawCommandSerializer],
        resource_type_field_name=None,
    )


COMMAND_REQUEST_EXAMPLES = [
    OpenApiExample("Neutral: unlock a connector", value={"intent": "unlock", "connector": 1}, request_only=True),
    OpenApiExample(
        "Neutral: start a session",
        value={"intent": "remote_start", "id_token": "04A2B3C4", "connector": 1, "idempotency_key": "start-7f3a"},
        request_only=True,
    ),
    OpenApiExample("Neutral: hard reset", value={"intent": "reset", "hard": True}, request_only=True),
    OpenApiExample("Neutral: read every setting", value={"intent": "read_settings"}, request_only=True),
    OpenApiExample(
        "Neutral: upload the security log",
        value={"intent": "get_log", "log_type": "security", "location": "https://logs.example.com/upload"},
        request_only=True,
    ),
    OpenApiExample(
        "Raw (OCPP 1.6): unlock a connector",
        value={"action": "UnlockConnector", "payload": {"connectorId": 1}},
        request_only=True,
    ),
    OpenApiExample(
        "Raw (OCPP 1.6): start a transaction",
        value={"action": "RemoteStartTransaction", "payload": {"idTag": "04A2B3C4", "connectorId": 1}},
        request_only=True,
    ),
]
