"""The gateway's request-time check of a command against the charger's own protocol version,
registered with the outbound port (`sites.commands.rules.register_intent_validator`) when the
app is ready, as sites imports no gateway code: an intent the version cannot express is
refused with a clear message, and a raw call must be a valid request of that version (its
official schema); when the codec reads it as a neutral intent, that intent is what the port
judges and stores. It also tells the port which intent kinds each version can carry
(`register_intent_kinds`), so that the admin and the API offer a charger only those, and how
long an id token it can carry (`register_id_token_limit`), so that a local list holds what fits.

The version is the charger's `ocpp_version` (what it last negotiated); its codec and the calls the
central system may send come from the protocol registry."""

from django.core.exceptions import ValidationError

from ocpp_gateway import protocols
from ocpp_gateway.protocols import CommandCodec, Protocol
from ocpp_gateway.rpc import RpcError
from ocpp_gateway.schemas import validate_call_payload
from sites.commands import CannotEncode
from sites.commands.intents import Intent, RawCall
from sites.models import Charger, OcppVersion


def protocol_of(charger: Charger) -> Protocol:
    subprotocol = protocols.subprotocol_of(charger.ocpp_version)
    if subprotocol is None:  # the column's constraint allows only registered versions
        raise ValidationError(f"{charger.charge_point_id}: no protocol for OCPP {charger.ocpp_version}")
    return protocols.protocol_for(subprotocol)


def version_name(charger: Charger) -> str:
    return f"OCPP {OcppVersion(charger.ocpp_version).value}"


def codec_of(protocol: Protocol) -> CommandCodec:
    if protocol.codec is None:
        raise ValidationError(f"{protocol.subprotocol} takes no commands", code="version")
    return protocol.codec


def intent_kinds(charger: Charger) -> frozenset[str]:
    """The intent kinds the charger's version can carry (its codec's SUPPORTED_INTENTS)."""
    protocol = protocol_of(charger)
    return protocol.codec.SUPPORTED_INTENTS if protocol.codec is not None else frozenset()


def longest_id_token(charger: Charger) -> int:
    """The longest id token the charger's version carries (its codec's LONGEST_ID_TOKEN)."""
    return codec_of(protocol_of(charger)).LONGEST_ID_TOKEN


def check_intent(charger: Charger, intent: Intent) -> Intent:
    """The intent the port should judge and store; raises ValidationError when the charger's
    version cannot carry it."""
    protocol = protocol_of(charger)
    subprotocol = protocol.subprotocol
    if isinstance(intent, RawCall):
        return _read_raw_call(protocol, intent)
    if intent.kind not in intent_kinds(charger):
        raise ValidationError(
            f"{version_name(charger)} has no operation for this ({intent.title.lower()}): "
            f"{charger.charge_point_id} speaks {version_name(charger)}.",
            code="version",
        )
    try:
        action, payload = codec_of(protocol).encode(intent, "")
    except CannotEncode as error:
        raise ValidationError(str(error), code="version") from None
    # A neutral field the version's schema refuses (an id token too long, a rate unit it does
    # not know) is refused now, as a raw call's payload is, not by the charger later.
    try:
        validate_call_payload(subprotocol, action, payload, message_id="request")
    except RpcError as error:
        raise ValidationError(
            f"{version_name(charger)} cannot carry this ({intent.title.lower()}): {error.description}", code="schema"
        ) from None
    return intent


def _read_raw_call(protocol: Protocol, call: RawCall) -> Intent:
    if call.action not in protocol.csms_initiated:
        raise ValidationError(f"{call.action} is not a request the central system sends.", code="action")
    try:
        validate_call_payload(protocol.subprotocol, call.action, call.payload, message_id="request")
    except RpcError as error:
        raise ValidationError(error.description, code="schema") from None
    return codec_of(protocol).read(call.action, call.payload) or call
