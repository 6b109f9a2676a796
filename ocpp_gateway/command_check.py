"""The gateway's request-time check of a command against the charger's own protocol version,
registered with the outbound port (`sites.commands.rules.register_intent_validator`) when the
app is ready, as sites imports no gateway code: an intent the version cannot express is
refused with a clear message, and a raw call must be a valid request of that version (its
official schema); when the codec reads it as a neutral intent, that intent is what the port
judges and stores."""

from django.core.exceptions import ValidationError

from ocpp_gateway.protocols import CommandCodec, Protocol, protocol_for
from ocpp_gateway.rpc import RpcError
from ocpp_gateway.schemas import validate_call_payload
from sites.commands import CannotEncode
from sites.commands.intents import Intent, RawCall
from sites.models import Charger

# Only 1.6 has a codec today; commands to a charger of another version are encoded as 1.6, as
# they were before intents (the 2.0.1 codec is the next issue's).
SUBPROTOCOL = "ocpp1.6"


def _protocol() -> Protocol:
    return protocol_for(SUBPROTOCOL)


def _codec() -> CommandCodec:
    codec = _protocol().codec
    assert codec is not None, "the 1.6 entry of the registry has its codec"  # noqa: S101
    return codec


def check_intent(charger: Charger, intent: Intent) -> Intent:
    """The intent the port should judge and store; raises ValidationError when the charger's
    version cannot carry it."""
    if isinstance(intent, RawCall):
        return _read_raw_call(intent)
    try:
        action, payload = _codec().encode(intent, "")
    except CannotEncode as error:
        raise ValidationError(str(error), code="version") from None
    # A neutral field the version's schema refuses (an id token too long for 1.6, a rate unit it
    # does not know) is refused now, as a raw call's payload is, not by the charger later.
    try:
        validate_call_payload(SUBPROTOCOL, action, payload, message_id="request")
    except RpcError as error:
        raise ValidationError(
            f"OCPP 1.6 cannot carry this ({intent.title.lower()}): {error.description}", code="schema"
        ) from None
    return intent


def _read_raw_call(call: RawCall) -> Intent:
    if call.action not in _protocol().csms_initiated:
        raise ValidationError(f"{call.action} is not a request the central system sends.", code="action")
    try:
        validate_call_payload(SUBPROTOCOL, call.action, call.payload, message_id="request")
    except RpcError as error:
        raise ValidationError(error.description, code="schema") from None
    return _codec().read(call.action, call.payload) or call
