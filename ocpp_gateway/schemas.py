"""Validation of CALL payloads against the official OCPP JSON schemas (shipped by the `ocpp`
package), compiled once with fastjsonschema, and the mapping of a failure to its CALLERROR."""

import functools
import json
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import fastjsonschema
import ocpp

from ocpp_gateway.rpc import ErrorKind, RpcError
from ocpp_gateway.timestamps import is_timestamp
from ocpp_gateway.v16 import rules as v16_rules

SCHEMA_DIRECTORIES = {
    "ocpp1.6": (Path(ocpp.__file__).parent / "v16" / "schemas", "{action}.json"),
    "ocpp2.0.1": (Path(ocpp.__file__).parent / "v201" / "schemas", "{action}Request.json"),
}

# Which CALLERROR each failed JSON-schema rule becomes (OCPP-J 1.6 sec. 4.2.3 descriptions).
RULE_ERRORS = {
    "required": ErrorKind.OCCURRENCE_CONSTRAINT,
    "minItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "maxItems": ErrorKind.OCCURRENCE_CONSTRAINT,
    "type": ErrorKind.TYPE_CONSTRAINT,
    "enum": ErrorKind.PROPERTY_CONSTRAINT,
    "maxLength": ErrorKind.PROPERTY_CONSTRAINT,
    "minLength": ErrorKind.PROPERTY_CONSTRAINT,
    "minimum": ErrorKind.PROPERTY_CONSTRAINT,
    "maximum": ErrorKind.PROPERTY_CONSTRAINT,
    "multipleOf": ErrorKind.PROPERTY_CONSTRAINT,
    "format": ErrorKind.PROPERTY_CONSTRAINT,
    "pattern": ErrorKind.PROPERTY_CONSTRAINT,
    "additionalProperties": ErrorKind.FORMAT,
}

# Lenient dateTime: anything parse_timestamp reads (offsets, fractions, no offset = UTC).
FORMATS = {"date-time": is_timestamp}


@functools.cache
def _validator(subprotocol: str, action: str) -> Callable[[dict], dict] | None:
    directory, pattern = SCHEMA_DIRECTORIES[subprotocol]
    path = directory / pattern.format(action=action)
    if not path.is_file():
        return None
    schema = json.loads(path.read_text(encoding="utf-8"))
    return fastjsonschema.compile(schema, formats=FORMATS)


# Rules the JSON schemas leave out. A value that breaks one can never be stored, so it is a
# permanent error in the data (PropertyConstraintViolation), not InternalError, which would
# make the charger retry it forever (ACCEPTANCE R8).
# Each version's connector-id ranges (v16/rules.py for 1.6): a connector id is stored as a
# 16-bit number.
CONNECTOR_ID_RANGES: dict[tuple[str, str], tuple[str, range]] = {
    (v16_rules.SUBPROTOCOL, action): (v16_rules.CONNECTOR_ID_FIELD, ids)
    for action, ids in v16_rules.CONNECTOR_ID_RANGES.items()
}
STORABLE_INTEGERS = range(-(2**63), 2**63)  # 64-bit columns
# PostgreSQL text holds neither NUL nor unpaired UTF-16 surrogates (which JSON can escape).
UNSTORABLE_CHARACTERS = re.compile("[\x00\ud800-\udfff]")


def _has_unstorable(value) -> bool:
    """The quick test, on every CALL: `_unstorable` then builds the path of the first problem."""
    if isinstance(value, str):
        return UNSTORABLE_CHARACTERS.search(value) is not None
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return value not in STORABLE_INTEGERS
    if isinstance(value, dict):
        return any(_has_unstorable(item) for item in value.values())
    if isinstance(value, list):
        return any(_has_unstorable(item) for item in value)
    return False


def _unstorable(value, path: str) -> str | None:
    """Why a value (already valid against its schema, so of bounded depth) cannot be stored."""
    if isinstance(value, str):
        return (
            f"{path} contains a NUL character or an unpaired surrogate" if UNSTORABLE_CHARACTERS.search(value) else None
        )
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{path} is out of range" if value not in STORABLE_INTEGERS else None
    items: Iterable[tuple[object, object]]
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return None
    return next((problem for key, item in items if (problem := _unstorable(item, f"{path}.{key}"))), None)


@dataclass(frozen=True, slots=True)
class Schemas:
    """The official schemas of one version, as the protocol registry hands them to the consumer."""

    subprotocol: str

    def validate_call(self, action: str, payload: dict, message_id: str) -> None:
        """Raise the RpcError to answer unless `payload` is a valid `action` request."""
        subprotocol = self.subprotocol
        validator = _validator(subprotocol, action)
        if validator is None:
            raise RpcError(ErrorKind.NOT_IMPLEMENTED, f"no schema for {action}", message_id)
        try:
            validator(payload)
        except fastjsonschema.JsonSchemaValueException as exc:
            kind = RULE_ERRORS.get(exc.rule, ErrorKind.FORMAT) if exc.rule is not None else ErrorKind.FORMAT
            raise RpcError(kind, exc.message, message_id) from None
        connector_rule = CONNECTOR_ID_RANGES.get((subprotocol, action))
        if connector_rule is not None:
            field, connector_ids = connector_rule
            if payload.get(field, connector_ids.start) not in connector_ids:
                description = f"data.{field} must be {connector_ids.start}..{connector_ids.stop - 1}"
                raise RpcError(ErrorKind.PROPERTY_CONSTRAINT, description, message_id)
        if _has_unstorable(payload) and (problem := _unstorable(payload, "data")):
            raise RpcError(ErrorKind.PROPERTY_CONSTRAINT, problem, message_id)

    def warm_up(self, actions: list[str]) -> None:
        """Compile the validators at start-up rather than on a charger's first message."""
        for action in actions:
            _validator(self.subprotocol, action)


SCHEMAS = {subprotocol: Schemas(subprotocol) for subprotocol in SCHEMA_DIRECTORIES}


def validate_call_payload(subprotocol: str, action: str, payload: dict, message_id: str) -> None:
    """For callers that know the version by name (the API's raw calls, tests)."""
    SCHEMAS[subprotocol].validate_call(action, payload, message_id)


def warm_up(subprotocol: str, actions: list[str]) -> None:
    SCHEMAS[subprotocol].warm_up(actions)
