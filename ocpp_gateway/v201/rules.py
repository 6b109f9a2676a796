"""OCPP 2.0.1 rules the consumer applies through the protocol registry (`ocpp_gateway.protocols`)."""

from collections.abc import Callable, Hashable
from dataclasses import dataclass

from ocpp_gateway.connection import One, OnePerLocation, Permit

SUBPROTOCOL = "ocpp2.0.1"  # OCPP-J 2.0.1 (part 4) sec. 3.1.2

# A group id token is the CSMS's identifier, not a card: its type SHOULD be Central (errata
# 2025-09, C09.FR.13), wherever it is sent (IdTokenInfo, SendLocalList, ReserveNow).
GROUP_TOKEN_TYPE = "Central"  # noqa: S105 (a token type, not a secret)

# B01.FR.01 / B01.FR.08: the station registers before anything else, with this CALL.
BOOT_ACTION = "BootNotification"

# B02.FR.01: while the station is Pending, the CSMS may read it (B06 GetVariables, B07
# GetBaseReport, B08 GetReport), configure it (B05 SetVariables) and trigger messages.
ALLOWED_WHILE_PENDING = frozenset({"GetVariables", "SetVariables", "GetBaseReport", "GetReport", "TriggerMessage"})

# B02.FR.09 (B01.FR.10): a station that is not Accepted may send only what the CSMS asked for on
# this connection with TriggerMessage (F06), GetBaseReport (B07) or GetReport (B08); anything else
# is answered SecurityError. What each CALL of ours asked for is a permit (`permit`).
REPORT_REQUESTS = frozenset({"GetBaseReport", "GetReport"})

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


# F06.FR.11: a trigger without evse of a message sent per EVSE asks it "for all allowed evse
# values" (F06.FR.12: StatusNotification per connector; TransactionEvent, F06.FR.07, per
# transaction): one message for each, told apart by this.
PER_LOCATION: dict[str, Callable[[dict], Hashable]] = {
    "MeterValues": lambda payload: payload["evseId"],
    "StatusNotification": lambda payload: (payload["evseId"], payload["connectorId"]),
    "TransactionEvent": lambda payload: payload["transactionInfo"]["transactionId"],
}


@dataclass(slots=True)
class ReportParts:
    """The NotifyReport parts of one report asked for, by its requestId (B07.FR.03/04, B08.FR.03/04:
    the station answers GetBaseReport/GetReport with one or more NotifyReport of that requestId),
    up to the last one (tbc false or absent)."""

    request_id: int

    def covers(self, payload: dict) -> bool:
        return payload["requestId"] == self.request_id

    def use(self, payload: dict) -> bool:
        return not payload.get("tbc", False)


def permit(action: str, payload: dict, reply: dict) -> tuple[str, Permit] | None:
    """What this CALL of ours, answered `reply`, lets a station that is not Accepted send
    (B02.FR.09), if the station said it will send it (status Accepted: F06.FR.05, B07.FR.01,
    B08.FR.01; otherwise it sends nothing, e.g. B07.FR.05):

    - GetBaseReport, GetReport: the parts of that report (its requestId), up to the last;
    - TriggerMessage: the message requested, once (F06.FR.04, F06.FR.10: "messages that the
      Charging Station marks as Accepted SHALL be sent"), or once per EVSE, connector or
      transaction when it named no evse for a message sent per EVSE (F06.FR.11)."""
    if reply.get("status") != "Accepted":
        return None
    if action in REPORT_REQUESTS:
        request_id = payload.get("requestId")  # required by both schemas; a bare call may lack it
        return ("NotifyReport", ReportParts(request_id)) if isinstance(request_id, int) else None
    requested = triggered_action(action, payload)
    if requested is None:
        return None
    location = PER_LOCATION.get(requested)
    evse = payload.get("evse")
    if location is not None and (not evse or (requested == "StatusNotification" and "connectorId" not in evse)):
        return requested, OnePerLocation(location)
    return requested, One()


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
