"""The protocol registry: what the gateway knows of each OCPP version, by its WebSocket
subprotocol. The handshake negotiates among the registered subprotocols, and the consumer asks
the entry of the connection's negotiated one for everything that differs between versions: the
handler table, which actions go which way, the Pending rules, the boot action, the CALLERROR
vocabulary, the schemas and the command codec. It never imports a version's package itself.

Adding a version is one package beside `v16/` plus one `Protocol` entry in `REGISTRY`."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from typing import Protocol as Interface

from ocpp_gateway import rpc
from ocpp_gateway.connection import Handler, Permit
from ocpp_gateway.rpc import ErrorKind
from ocpp_gateway.schemas import SCHEMAS
from ocpp_gateway.v16 import codec as v16_codec
from ocpp_gateway.v16 import handlers as v16_handlers
from ocpp_gateway.v16 import rules as v16_rules
from ocpp_gateway.v201 import codec as v201_codec
from ocpp_gateway.v201 import handlers as v201_handlers
from ocpp_gateway.v201 import rules as v201_rules

if TYPE_CHECKING:
    from sites.commands.intents import Intent
    from sites.commands.outcomes import Outcome


class PayloadSchemas(Interface):
    """A version's JSON schemas, as the consumer uses them."""

    def validate_call(self, action: str, payload: dict, message_id: str) -> None:
        """Raise `RpcError` (the CALLERROR to answer) unless the payload is a valid `action` request."""


class CommandCodec(Interface):
    """Turns a command's version-neutral intent into this version's CALL, and the charger's
    answer into a neutral outcome (DESIGN.md, "Protocol versions"). A module with these three
    functions and the set of intent kinds it can carry qualifies (`ocpp_gateway/v16/codec.py`)."""

    # The intent kinds (`Intent.kind`) this version can carry: the admin and the API offer a
    # charger of this version only these.
    SUPPORTED_INTENTS: frozenset[str]
    # The longest id token (idTag / IdTokenType.idToken) this version carries.
    LONGEST_ID_TOKEN: int

    def encode(self, intent: Intent, secret: str = "") -> tuple[str, dict[str, Any]]:
        """The CALL's action and payload (`secret`: a key the payload carries, kept out of the row)."""

    def decode(self, intent: Intent, reply: Any) -> Outcome:
        """The outcome of the CALL: `reply` is the CALLRESULT payload, the codec's form of a
        CALLERROR, or None (no answer in time)."""

    def read(self, action: str, payload: dict[str, Any]) -> Intent | None:
        """The intent a raw call of this version amounts to, if the codec can read it as one."""


def _permits_nothing(action: str, payload: dict, reply: dict) -> tuple[str, Permit] | None:
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class Protocol:
    """One OCPP version as the gateway speaks it. The tables are plain dicts, read on every
    frame (a read-only proxy would cost a hop per lookup); nothing changes them after start-up."""

    subprotocol: str
    # The version as the domain records it on the charger (sites.models.OcppVersion).
    ocpp_version: str
    handlers: Mapping[str, Handler]
    # Every action the charger may send in this version, handled or not: one without a handler
    # is answered NotSupported (recognised), an action of neither set NotImplemented (unknown).
    charger_initiated: frozenset[str]
    csms_initiated: frozenset[str]
    # What the central system may send while the charger is Pending (1.6 sec. 4.2).
    allowed_while_pending: frozenset[str]
    # The only CALL accepted before the charger is Accepted (1.6 errata 3.10, ACCEPTANCE S8),
    # but for what we asked it for:
    boot_action: str
    # What a CALL of ours (action, payload), answered with this CALLRESULT payload, lets a
    # not-yet-Accepted charger send on this connection, if anything: (action, Permit) (1.6 sec.
    # 4.2: what a TriggerMessage requested; 2.0.1 B02.FR.09: that, and a report's parts).
    permit: Callable[[str, dict, dict], tuple[str, Permit] | None] = _permits_nothing
    error_codes: Mapping[ErrorKind, str]
    schemas: PayloadSchemas
    # None: a version that takes no commands (a test's fake one); both real versions have one.
    codec: CommandCodec | None = None

    def __post_init__(self) -> None:
        if self.boot_action not in self.handlers:
            raise ValueError(f"{self.subprotocol}: no handler for the boot action {self.boot_action}")
        if not self.handlers.keys() <= self.charger_initiated:
            raise ValueError(f"{self.subprotocol}: handlers for actions the charger does not send")
        missing = set(ErrorKind) - self.error_codes.keys()
        if missing:
            raise ValueError(f"{self.subprotocol}: no CALLERROR code for {sorted(kind.name for kind in missing)}")

    def error_code(self, kind: ErrorKind) -> str:
        return self.error_codes[kind]


OCPP16 = Protocol(
    subprotocol=v16_rules.SUBPROTOCOL,
    ocpp_version="1.6",
    handlers=v16_handlers.HANDLERS,
    charger_initiated=frozenset(v16_handlers.HANDLERS),  # 1.6 chapter 4: every one is handled
    csms_initiated=frozenset(v16_handlers.CSMS_INITIATED),
    allowed_while_pending=v16_rules.ALLOWED_WHILE_PENDING,
    boot_action=v16_rules.BOOT_ACTION,
    permit=v16_rules.permit,
    error_codes=rpc.ERROR_CODES[v16_rules.SUBPROTOCOL],
    schemas=SCHEMAS[v16_rules.SUBPROTOCOL],
    codec=v16_codec,
)

OCPP201 = Protocol(
    subprotocol=v201_rules.SUBPROTOCOL,
    ocpp_version="2.0.1",
    handlers=v201_handlers.HANDLERS,
    charger_initiated=v201_rules.CHARGER_INITIATED,
    csms_initiated=v201_rules.CSMS_INITIATED,
    allowed_while_pending=v201_rules.ALLOWED_WHILE_PENDING,
    boot_action=v201_rules.BOOT_ACTION,
    permit=v201_rules.permit,
    error_codes=rpc.ERROR_CODES[v201_rules.SUBPROTOCOL],
    schemas=SCHEMAS[v201_rules.SUBPROTOCOL],
    codec=v201_codec,
)

# Subprotocol -> its entry. Tests may add one (see tests/test_protocols.py).
REGISTRY: dict[str, Protocol] = {OCPP16.subprotocol: OCPP16, OCPP201.subprotocol: OCPP201}


def protocol_for(subprotocol: str) -> Protocol:
    """The entry of a negotiated subprotocol (KeyError for one never registered)."""
    return REGISTRY[subprotocol]


def is_known(subprotocol: str) -> bool:
    return subprotocol in REGISTRY


def subprotocol_of(ocpp_version: str) -> str | None:
    """The registered subprotocol of a version as the domain records it ("2.0.1"), if any."""
    return next((entry.subprotocol for entry in REGISTRY.values() if entry.ocpp_version == ocpp_version), None)
