"""The gateway's request-time check of a command against the charger's own protocol version,
registered with the outbound port (`sites.commands.rules.register_intent_validator`) when the
app is ready, as sites imports no gateway code: an intent the version cannot express is
refused with a clear message, and a raw call must be a valid request of that version (its
official schema); when the codec reads it as a neutral intent, that intent is what the port
judges and stores. It also tells the port which intent kinds each version can carry
(`register_intent_kinds`), so that the admin and the API offer a charger only those.

The version is the charger's `ocpp_version` (what it last negotiated). Its codec comes from the
protocol registry; a version whose registry entry has no codec yet (2.0.1 until the lead wires
`OCPP201` into `protocols.REGISTRY`) uses its package's codec directly."""

from types import ModuleType

from django.core.exceptions import ValidationError

from ocpp_gateway.protocols import REGISTRY, CommandCodec
from ocpp_gateway.rpc import RpcError
from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16 import codec as v16_codec
from ocpp_gateway.v16 import handlers as v16_handlers
from ocpp_gateway.v16 import rules as v16_rules
from ocpp_gateway.v201 import codec as v201_codec
from ocpp_gateway.v201 import rules as v201_rules
from sites.commands import CannotEncode
from sites.commands.intents import Intent, RawCall
from sites.models import Charger, OcppVersion

# The charger's version (sites.models.OcppVersion) -> its WebSocket subprotocol.
SUBPROTOCOLS = {OcppVersion.V16: v16_rules.SUBPROTOCOL, OcppVersion.V201: v201_rules.SUBPROTOCOL}
# Each version's package, for what the registry does not (yet) hold: its codec and the calls
# the CSMS may send.
PACKAGES: dict[str, tuple[ModuleType, frozenset[str]]] = {
    v16_rules.SUBPROTOCOL: (v16_codec, frozenset(v16_handlers.CSMS_INITIATED)),
    v201_rules.SUBPROTOCOL: (v201_codec, v201_rules.CSMS_INITIATED),
}


def subprotocol_of(charger: Charger) -> str:
    return SUBPROTOCOLS[OcppVersion(charger.ocpp_version)]


def version_name(charger: Charger) -> str:
    return f"OCPP {OcppVersion(charger.ocpp_version).value}"


def codec_for(subprotocol: str) -> CommandCodec:
    """The registry entry's codec, else the version package's own."""
    protocol = REGISTRY.get(subprotocol)
    if protocol is not None and protocol.codec is not None:
        return protocol.codec
    codec: CommandCodec = PACKAGES[subprotocol][0]
    return codec


def csms_initiated(subprotocol: str) -> frozenset[str]:
    protocol = REGISTRY.get(subprotocol)
    return protocol.csms_initiated if protocol is not None else PACKAGES[subprotocol][1]


def intent_kinds(charger: Charger) -> frozenset[str]:
    """The intent kinds the charger's version can carry (its codec's SUPPORTED_INTENTS)."""
    kinds: frozenset[str] = getattr(codec_for(subprotocol_of(charger)), "SUPPORTED_INTENTS", frozenset())
    return kinds


def check_intent(charger: Charger, intent: Intent) -> Intent:
    """The intent the port should judge and store; raises ValidationError when the charger's
    version cannot carry it."""
    subprotocol = subprotocol_of(charger)
    if isinstance(intent, RawCall):
        return _read_raw_call(subprotocol, intent)
    if intent.kind not in intent_kinds(charger):
        raise ValidationError(
            f"{version_name(charger)} has no operation for this ({intent.title.lower()}): "
            f"{charger.charge_point_id} speaks {version_name(charger)}.",
            code="version",
        )
    try:
        action, payload = codec_for(subprotocol).encode(intent, "")
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


def _read_raw_call(subprotocol: str, call: RawCall) -> Intent:
    if call.action not in csms_initiated(subprotocol):
        raise ValidationError(f"{call.action} is not a request the central system sends.", code="action")
    try:
        validate_call_payload(subprotocol, call.action, call.payload, message_id="request")
    except RpcError as error:
        raise ValidationError(error.description, code="schema") from None
    return codec_for(subprotocol).read(call.action, call.payload) or call
