"""OCPP 2.0.1 rules the consumer applies through the protocol registry (`ocpp_gateway.protocols`)."""

SUBPROTOCOL = "ocpp2.0.1"  # OCPP-J 2.0.1 (part 4) sec. 3.1.2

# A group id token is the CSMS's identifier, not a card: its type SHOULD be Central (errata
# 2025-09, C09.FR.13), wherever it is sent (IdTokenInfo, SendLocalList, ReserveNow).
GROUP_TOKEN_TYPE = "Central"  # noqa: S105 (a token type, not a secret)

# B01.FR.01 / B01.FR.08: the station registers before anything else, with this CALL.
BOOT_ACTION = "BootNotification"

# B02.FR.01: while the station is Pending, the CSMS may read it (B06 GetVariables, B07
# GetBaseReport, B08 GetReport), configure it (B05 SetVariables) and trigger messages.
ALLOWED_WHILE_PENDING = frozenset({"GetVariables", "SetVariables", "GetBaseReport", "GetReport", "TriggerMessage"})

# B02.FR.09: a station that is not Accepted may send only what the CSMS asked for with
# TriggerMessage, GetBaseReport or GetReport. The reports' answer is always NotifyReport; what a
# TriggerMessage asked for is let through per connection (`triggered_action`).
CHARGER_MAY_SEND_BEFORE_ACCEPTED = frozenset({"NotifyReport"})

# MessageTriggerEnumType values that name another action than the one the station sends.
TRIGGERED = {
    "SignChargingStationCertificate": "SignCertificate",
    "SignV2GCertificate": "SignCertificate",
    "SignCombinedCertificate": "SignCertificate",
}


def triggered_action(action: str, payload: dict) -> str | None:
    """The action a station may send before it is Accepted because this CALL asked for it
    (B02.FR.09)."""
    requested = payload.get("requestedMessage")
    if action == "TriggerMessage" and requested:
        return TRIGGERED.get(requested, str(requested))
    return None


# Every CALL a 2.0.1 station may send (part 2, the messages of each functional block): one the
# gateway does not handle is answered NotSupported (recognised), anything else NotImplemented.
CHARGER_INITIATED = frozenset(
    {
        "Authorize",
        "BootNotification",
        "ClearedChargingLimit",
        "DataTransfer",
        "FirmwareStatusNotification",
        "Get15118EVCertificate",
        "GetCertificateStatus",
        "Heartbeat",
        "LogStatusNotification",
        "MeterValues",
        "NotifyChargingLimit",
        "NotifyCustomerInformation",
        "NotifyDisplayMessages",
        "NotifyEVChargingNeeds",
        "NotifyEVChargingSchedule",
        "NotifyEvent",
        "NotifyMonitoringReport",
        "NotifyReport",
        "PublishFirmwareStatusNotification",
        "ReportChargingProfiles",
        "ReservationStatusUpdate",
        "SecurityEventNotification",
        "SignCertificate",
        "StatusNotification",
        "TransactionEvent",
    }
)

# Every CALL the CSMS may send: a station sending one of these is "recognised but not supported"
# in this direction (part 4 sec. 4.2.3 NotSupported). DataTransfer goes both ways.
CSMS_INITIATED = frozenset(
    {
        "CancelReservation",
        "CertificateSigned",
        "ChangeAvailability",
        "ClearCache",
        "ClearChargingProfile",
        "ClearDisplayMessage",
        "ClearVariableMonitoring",
        "CostUpdated",
        "CustomerInformation",
        "DataTransfer",
        "DeleteCertificate",
        "GetBaseReport",
        "GetChargingProfiles",
        "GetCompositeSchedule",
        "GetDisplayMessages",
        "GetInstalledCertificateIds",
        "GetLocalListVersion",
        "GetLog",
        "GetMonitoringReport",
        "GetReport",
        "GetTransactionStatus",
        "GetVariables",
        "InstallCertificate",
        "PublishFirmware",
        "RequestStartTransaction",
        "RequestStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "SetDisplayMessage",
        "SetMonitoringBase",
        "SetMonitoringLevel",
        "SetNetworkProfile",
        "SetVariableMonitoring",
        "SetVariables",
        "TriggerMessage",
        "UnlockConnector",
        "UnpublishFirmware",
        "UpdateFirmware",
    }
)

# 2.0.1 numbers EVSEs from 1 and connectors from 1 within their EVSE (part 2, 2.1 "Charging
# Station, EVSE and Connector"); evseId 0 means the whole station where a message allows it.
# Stored as 16-bit numbers, like 1.6's connector ids.
EVSE_ID_RANGE = range(0, 32768)
