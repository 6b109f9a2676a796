"""OCPP 1.6 rules the consumer applies through the protocol registry (`ocpp_gateway.protocols`)."""

from ocpp_gateway.connection import One, OnePerLocation, Permit

SUBPROTOCOL = "ocpp1.6"  # OCPP-J 1.6 sec. 3.1.2

# 1.6 sec. 4.2: the charger must register before anything else; it says so with this CALL.
BOOT_ACTION = "BootNotification"

# 1.6 sec. 4.2: while Pending, the central system may only configure the charger (R14).
ALLOWED_WHILE_PENDING = frozenset(
    {"GetConfiguration", "ChangeConfiguration", "TriggerMessage", "ExtendedTriggerMessage", "DataTransfer"}
)

# 1.6 sec. 4.2.1: a Pending charger sends nothing "unless it has been instructed by the Central
# System to do so with a TriggerMessage.req". What each requested message makes it send: the
# same action, but for the security extension's (whitepaper sec. 5.9 ExtendedTriggerMessage).
EXTENDED_TRIGGERED = {
    "SignChargePointCertificate": "SignCertificate",
    "FirmwareStatusNotification": "SignedFirmwareStatusNotification",
}


def triggered_action(action: str, payload: dict) -> str | None:
    """The action a charger may send before it is Accepted because this CALL asked for it."""
    requested = payload.get("requestedMessage")
    if action == "TriggerMessage" and requested:
        return str(requested)
    if action == "ExtendedTriggerMessage" and requested:
        return EXTENDED_TRIGGERED.get(requested, str(requested))
    return None


# Sec. 5.17: a trigger without connectorId of a message sent per connector asks "for all allowed
# connectorId values" (a StatusNotification of the charger and one of each connector): one each.
PER_CONNECTOR = frozenset({"MeterValues", "StatusNotification"})


def _connector(payload: dict) -> int:
    return payload.get("connectorId", 0)


def permit(action: str, payload: dict, reply: dict) -> tuple[str, Permit] | None:
    """What this CALL of ours, answered `reply`, lets a Pending charger send (sec. 4.2: "unless it
    has been instructed by the Central System to do so with a TriggerMessage.req"): the message it
    asked for, once (per connector when it named none), if the charger said it will (sec. 5.17:
    Accepted; Rejected or NotImplemented, it sends nothing)."""
    requested = triggered_action(action, payload)
    if requested is None or reply.get("status") != "Accepted":
        return None
    if requested in PER_CONNECTOR and "connectorId" not in payload:
        return requested, OnePerLocation(_connector)
    return requested, One()


# 1.6 edition 2 sec. 6: connectorId >= 0, and > 0 in StartTransaction; stored as 16-bit numbers.
# The JSON schemas leave this out; ocpp_gateway.schemas applies it (PropertyConstraintViolation).
CONNECTOR_ID_FIELD = "connectorId"
CONNECTOR_ID_RANGES = {
    "StartTransaction": range(1, 32768),
    "StatusNotification": range(0, 32768),
    "MeterValues": range(0, 32768),
}
