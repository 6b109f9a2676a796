"""OCPP 1.6 rules the consumer applies through the protocol registry (`ocpp_gateway.protocols`)."""

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


# 1.6 edition 2 sec. 6: connectorId >= 0, and > 0 in StartTransaction; stored as 16-bit numbers.
# The JSON schemas leave this out; ocpp_gateway.schemas applies it (PropertyConstraintViolation).
CONNECTOR_ID_FIELD = "connectorId"
CONNECTOR_ID_RANGES = {
    "StartTransaction": range(1, 32768),
    "StatusNotification": range(0, 32768),
    "MeterValues": range(0, 32768),
}
