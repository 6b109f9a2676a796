"""OCPP-J RPC framing, shared by every protocol version (OCPP-J 1.6 sec. 4, 2.0.1 part 4 sec. 4).

Parsing never raises anything but `RpcError`, and every `RpcError` becomes a CALLERROR: a
malformed frame always gets an answer, never silence (ACCEPTANCE R20).
"""

import enum
import json
from dataclasses import dataclass
from typing import Any

import orjson

CALL, CALLRESULT, CALLERROR = 2, 3, 4
MAX_MESSAGE_ID_LENGTH = 36  # OCPP-J 1.6 sec. 4.1.4 and 2.0.1 part 4 sec. 4.1.4
UNREADABLE_MESSAGE_ID = "-1"  # 2.0.1 part 4 sec. 4.2.3: "-1" when the id cannot be read


class ErrorKind(enum.Enum):
    """What went wrong, independent of the version; `error_code` names it per version."""

    RPC_FRAMEWORK = "rpc_framework"
    MESSAGE_TYPE = "message_type"
    NOT_IMPLEMENTED = "not_implemented"
    NOT_SUPPORTED = "not_supported"
    FORMAT = "format"
    PROTOCOL = "protocol"
    PROPERTY_CONSTRAINT = "property_constraint"
    OCCURRENCE_CONSTRAINT = "occurrence_constraint"
    TYPE_CONSTRAINT = "type_constraint"
    SECURITY = "security"
    INTERNAL = "internal"
    GENERIC = "generic"


# OCPP-J 1.6 sec. 4.2.3 table 7. 1.6 has no RpcFrameworkError or MessageTypeNotSupported and
# spells FormatViolation "FormationViolation" (errata 5.2: "do not fix").
_CODES_16 = {
    ErrorKind.RPC_FRAMEWORK: "FormationViolation",
    ErrorKind.MESSAGE_TYPE: "FormationViolation",
    ErrorKind.NOT_IMPLEMENTED: "NotImplemented",
    ErrorKind.NOT_SUPPORTED: "NotSupported",
    ErrorKind.FORMAT: "FormationViolation",
    ErrorKind.PROTOCOL: "ProtocolError",
    ErrorKind.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
    ErrorKind.OCCURRENCE_CONSTRAINT: "OccurrenceConstraintViolation",
    ErrorKind.TYPE_CONSTRAINT: "TypeConstraintViolation",
    ErrorKind.SECURITY: "SecurityError",
    ErrorKind.INTERNAL: "InternalError",
    ErrorKind.GENERIC: "GenericError",
}
# OCPP-J 2.0.1 part 4 sec. 4.3.
_CODES_201 = {
    **_CODES_16,
    ErrorKind.RPC_FRAMEWORK: "RpcFrameworkError",
    ErrorKind.MESSAGE_TYPE: "MessageTypeNotSupported",
    ErrorKind.FORMAT: "FormatViolation",
}
ERROR_CODES = {"ocpp1.6": _CODES_16, "ocpp2.0.1": _CODES_201}


def error_code(subprotocol: str, kind: ErrorKind) -> str:
    return ERROR_CODES[subprotocol][kind]


class RpcError(Exception):
    def __init__(self, kind: ErrorKind, description: str, message_id: str = UNREADABLE_MESSAGE_ID) -> None:
        super().__init__(description)
        self.kind = kind
        # 2.0.1 part 4 sec. 4.2.3: ErrorDescription is string[255].
        self.description = description[:255]
        self.message_id = message_id


@dataclass(frozen=True, slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    message_id: str
    payload: Any


@dataclass(frozen=True, slots=True)
class CallError:
    message_id: str
    error_code: str
    description: str
    details: Any


Frame = Call | CallResult | CallError


def answerable_id(message_id: object) -> str:
    """The id a CALLERROR about this frame carries: the frame's own when it is a string we may
    send back, else "-1" (2.0.1 part 4 sec. 4.2.3, for an id that cannot be read). An id over
    36 characters is not echoed: ours must be a valid message id too (1.6 sec. 4.1.4, 2.0.1
    part 4 sec. 4.1.4), a cut one would match nothing, and a hostile one may be megabytes."""
    if isinstance(message_id, str) and 0 < len(message_id) <= MAX_MESSAGE_ID_LENGTH:
        return message_id
    return UNREADABLE_MESSAGE_ID


def _message_id(frame: list) -> str:
    message_id = frame[1] if len(frame) > 1 else None
    if not isinstance(message_id, str) or not message_id:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "the message id must be a non-empty string")
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise RpcError(
            ErrorKind.OCCURRENCE_CONSTRAINT, f"the message id is longer than {MAX_MESSAGE_ID_LENGTH} characters"
        )
    return message_id


def parse_frame(text: str) -> Frame:
    """Turn one WebSocket text frame into a Call, CallResult or CallError."""
    try:
        frame = json.loads(text, parse_constant=_not_json)
    except (ValueError, RecursionError):
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "the frame is not valid JSON") from None
    if not isinstance(frame, list) or not frame:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "the frame is not a non-empty JSON array")
    message_type = frame[0]
    if type(message_type) is not int or message_type not in (CALL, CALLRESULT, CALLERROR):
        message_id = answerable_id(frame[1] if len(frame) > 1 else None)
        raise RpcError(ErrorKind.MESSAGE_TYPE, f"unknown message type {_bounded(message_type)}", message_id)
    message_id = _message_id(frame)
    if message_type == CALL:
        return _parse_call(frame, message_id)
    if message_type == CALLRESULT:
        if len(frame) != 3:
            raise RpcError(ErrorKind.RPC_FRAMEWORK, "a CALLRESULT has 3 elements", message_id)
        return CallResult(message_id, frame[2])
    if len(frame) != 5:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "a CALLERROR has 5 elements", message_id)
    code, description = frame[2], frame[3]
    return CallError(
        message_id,
        code if isinstance(code, str) else _bounded(code),
        description if isinstance(description, str) else _bounded(description),
        frame[4],
    )


def _bounded(value: object, limit: int = 40) -> str:
    """A charger's value in a text of ours, bounded: a hostile frame may carry a megabyte string
    or an array nested to the parser's limit, whose repr would recurse as deep again."""
    if isinstance(value, str):
        return repr(value[:limit]) + ("..." if len(value) > limit else "")
    if value is None or isinstance(value, bool | int | float):
        text = repr(value)
        return text if len(text) <= limit else text[:limit] + "..."
    return "an array" if isinstance(value, list) else "an object"


def _not_json(constant: str) -> None:
    # NaN and Infinity, which the stdlib would take, are not JSON (json.org, OCPP-J 1.6's
    # [JSON] reference), nor could the database store them in the message log's payload.
    raise ValueError(f"{constant} is not JSON")


def _parse_call(frame: list, message_id: str) -> Call:
    if len(frame) != 4:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "a CALL has 4 elements", message_id)
    action, payload = frame[2], frame[3]
    if not isinstance(action, str) or not action:
        raise RpcError(ErrorKind.RPC_FRAMEWORK, "the action must be a non-empty string", message_id)
    if not isinstance(payload, dict):
        # A null payload is allowed by OCPP-J 1.6 sec. 4.2.1 wording, but every 1.6 and 2.0.1
        # request schema is an object; an action with no fields is sent as {}.
        raise RpcError(ErrorKind.FORMAT, "the payload must be a JSON object", message_id)
    return Call(message_id, action, payload)


def _dumps(frame: list) -> str:
    return _json_text(frame, sort_keys=False)


def canonical_json(value) -> str:
    """Compact JSON with sorted keys, so that equal payloads give equal text. Raises TypeError
    for what is not JSON at all."""
    return _json_text(value, sort_keys=True)


def _json_text(value, *, sort_keys: bool) -> str:
    # Parsed with the stdlib (integers beyond 64 bits stay integers, for R8), written with
    # orjson: the same compact UTF-8 text at a tenth of the cost. What orjson refuses
    # (integers beyond 64 bits, lone surrogates) is written by the stdlib, as before orjson,
    # but with every non-ASCII character escaped: a lone surrogate has no UTF-8 form, so the
    # text could be neither sent in a WebSocket text frame (RFC 6455 sec. 5.6) nor stored;
    # escaped, it is valid JSON (RFC 8259 sec. 7) that reads back as the same string.
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else None).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, ensure_ascii=True, sort_keys=sort_keys, separators=(",", ":"), allow_nan=False)


def call_frame(message_id: str, action: str, payload: dict) -> str:
    return _dumps([CALL, message_id, action, payload])


def call_result_frame(message_id: str, payload: dict) -> str:
    return _dumps([CALLRESULT, message_id, payload])


def call_error_frame(message_id: str, code: str, description: str = "", details: dict | None = None) -> str:
    return _dumps([CALLERROR, message_id, code, description, details or {}])


@dataclass(frozen=True, slots=True)
class CallErrorReply:
    """A CALLERROR a charger answered one of our CALLs with, as a codec decodes it."""

    code: str
    description: str = ""


# What a codec decodes: the CALLRESULT payload, a CALLERROR, or None when no answer came in time.
Reply = dict | CallErrorReply | None
