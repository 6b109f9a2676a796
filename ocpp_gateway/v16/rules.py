"""OCPP 1.6 rules the consumer applies through the protocol registry (`ocpp_gateway.protocols`)."""

SUBPROTOCOL = "ocpp1.6"  # OCPP-J 1.6 sec. 3.1.2

# 1.6 sec. 4.2: the charger must register before anything else; it says so with this CALL.
BOOT_ACTION = "BootNotification"

# 1.6 sec. 4.2: while Pending, the central system may only configure the charger (R14).
ALLOWED_WHILE_PENDING = frozenset({"GetConfiguration", "ChangeConfiguration", "TriggerMessage", "DataTransfer"})
