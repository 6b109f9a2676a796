"""OCPP-J framing (`ocpp_gateway.rpc`) and payload validation (`ocpp_gateway.schemas`), without
a socket."""

import json

import pytest

from ocpp_gateway import rpc
from ocpp_gateway.rpc import (
    CALL,
    CALLERROR,
    CALLRESULT,
    Call,
    CallError,
    CallResult,
    ErrorKind,
    RpcError,
    call_error_frame,
    call_frame,
    call_result_frame,
    error_code,
    parse_frame,
)
from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16.handlers import HANDLERS

# OCPP-J 1.6 sec. 4.2.3, table 7 (FormationViolation as printed; errata 5.2 is "do not fix").
SPEC_CODES_16 = {
    "NotImplemented", "NotSupported", "InternalError", "ProtocolError", "SecurityError", "FormationViolation",
    "PropertyConstraintViolation", "OccurrenceConstraintViolation", "TypeConstraintViolation", "GenericError",
}  # fmt: skip
# OCPP-J 2.0.1 part 4 sec. 4.3.
SPEC_CODES_201 = {
    "FormatViolation", "GenericError", "InternalError", "MessageTypeNotSupported", "NotImplemented", "NotSupported",
    "OccurrenceConstraintViolation", "PropertyConstraintViolation", "ProtocolError", "RpcFrameworkError",
    "SecurityError", "TypeConstraintViolation",
}  # fmt: skip


# --- parse_frame: good frames -----------------------------------------------------------


def test_parse_call():
    assert parse_frame('[2, "19223201", "BootNotification", {"chargePointVendor": "V"}]') == Call(
        "19223201", "BootNotification", {"chargePointVendor": "V"}
    )


def test_parse_call_result_with_any_payload():
    assert parse_frame('[3, "m1", {"currentTime": "2025-01-01T00:00:00Z"}]') == CallResult(
        "m1", {"currentTime": "2025-01-01T00:00:00Z"}
    )
    assert parse_frame('[3, "m2", {}]') == CallResult("m2", {})


def test_parse_call_error():
    assert parse_frame('[4, "m1", "NotSupported", "no", {"a": 1}]') == CallError("m1", "NotSupported", "no", {"a": 1})


def test_a_36_character_message_id_is_accepted():
    message_id = "a" * 36
    assert parse_frame(json.dumps([2, message_id, "Heartbeat", {}])).message_id == message_id


def test_frames_round_trip_through_the_builders():
    assert parse_frame(call_frame("m1", "Authorize", {"idTag": "ÄÖÜ"})) == Call("m1", "Authorize", {"idTag": "ÄÖÜ"})
    assert parse_frame(call_result_frame("m2", {"status": "Accepted"})) == CallResult("m2", {"status": "Accepted"})
    assert parse_frame(call_error_frame("m3", "GenericError", "boom")) == CallError("m3", "GenericError", "boom", {})


def test_builders_write_compact_utf8_json_with_details_defaulting_to_an_object():
    assert call_error_frame("m1", "ProtocolError") == '[4,"m1","ProtocolError","",{}]'
    assert call_result_frame("m2", {"data": "€"}) == '[3,"m2",{"data":"€"}]'
    assert call_frame("m3", "Heartbeat", {}) == '[2,"m3","Heartbeat",{}]'
    assert (CALL, CALLRESULT, CALLERROR) == (2, 3, 4)


def test_builders_and_canonical_json_write_what_orjson_refuses():
    # Integers beyond 64 bits and lone surrogates: the stdlib writes them, as ASCII text (a
    # lone surrogate has no UTF-8 form: only escaped can it be sent or stored, issue 15).
    assert call_result_frame("m1", {"big": 2**70, "e": "€"}) == '[3,"m1",{"big":1180591620717411303424,"e":"\\u20ac"}]'
    text = call_frame("\ud800", "DataTransfer", {"data": "\udc00"})
    assert text == '[2,"\\ud800","DataTransfer",{"data":"\\udc00"}]'
    text.encode("utf-8")  # sendable in a text frame
    assert json.loads(text) == [2, "\ud800", "DataTransfer", {"data": "\udc00"}]  # reads back the same
    assert rpc.canonical_json({"b": "\ud800", "a": "\x00"}) == '{"a":"\\u0000","b":"\\ud800"}'
    assert rpc.canonical_json({"b": 2**70, "a": 1}) == '{"a":1,"b":1180591620717411303424}'
    assert rpc.canonical_json({"b": 1, "a": [1.5, None]}) == '{"a":[1.5,null],"b":1}'


# --- parse_frame: bad frames --------------------------------------------------------------

BAD_FRAMES = [
    # (frame, kind, message id in the error)
    ("", ErrorKind.RPC_FRAMEWORK, "-1"),
    ("not json", ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, "m1", "Heartbeat", {}', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, "m1", "MeterValues", {"connectorId": NaN}]', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, "m1", "MeterValues", {"connectorId": -Infinity}]', ErrorKind.RPC_FRAMEWORK, "-1"),
    ("[" * 100_000, ErrorKind.RPC_FRAMEWORK, "-1"),
    ("[" * 5000 + "]" * 5000, ErrorKind.RPC_FRAMEWORK, "-1"),  # deeper than the parser's recursion limit
    ('{"a": 1}', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('"text"', ErrorKind.RPC_FRAMEWORK, "-1"),
    ("null", ErrorKind.RPC_FRAMEWORK, "-1"),
    ("[]", ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[5, "m1", "Heartbeat", {}]', ErrorKind.MESSAGE_TYPE, "m1"),
    ('["2", "m1", "Heartbeat", {}]', ErrorKind.MESSAGE_TYPE, "m1"),
    ('[true, "m1", "Heartbeat", {}]', ErrorKind.MESSAGE_TYPE, "m1"),
    ('[2.0, "m1", "Heartbeat", {}]', ErrorKind.MESSAGE_TYPE, "m1"),
    ("[5]", ErrorKind.MESSAGE_TYPE, "-1"),
    ('[5, 7, "Heartbeat", {}]', ErrorKind.MESSAGE_TYPE, "-1"),
    ("[2]", ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, 7, "Heartbeat", {}]', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, null, "Heartbeat", {}]', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, "", "Heartbeat", {}]', ErrorKind.RPC_FRAMEWORK, "-1"),
    ('[2, "m1", "Heartbeat"]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[2, "m1", "Heartbeat", {}, {}]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[2, "m1", 7, {}]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[2, "m1", "", {}]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[2, "m1", "Heartbeat", null]', ErrorKind.FORMAT, "m1"),
    ('[2, "m1", "Heartbeat", []]', ErrorKind.FORMAT, "m1"),
    ('[2, "m1", "Heartbeat", "{}"]', ErrorKind.FORMAT, "m1"),
    ('[3, "m1"]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[3, "m1", {}, {}]', ErrorKind.RPC_FRAMEWORK, "m1"),
    ('[4, "m1", "GenericError", ""]', ErrorKind.RPC_FRAMEWORK, "m1"),
]


@pytest.mark.parametrize(("text", "kind", "message_id"), BAD_FRAMES)
def test_bad_frames_raise_rpc_error_with_kind_and_id(text, kind, message_id):
    with pytest.raises(RpcError) as excinfo:
        parse_frame(text)
    assert excinfo.value.kind == kind
    assert excinfo.value.message_id == message_id
    assert excinfo.value.description


def test_a_37_character_message_id_is_an_occurrence_constraint_violation():
    with pytest.raises(RpcError) as excinfo:
        parse_frame(json.dumps([2, "b" * 37, "Heartbeat", {}]))
    assert excinfo.value.kind == ErrorKind.OCCURRENCE_CONSTRAINT
    assert "36" in excinfo.value.description


@pytest.mark.parametrize("message_type", [2, 3, 4, 9])
def test_an_overlong_id_is_answered_with_minus_one_not_echoed(message_type):
    # Issue 15 (6b): a 100,000-character id came back in full. An id over 36 characters is
    # not a message id we may send (1.6 sec. 4.1.4); "-1" is the spec'd unreadable id.
    with pytest.raises(RpcError) as excinfo:
        parse_frame(json.dumps([message_type, "c" * 100_000, "Heartbeat", {}]))
    assert excinfo.value.message_id == "-1"
    assert len(excinfo.value.description) < 100


@pytest.mark.parametrize(
    ("text", "in_description"),
    [
        ('[[[["deep"]]], "m1"]', "an array"),
        ("[" + "9" * 4000 + ', "m1"]', "999..."),
        ('["' + "t" * 100_000 + '", "m1"]', "ttt'..."),
    ],
)
def test_an_unknown_message_type_is_described_bounded(text, in_description):
    with pytest.raises(RpcError) as excinfo:
        parse_frame(text)
    assert excinfo.value.kind == ErrorKind.MESSAGE_TYPE
    assert excinfo.value.message_id == "m1"
    assert in_description in excinfo.value.description
    assert len(excinfo.value.description) < 100


def test_a_callerror_with_codes_that_are_not_strings_is_read_bounded():
    nested = "[" * 900 + "]" * 900
    frame = parse_frame(f'[4, "m1", {nested}, {{"a": 1}}, {{}}]')
    assert (frame.error_code, frame.description) == ("an array", "an object")


def test_error_description_is_cut_to_255_characters():
    assert len(RpcError(ErrorKind.GENERIC, "x" * 1000).description) == 255


# --- error codes per version ------------------------------------------------------------------


@pytest.mark.parametrize("kind", list(ErrorKind))
def test_every_kind_has_a_code_from_each_versions_table(kind):
    assert error_code("ocpp1.6", kind) in SPEC_CODES_16
    assert error_code("ocpp2.0.1", kind) in SPEC_CODES_201


@pytest.mark.parametrize(
    ("kind", "code_16", "code_201"),
    [
        (ErrorKind.FORMAT, "FormationViolation", "FormatViolation"),
        (ErrorKind.RPC_FRAMEWORK, "FormationViolation", "RpcFrameworkError"),
        (ErrorKind.MESSAGE_TYPE, "FormationViolation", "MessageTypeNotSupported"),
        (ErrorKind.NOT_IMPLEMENTED, "NotImplemented", "NotImplemented"),
        (ErrorKind.NOT_SUPPORTED, "NotSupported", "NotSupported"),
        (ErrorKind.PROTOCOL, "ProtocolError", "ProtocolError"),
        (ErrorKind.PROPERTY_CONSTRAINT, "PropertyConstraintViolation", "PropertyConstraintViolation"),
        (ErrorKind.OCCURRENCE_CONSTRAINT, "OccurrenceConstraintViolation", "OccurrenceConstraintViolation"),
        (ErrorKind.TYPE_CONSTRAINT, "TypeConstraintViolation", "TypeConstraintViolation"),
        (ErrorKind.SECURITY, "SecurityError", "SecurityError"),
        (ErrorKind.INTERNAL, "InternalError", "InternalError"),
        (ErrorKind.GENERIC, "GenericError", "GenericError"),
    ],
)
def test_error_codes_per_version(kind, code_16, code_201):
    assert error_code("ocpp1.6", kind) == code_16
    assert error_code("ocpp2.0.1", kind) == code_201


def test_16_never_uses_codes_that_only_201_has():
    codes_16 = set(rpc.ERROR_CODES["ocpp1.6"].values())
    assert not codes_16 & {"FormatViolation", "RpcFrameworkError", "MessageTypeNotSupported"}


# --- payload validation -------------------------------------------------------------------


def _kind(action: str, payload: dict) -> ErrorKind | None:
    try:
        validate_call_payload("ocpp1.6", action, payload, "m1")
    except RpcError as error:
        failure = error
    else:
        return None
    assert failure.message_id == "m1"
    return failure.kind


START = {"connectorId": 1, "idTag": "T", "meterStart": 0}


@pytest.mark.parametrize(
    ("action", "payload", "kind"),
    [
        ("Heartbeat", {}, None),
        ("Heartbeat", {"x": 1}, ErrorKind.FORMAT),
        ("Authorize", {}, ErrorKind.OCCURRENCE_CONSTRAINT),
        ("Authorize", {"idTag": 5}, ErrorKind.TYPE_CONSTRAINT),
        ("Authorize", {"idTag": "x" * 21}, ErrorKind.PROPERTY_CONSTRAINT),
        ("StatusNotification", {"connectorId": 1, "status": "Nope", "errorCode": "NoError"},
         ErrorKind.PROPERTY_CONSTRAINT),
        ("StatusNotification", {"connectorId": 0, "status": "Available", "errorCode": "NoError"}, None),
        ("StartTransaction", {**START, "timestamp": "2025-06-01T12:00:00+02:00"}, None),
        ("StartTransaction", {**START, "timestamp": "2025-06-01T12:00:00.123Z"}, None),
        ("StartTransaction", {**START, "timestamp": "noon"}, ErrorKind.PROPERTY_CONSTRAINT),
        ("MeterValues", {"connectorId": 1, "meterValue": []}, ErrorKind.OCCURRENCE_CONSTRAINT),
        ("Reset", {"type": "Hard"}, None),  # a schema exists; direction is decided by the consumer
        ("NoSuchAction", {}, ErrorKind.NOT_IMPLEMENTED),
    ],
)  # fmt: skip
def test_schema_rules_map_to_16_error_kinds(action, payload, kind):
    assert _kind(action, payload) == kind


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("StartTransaction", {"connectorId": 0, "idTag": "T", "meterStart": 0, "timestamp": "2025-01-01T00:00:00Z"}),
        ("StatusNotification", {"connectorId": -1, "status": "Available", "errorCode": "NoError"}),
        ("StatusNotification", {"connectorId": 32768, "status": "Available", "errorCode": "NoError"}),
        ("MeterValues", {"connectorId": -1, "meterValue": [{"timestamp": "2025-01-01T00:00:00Z",
                                                            "sampledValue": [{"value": "1"}]}]}),
        ("StopTransaction", {"transactionId": 2**63, "meterStop": 0, "timestamp": "2025-01-01T00:00:00Z"}),
        ("StopTransaction", {"transactionId": 1, "meterStop": -(2**63) - 1, "timestamp": "2025-01-01T00:00:00Z"}),
        ("Authorize", {"idTag": "\x00"}),
        ("DataTransfer", {"vendorId": "v", "data": "ok \udfff"}),
        ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2025-01-01T00:00:00Z",
                                                           "sampledValue": [{"value": "1\x00"}]}]}),
    ],
)  # fmt: skip
def test_values_that_cannot_be_stored_are_property_constraint_violations(action, payload):
    assert _kind(action, payload) == ErrorKind.PROPERTY_CONSTRAINT


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("StatusNotification", {"connectorId": 32767, "status": "Available", "errorCode": "NoError"}),
        ("StopTransaction", {"transactionId": 2**63 - 1, "meterStop": 0, "timestamp": "2025-01-01T00:00:00Z"}),
        ("StopTransaction", {"transactionId": -1, "meterStop": 0, "timestamp": "2025-01-01T00:00:00Z"}),
        ("DataTransfer", {"vendorId": "v", "data": "emoji 🔌 and € are fine"}),
    ],
)
def test_values_at_the_storable_limits_are_accepted(action, payload):
    assert _kind(action, payload) is None


def test_every_handled_action_has_a_16_schema():
    for action in HANDLERS:
        assert _kind(action, {}) != ErrorKind.NOT_IMPLEMENTED, action
