"""Validation of CALL payloads against the official OCPP JSON schemas (shipped by the `ocpp`
package), compiled once with fastjsonschema, and the mapping of a failure to its CALLERROR."""

import functools
import json
from collections.abc import Callable
from pathlib import Path

import fastjsonschema
import ocpp

from ocpp_gateway.rpc import ErrorKind, RpcError
from ocpp_gateway.timestamps import is_timestamp

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


def validate_call_payload(subprotocol: str, action: str, payload: dict, message_id: str) -> None:
    validator = _validator(subprotocol, action)
    if validator is None:
        raise RpcError(ErrorKind.NOT_IMPLEMENTED, f"no schema for {action}", message_id)
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as exc:
        kind = RULE_ERRORS.get(exc.rule, ErrorKind.FORMAT)
        raise RpcError(kind, exc.message, message_id) from None


def warm_up(subprotocol: str, actions: list[str]) -> None:
    """Compile the validators at start-up rather than on a charger's first message."""
    for action in actions:
        _validator(subprotocol, action)
