"""The OCPP 2.0.1 command codec: a version-neutral intent (sites.commands.intents) to the 2.0.1
CALL the CSMS sends (OCPP 2.0.1 edition 3, part 2), and the station's answer (CALLRESULT,
CALLERROR or none) to a neutral `Outcome` (sites.commands.outcomes). Modelled on
`ocpp_gateway/v16/codec.py`; the three functions `encode`, `decode` and `read` make it a
`protocols.CommandCodec`.

Choices that 2.0.1 forces on neutral intents (documented in sites.commands.intents too):

- Addressing. With `evse` given, it is the EVSE id and `connector` the connector id within that
  EVSE (2.0.1 numbers connectors per EVSE). With `evse` None, `connector` names the EVSE (the
  usual one connector per EVSE; 0 = the whole station where the message allows it) and no
  connectorId is sent. UnlockConnector needs both ids, so an unlock without `evse` is refused
  rather than guessed: unlocking the wrong connector is not a harmless mistake.
- Settings. Device-model variables are spelled "Component.Variable[.Instance]"
  (`parse_variable`); ChangeSetting gives the component apart (`component`) or in that spelling.
  Read settings come back as SettingValue(key="Variable[.Instance]", component="Component").
- Id tokens. The neutral intents carry a token's text only. A remote start names the driver on
  the CSMS's authority ("Central": no card is presented at the station); tokens the station
  matches against what is presented to it (local list, reservations) are of their own kind
  (`token_type`, "ISO14443" when not given: the RFID cards most tokens are); a group token is
  ours, "Central" (C09.FR.13, `GROUP_TOKEN_TYPE`).
- Request ids. Where 2.0.1 needs one (remote start, firmware, logs, reports...) and the intent
  leaves it None, it is derived from the intent's other fields (`derived_id`): stable, so a
  retried command names the same request the station's notifications will refer to.
"""

from __future__ import annotations

import datetime as dt
import json
import zlib
from collections.abc import Callable
from typing import Any

from ocpp_gateway.rpc import CallErrorReply, Reply
from ocpp_gateway.v201.rules import GROUP_TOKEN_TYPE, SUBPROTOCOL
from ocpp_gateway.wire import (
    certificate_hash_data,
    installed_certificate,
    ocpp_datetime,
    optional_fields,
    read_certificate_hash,
    read_moment,
    read_required_moment,
)
from sites.commands import CannotEncode
from sites.commands.intents import (
    INTENT_TYPES,
    CancelReservation,
    CertificateSigned,
    CertificateUse,
    ChangeAvailability,
    ChangeSetting,
    ChargingProfileSpec,
    ClearCache,
    ClearChargingProfile,
    ClearVariableMonitoring,
    ComponentCriterion,
    CostUpdated,
    CustomerInformation,
    DataTransfer,
    DeleteCertificate,
    GetChargingProfiles,
    GetCompositeSchedule,
    GetDiagnostics,
    GetInstalledCertificateIds,
    GetLocalListVersion,
    GetLog,
    GetMonitoringReport,
    GetTransactionStatus,
    InstallCertificate,
    Intent,
    LocalAuthorization,
    LogType,
    MonitoringBase,
    MonitoringCriterion,
    MonitorKind,
    NetworkConnection,
    RawCall,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    ReportBase,
    RequestReport,
    Reserve,
    Reset,
    RotateKey,
    SchedulePeriod,
    SendLocalList,
    SetChargingProfile,
    SetMonitoringBase,
    SetNetworkProfile,
    SetVariableMonitoring,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
    VariableMonitor,
)
from sites.commands.outcomes import Outcome, OutcomeStatus, SettingValue
from sites.commands.rules import is_protected_configuration_key

__all__ = ["LONGEST_ID_TOKEN", "SUBPROTOCOL", "SUPPORTED_INTENTS", "decode", "encode", "read"]

# Every intent kind 2.0.1 can carry: all of them (GetDiagnostics is a GetLog of the diagnostics
# log, N01; the key rotation a SetVariables of BasicAuthPassword, A01) but the 1.6 way of raising
# the security profile: a 2.0.1 station moves to a higher profile through a network profile
# (A05: SetNetworkProfile, then NetworkConfigurationPriority), its SecurityProfile is read-only.
SUPPORTED_INTENTS: frozenset[str] = frozenset(INTENT_TYPES) - {"raise_security_profile"}
# IdTokenType.idToken is string[36] (part 2, 2.28).
LONGEST_ID_TOKEN = 36

# A01.FR.01/02: the HTTP Basic password is the variable BasicAuthPassword of SecurityCtrlr, set
# with SetVariables.
SECURITY_COMPONENT = "SecurityCtrlr"
BASIC_AUTH_PASSWORD = "BasicAuthPassword"  # noqa: S105 (a variable's name)

# IdTokenEnumType (part 2, 2.29 / the schemas' IdTokenEnumType): see the module docstring.
REMOTE_TOKEN_TYPE = "Central"  # noqa: S105 (a token type)
CARD_TOKEN_TYPE = "ISO14443"  # noqa: S105 (a token type)

# TriggerMessage's requestedMessage (MessageTriggerEnumType). 2.0.1 reports diagnostics uploads
# in LogStatusNotification (N01.FR.07).
TRIGGERS = {
    TriggerableMessage.BOOT: "BootNotification",
    TriggerableMessage.HEARTBEAT: "Heartbeat",
    TriggerableMessage.STATUS: "StatusNotification",
    TriggerableMessage.METER_VALUES: "MeterValues",
    TriggerableMessage.FIRMWARE_STATUS: "FirmwareStatusNotification",
    TriggerableMessage.DIAGNOSTICS_STATUS: "LogStatusNotification",
    # What the 1.6 security extension asks with ExtendedTriggerMessage is plain TriggerMessage
    # here (F06); a certificate signing request is the station's SignCertificate (A02).
    TriggerableMessage.LOG_STATUS: "LogStatusNotification",
    TriggerableMessage.SIGN_CERTIFICATE: "SignChargingStationCertificate",
    TriggerableMessage.SIGNED_FIRMWARE_STATUS: "FirmwareStatusNotification",
}
# Read back as the first neutral word for a message (a raw call names no neutral shade of it).
TRIGGERED: dict[str, str] = {}
for _neutral_word, _wire in TRIGGERS.items():
    TRIGGERED.setdefault(_wire, _neutral_word)
# LogEnumType (part 2, N01.FR.03/04).
LOG_TYPES = {LogType.DIAGNOSTICS: "DiagnosticsLog", LogType.SECURITY: "SecurityLog"}

# CertificateSigningUseEnumType (A02/A03), InstallCertificateUseEnumType (M05) and
# GetCertificateIdUseEnumType (M03, which adds the V2G chain).
SIGNING_USES = {CertificateUse.CHARGER: "ChargingStationCertificate", CertificateUse.V2G: "V2GCertificate"}
INSTALL_USES = {
    CertificateUse.CSMS_ROOT: "CSMSRootCertificate",
    CertificateUse.MANUFACTURER_ROOT: "ManufacturerRootCertificate",
    CertificateUse.V2G_ROOT: "V2GRootCertificate",
    CertificateUse.MO_ROOT: "MORootCertificate",
}
LISTED_USES = {**INSTALL_USES, CertificateUse.V2G_CHAIN: "V2GCertificateChain"}

# ChargingProfilePurposeEnumType. The neutral purposes are charging.models.ChargingProfile's
# (1.6's words); the charge point's maximum is the station's maximum in 2.0.1. K01.FR.22: the CSMS
# never sets ChargingStationExternalConstraints, so it has no neutral word.
PURPOSES = {
    "ChargePointMaxProfile": "ChargingStationMaxProfile",
    "TxDefaultProfile": "TxDefaultProfile",
    "TxProfile": "TxProfile",
}
PURPOSE_OF = {wire: neutral for neutral, wire in PURPOSES.items()}

REPORT_BASES = {
    ReportBase.CONFIGURATION_INVENTORY: "ConfigurationInventory",
    ReportBase.FULL_INVENTORY: "FullInventory",
    ReportBase.SUMMARY_INVENTORY: "SummaryInventory",
}
COMPONENT_CRITERIA = {
    ComponentCriterion.ACTIVE: "Active",
    ComponentCriterion.AVAILABLE: "Available",
    ComponentCriterion.ENABLED: "Enabled",
    ComponentCriterion.PROBLEM: "Problem",
}
MONITOR_KINDS = {
    MonitorKind.UPPER_THRESHOLD: "UpperThreshold",
    MonitorKind.LOWER_THRESHOLD: "LowerThreshold",
    MonitorKind.DELTA: "Delta",
    MonitorKind.PERIODIC: "Periodic",
    MonitorKind.PERIODIC_CLOCK_ALIGNED: "PeriodicClockAligned",
}
MONITORING_CRITERIA = {
    MonitoringCriterion.THRESHOLD: "ThresholdMonitoring",
    MonitoringCriterion.DELTA: "DeltaMonitoring",
    MonitoringCriterion.PERIODIC: "PeriodicMonitoring",
}
MONITORING_BASES = {
    MonitoringBase.ALL_MONITORS: "All",
    MonitoringBase.FACTORY_DEFAULT: "FactoryDefault",
    MonitoringBase.HARD_WIRED_ONLY: "HardWiredOnly",
}
# NetworkConnectionProfileType.ocppVersion: 2.0.1 is "OCPP20" on the wire.
OCPP_VERSIONS = {"1.6": "OCPP16", "2.0.1": "OCPP20"}

# The status words of 2.0.1 responses and what they mean. Done as asked, possibly later or with
# a remark: accepted, with the word kept as the detail ("AcceptedCanceled": accepted, and an
# earlier firmware update or log upload was cancelled, L01/N01; "EmptyResultSet" and
# "NoProfiles": understood, and there is nothing to report, B07/B08/K09).
ACCEPTED_STATUSES = {
    "Accepted",
    "Unlocked",
    "RebootRequired",
    "Scheduled",
    "AcceptedCanceled",
    "EmptyResultSet",
    "NoProfiles",
}
NOT_SUPPORTED_STATUSES = {"NotSupported", "NotImplemented", "UnknownMessageId", "UnknownVendorId"}
# CALLERROR codes saying the station does not know the operation (OCPP-J 2.0.1, part 4 sec. 4.3).
NOT_SUPPORTED_ERRORS = {"NotImplemented", "NotSupported"}
# GetVariableResult.attributeStatus words saying the station has no such setting (B06.FR.03-05).
UNKNOWN_VARIABLE_STATUSES = {"UnknownComponent", "UnknownVariable", "NotSupportedAttributeType"}

MAX_ID = 2**31 - 1  # OCPP integers are 32-bit signed


# --- Values ---------------------------------------------------------------------------------


def _when(moment: dt.datetime | None) -> str | None:
    return ocpp_datetime(moment) if moment is not None else None


def derived_id(intent: Intent, *, leaving_out: str) -> int:
    """A positive 31-bit id derived from the intent's fields (all but its own id field): the same
    intent, retried, names the same request."""
    fields = {name: value for name, value in intent.to_fields().items() if name != leaving_out}
    text = json.dumps([intent.kind, fields], sort_keys=True, default=str)
    return (zlib.crc32(text.encode()) & MAX_ID) or 1


def _request_id(intent: Any) -> int:
    given = getattr(intent, "request_id", None)
    return given if given is not None else derived_id(intent, leaving_out="request_id")


def id_token(value: str, token_type: str) -> dict[str, str]:
    """IdTokenType: the token's text and what kind of token it is."""
    return {"idToken": value, "type": token_type}


def parse_variable(spelling: str) -> tuple[str, str, str | None]:
    """(component, variable, variable instance) of "Component.Variable[.Instance]"."""
    component, dot, rest = spelling.partition(".")
    variable, _dot, instance = rest.partition(".")
    if not (component and dot and variable):
        raise CannotEncode(
            f"OCPP 2.0.1 settings are variables of a component: spell {spelling!r} as Component.Variable "
            "(e.g. OCPPCommCtrlr.HeartbeatInterval)."
        )
    return component, variable, instance or None


def variable_spelling(component: dict[str, Any], variable: dict[str, Any]) -> str:
    """The neutral spelling of a ComponentType/VariableType pair (the inverse of parse_variable)."""
    spelled = f"{component.get('name', '')}.{variable.get('name', '')}"
    return f"{spelled}.{variable['instance']}" if variable.get("instance") else spelled


def component_variable(spelling: str) -> dict[str, Any]:
    """ComponentType and VariableType of a spelled variable."""
    component, variable, instance = parse_variable(spelling)
    return {"component": {"name": component}, "variable": optional_fields(name=variable, instance=instance)}


def _report_target(spelling: str) -> dict[str, Any]:
    """ComponentVariableType of "Component" (all its variables) or "Component.Variable"."""
    if "." not in spelling:
        return {"component": {"name": spelling}}
    return component_variable(spelling)


def _evse_id(intent: Any) -> int | None:
    """The EVSE an intent addresses (see the module docstring); None when it names none."""
    if intent.evse is not None:
        return int(intent.evse)
    return intent.connector


def _evse(intent: Any) -> dict[str, int] | None:
    """EVSEType of an intent, or None for the whole station (connector 0 or none)."""
    if intent.evse is not None:
        return optional_fields(id=intent.evse, connectorId=intent.connector or None)
    return {"id": intent.connector} if intent.connector else None


def _choice(table: dict[str, str], value: str, what: str) -> str:
    if value not in table:
        raise CannotEncode(f"OCPP 2.0.1 has no {what} {value!r}; one of: {', '.join(table)}.")
    return table[value]


def _purpose(purpose: str | None) -> str | None:
    return _choice(PURPOSES, purpose, "charging profile purpose") if purpose else None


def charging_profile(spec: ChargingProfileSpec) -> dict[str, Any]:
    """ChargingProfileType (part 2, 2.10) with its one ChargingScheduleType (2.12). A schedule has
    its own id in 2.0.1; a profile holds one schedule here, so the profile's id serves."""
    purpose = _choice(PURPOSES, spec.purpose, "charging profile purpose")
    periods = [
        optional_fields(startPeriod=period.start, limit=period.limit, numberPhases=period.phases)
        for period in spec.periods
    ]
    schedule = optional_fields(
        id=spec.profile_id,
        startSchedule=_when(spec.start_schedule),
        duration=spec.duration,
        chargingRateUnit=spec.rate_unit,
        chargingSchedulePeriod=periods,
        minChargingRate=spec.min_rate,
    )
    return optional_fields(
        id=spec.profile_id,
        stackLevel=spec.stack_level,
        chargingProfilePurpose=purpose,
        chargingProfileKind=spec.kind,
        recurrencyKind=spec.recurrency or None,
        validFrom=_when(spec.valid_from),
        validTo=_when(spec.valid_to),
        transactionId=spec.transaction_id,
        chargingSchedule=[schedule],
    )


def authorization_data(entry: LocalAuthorization) -> dict[str, Any]:
    """AuthorizationData (part 2, 2.4): without idTokenInfo it removes the token (D01.FR.17)."""
    token = id_token(entry.id_token, entry.token_type or CARD_TOKEN_TYPE)
    if entry.status is None:
        return {"idToken": token}
    info = optional_fields(
        status=entry.status,
        cacheExpiryDateTime=_when(entry.expires_at),
        groupIdToken=id_token(entry.parent_id_token, GROUP_TOKEN_TYPE) if entry.parent_id_token else None,
        chargingPriority=entry.priority or None,  # 0 is the default
    )
    return {"idToken": token, "idTokenInfo": info}


def network_connection(connection: NetworkConnection) -> dict[str, Any]:
    """NetworkConnectionProfileType (part 2, 2.35). This system speaks OCPP-J only, so the
    transport is JSON; APN and VPN settings are left to the station's own configuration."""
    interface = f"{'Wireless' if connection.wireless else 'Wired'}{connection.interface_number}"
    return {
        "ocppVersion": _choice(OCPP_VERSIONS, connection.protocol_version, "protocol version"),
        "ocppTransport": "JSON",
        "ocppCsmsUrl": connection.csms_url,
        "messageTimeout": connection.message_timeout,
        "securityProfile": connection.security_profile,
        "ocppInterface": interface,
    }


def monitoring_data(monitor: VariableMonitor) -> dict[str, Any]:
    """SetMonitoringDataType (part 2, 2.46)."""
    return optional_fields(
        id=monitor.monitor_id,
        transaction=monitor.transaction_only or None,
        value=monitor.value,
        type=_choice(MONITOR_KINDS, monitor.kind, "monitor kind"),
        severity=monitor.severity,
        **component_variable(monitor.variable),
    )


# --- Encode -----------------------------------------------------------------------------------


def _remote_start(intent: RemoteStart, secret: str) -> tuple[str, dict[str, Any]]:
    """F01/F02. F01.FR.09: a profile sent with it is a TxProfile; the transaction has no id yet."""
    if intent.charging_profile is not None and intent.charging_profile.purpose != "TxProfile":
        raise CannotEncode("a remote start's charging profile is for its transaction: purpose TxProfile (F01.FR.09).")
    remote_start_id = intent.remote_start_id
    if remote_start_id is None:
        remote_start_id = derived_id(intent, leaving_out="remote_start_id")
    return "RequestStartTransaction", optional_fields(
        evseId=_evse_id(intent) or None,
        remoteStartId=remote_start_id,
        idToken=id_token(intent.id_token, REMOTE_TOKEN_TYPE),
        chargingProfile=charging_profile(intent.charging_profile) if intent.charging_profile else None,
    )


def _remote_stop(intent: RemoteStop, secret: str) -> tuple[str, dict[str, Any]]:
    return "RequestStopTransaction", {"transactionId": intent.transaction_id}


def _unlock(intent: Unlock, secret: str) -> tuple[str, dict[str, Any]]:
    if intent.evse is None:
        raise CannotEncode(
            "OCPP 2.0.1 unlocks a connector of an EVSE: give the EVSE, and the connector's number within it."
        )
    return "UnlockConnector", {"evseId": intent.evse, "connectorId": intent.connector}


def _reset(intent: Reset, secret: str) -> tuple[str, dict[str, Any]]:
    """B11/B12: a hard reset stops transactions and reboots now (Immediate, B12.FR.04); a soft
    one waits for them to end (OnIdle, B12.FR.01)."""
    return "Reset", optional_fields(type="Immediate" if intent.hard else "OnIdle", evseId=intent.evse)


def _change_availability(intent: ChangeAvailability, secret: str) -> tuple[str, dict[str, Any]]:
    """G03/G04: without an EVSE the change applies to the whole station (G04.FR.01)."""
    return "ChangeAvailability", optional_fields(
        operationalStatus="Operative" if intent.operative else "Inoperative", evse=_evse(intent)
    )


def _read_settings(intent: ReadSettings, secret: str) -> tuple[str, dict[str, Any]]:
    """B06: GetVariables names each variable; "all settings" is a report (request_report)."""
    if not intent.keys:
        raise CannotEncode(
            "OCPP 2.0.1 reads settings by name (Component.Variable); for all of them, request a "
            "configuration inventory report."
        )
    return "GetVariables", {"getVariableData": [component_variable(key) for key in intent.keys]}


def _setting_spelling(intent: ChangeSetting) -> str:
    return f"{intent.component}.{intent.key}" if intent.component else intent.key


def _change_setting(intent: ChangeSetting, secret: str) -> tuple[str, dict[str, Any]]:
    """B05: one SetVariableData; the station answers for it in setVariableResult."""
    target = component_variable(_setting_spelling(intent))
    return "SetVariables", {"setVariableData": [{"attributeValue": intent.value, **target}]}


def _clear_cache(intent: ClearCache, secret: str) -> tuple[str, dict[str, Any]]:
    return "ClearCache", {}


def _trigger_message(intent: TriggerMessage, secret: str) -> tuple[str, dict[str, Any]]:
    """F06. A StatusNotification is per connector: the CSMS SHALL name it (F06.FR.13; a station
    MAY reject one without, F06.FR.12)."""
    requested = _choice(TRIGGERS, intent.message, "message to trigger")
    if intent.message == TriggerableMessage.STATUS and not (intent.evse and intent.connector):
        raise CannotEncode("an OCPP 2.0.1 status report is asked for one connector: give its EVSE and connector.")
    return "TriggerMessage", optional_fields(requestedMessage=requested, evse=_evse(intent))


def _reserve(intent: Reserve, secret: str) -> tuple[str, dict[str, Any]]:
    """H01: without an EVSE (connector 0) any EVSE of the station (H01.FR.04, if it allows it)."""
    return "ReserveNow", optional_fields(
        id=intent.reservation_id,
        expiryDateTime=ocpp_datetime(intent.expires_at),
        idToken=id_token(intent.id_token, intent.token_type or CARD_TOKEN_TYPE),
        evseId=_evse_id(intent) or None,
        groupIdToken=id_token(intent.parent_id_token, GROUP_TOKEN_TYPE) if intent.parent_id_token else None,
    )


def _cancel_reservation(intent: CancelReservation, secret: str) -> tuple[str, dict[str, Any]]:
    return "CancelReservation", {"reservationId": intent.reservation_id}


def _set_charging_profile(intent: SetChargingProfile, secret: str) -> tuple[str, dict[str, Any]]:
    """K01: evseId 0 is the station. K01.FR.16: a TxProfile is for an EVSE (> 0); K01.FR.03: it
    names its transaction."""
    evse_id = _evse_id(intent) or 0
    if intent.profile.purpose == "TxProfile":
        if evse_id == 0:
            raise CannotEncode("a transaction's charging profile is for one EVSE, not the whole station (K01.FR.16).")
        if intent.profile.transaction_id is None:
            raise CannotEncode("a transaction's charging profile names its transaction (K01.FR.03).")
    return "SetChargingProfile", {"evseId": evse_id, "chargingProfile": charging_profile(intent.profile)}


def _clear_charging_profile(intent: ClearChargingProfile, secret: str) -> tuple[str, dict[str, Any]]:
    """K10.FR.02: the CSMS names a profile id or at least one of EVSE, purpose and stack level."""
    criteria = optional_fields(
        evseId=_evse_id(intent),
        chargingProfilePurpose=_purpose(intent.purpose),
        stackLevel=intent.stack_level,
    )
    if intent.profile_id is None and not criteria:
        raise CannotEncode(
            "OCPP 2.0.1 clears charging profiles by id, or by EVSE, purpose or stack level (K10.FR.02): give one."
        )
    return "ClearChargingProfile", optional_fields(
        chargingProfileId=intent.profile_id, chargingProfileCriteria=criteria or None
    )


def _get_composite_schedule(intent: GetCompositeSchedule, secret: str) -> tuple[str, dict[str, Any]]:
    """K08: evseId 0 asks for the whole station's expected draw from the grid (K08.FR.03)."""
    return "GetCompositeSchedule", optional_fields(
        duration=intent.duration, chargingRateUnit=intent.rate_unit, evseId=_evse_id(intent) or 0
    )


def _send_local_list(intent: SendLocalList, secret: str) -> tuple[str, dict[str, Any]]:
    """D01. D01.FR.18: version 0 means "no list" and is never sent."""
    if intent.version <= 0:
        raise CannotEncode("a local list's version is 1 or more (D01.FR.18).")
    entries = [authorization_data(entry) for entry in intent.entries]
    return "SendLocalList", optional_fields(
        versionNumber=intent.version,
        updateType="Differential" if intent.differential else "Full",
        # minItems 1: an empty Full list is sent without the field (it empties the list).
        localAuthorizationList=entries or None,
    )


def _get_local_list_version(intent: GetLocalListVersion, secret: str) -> tuple[str, dict[str, Any]]:
    return "GetLocalListVersion", {}


def _update_firmware(intent: UpdateFirmware, secret: str) -> tuple[str, dict[str, Any]]:
    """L01: the station reports progress in FirmwareStatusNotification with this requestId
    (L01.FR.10, L01.FR.20); a signed update carries the signing certificate and the signature in
    FirmwareType (L01.FR.11), an installation time defers the install (L01.FR.16)."""
    firmware = optional_fields(
        location=intent.location,
        retrieveDateTime=ocpp_datetime(intent.retrieve_at),
        installDateTime=_when(intent.install_at),
        signingCertificate=intent.signing_certificate or None,
        signature=intent.signature or None,
    )
    return "UpdateFirmware", optional_fields(
        retries=intent.retries,
        retryInterval=intent.retry_interval,
        requestId=_request_id(intent),
        firmware=firmware,
    )


def _get_log(intent: GetLog, secret: str) -> tuple[str, dict[str, Any]]:
    """N01: the station uploads the log of `logType` (N01.FR.03/04) to remoteLocation and repeats
    requestId in every LogStatusNotification (N01.FR.07)."""
    return "GetLog", optional_fields(
        log=optional_fields(
            remoteLocation=intent.location, oldestTimestamp=_when(intent.oldest), latestTimestamp=_when(intent.latest)
        ),
        logType=_choice(LOG_TYPES, intent.log_type, "log type"),
        requestId=_request_id(intent),
        retries=intent.retries,
        retryInterval=intent.retry_interval,
    )


def _get_diagnostics(intent: GetDiagnostics, secret: str) -> tuple[str, dict[str, Any]]:
    """N01: the diagnostics log, uploaded to `location`; LogStatusNotification repeats the
    requestId (N01.FR.07)."""
    return "GetLog", optional_fields(
        log=optional_fields(
            remoteLocation=intent.location, oldestTimestamp=_when(intent.start), latestTimestamp=_when(intent.stop)
        ),
        logType="DiagnosticsLog",
        requestId=_request_id(intent),
        retries=intent.retries,
        retryInterval=intent.retry_interval,
    )


def _data_transfer(intent: DataTransfer, secret: str) -> tuple[str, dict[str, Any]]:
    return "DataTransfer", optional_fields(
        vendorId=intent.vendor_id, messageId=intent.message_id or None, data=intent.data or None
    )


def _rotate_key(intent: RotateKey, secret: str) -> tuple[str, dict[str, Any]]:
    """A01.FR.02: the new password goes in SetVariables of SecurityCtrlr.BasicAuthPassword;
    `secret` is the password itself, or the mask for what people may see (the Command row and
    the message log get the mask, A01.FR.12's spirit on the CSMS side)."""
    target = {"component": {"name": SECURITY_COMPONENT}, "variable": {"name": BASIC_AUTH_PASSWORD}}
    return "SetVariables", {"setVariableData": [{"attributeValue": secret, **target}]}


def _raw(intent: RawCall, secret: str) -> tuple[str, dict[str, Any]]:
    return intent.action, intent.payload


def _get_transaction_status(intent: GetTransactionStatus, secret: str) -> tuple[str, dict[str, Any]]:
    """E14: without a transaction id, only whether messages are queued (E14.FR.06)."""
    return "GetTransactionStatus", optional_fields(transactionId=intent.transaction_id)


def _cost_updated(intent: CostUpdated, secret: str) -> tuple[str, dict[str, Any]]:
    """I06: the running total of a transaction."""
    return "CostUpdated", {"totalCost": intent.total_cost, "transactionId": intent.transaction_id}


def _set_network_profile(intent: SetNetworkProfile, secret: str) -> tuple[str, dict[str, Any]]:
    """B09: stored in a slot; used once NetworkConfigurationPriority lists it (B10)."""
    return "SetNetworkProfile", {
        "configurationSlot": intent.slot,
        "connectionData": network_connection(intent.connection),
    }


def _customer_information(intent: CustomerInformation, secret: str) -> tuple[str, dict[str, Any]]:
    """N09/N10. N09.FR.09: exactly one of the customer's identifier or id token (this system
    holds no customer certificates)."""
    if bool(intent.customer_identifier) == bool(intent.id_token):
        raise CannotEncode("name the customer by exactly one of a customer identifier or an id token (N09.FR.09).")
    return "CustomerInformation", optional_fields(
        requestId=_request_id(intent),
        report=intent.report,
        clear=intent.clear,
        customerIdentifier=intent.customer_identifier or None,
        idToken=id_token(intent.id_token, CARD_TOKEN_TYPE) if intent.id_token else None,
    )


def _get_charging_profiles(intent: GetChargingProfiles, secret: str) -> tuple[str, dict[str, Any]]:
    """K09: the station reports them in ReportChargingProfiles with this requestId (K09.FR.01).
    K09.FR.03: the criteria name profile ids or at least one of stack level, limit source and
    purpose; asked for all of them, the criteria name every limit source (ChargingLimitSourceEnumType:
    EMS, Other, SO, CSO), which filters out nothing, instead of an empty chargingProfile."""
    criteria = optional_fields(
        chargingProfilePurpose=_purpose(intent.purpose),
        stackLevel=intent.stack_level,
        chargingProfileId=list(intent.profile_ids) or None,
    ) or {"chargingLimitSource": ["EMS", "Other", "SO", "CSO"]}
    return "GetChargingProfiles", optional_fields(
        requestId=_request_id(intent), evseId=intent.evse, chargingProfile=criteria
    )


def _request_report(intent: RequestReport, secret: str) -> tuple[str, dict[str, Any]]:
    """B07 (GetBaseReport, a predefined report) or B08 (GetReport, by variables and criteria)."""
    if intent.base:
        if intent.variables or intent.criteria:
            raise CannotEncode("a report is either a predefined one or one of variables and criteria, not both.")
        return "GetBaseReport", {
            "requestId": _request_id(intent),
            "reportBase": _choice(REPORT_BASES, intent.base, "report"),
        }
    return "GetReport", optional_fields(
        requestId=_request_id(intent),
        componentVariable=[_report_target(spelling) for spelling in intent.variables] or None,
        componentCriteria=[_choice(COMPONENT_CRITERIA, c, "component criterion") for c in intent.criteria] or None,
    )


def _set_variable_monitoring(intent: SetVariableMonitoring, secret: str) -> tuple[str, dict[str, Any]]:
    """N04: one SetMonitoringResult per monitor (N04.FR.01)."""
    if not intent.monitors:
        raise CannotEncode("give at least one monitor to set.")
    return "SetVariableMonitoring", {"setMonitoringData": [monitoring_data(monitor) for monitor in intent.monitors]}


def _clear_variable_monitoring(intent: ClearVariableMonitoring, secret: str) -> tuple[str, dict[str, Any]]:
    if not intent.monitor_ids:
        raise CannotEncode("give at least one monitor id to clear.")
    return "ClearVariableMonitoring", {"id": list(intent.monitor_ids)}


def _get_monitoring_report(intent: GetMonitoringReport, secret: str) -> tuple[str, dict[str, Any]]:
    """N02: without criteria or variables, every monitor (N02.FR.01)."""
    return "GetMonitoringReport", optional_fields(
        requestId=_request_id(intent),
        monitoringCriteria=[_choice(MONITORING_CRITERIA, c, "monitoring criterion") for c in intent.criteria] or None,
        componentVariable=[_report_target(spelling) for spelling in intent.variables] or None,
    )


def _set_monitoring_base(intent: SetMonitoringBase, secret: str) -> tuple[str, dict[str, Any]]:
    return "SetMonitoringBase", {"monitoringBase": _choice(MONITORING_BASES, intent.base, "monitoring base")}


def _certificate_signed(intent: CertificateSigned, secret: str) -> tuple[str, dict[str, Any]]:
    """A02/A03: the chain, leaf first; the type tells the station which of its
    certificates it replaces (absent: the ChargingStationCertificate)."""
    return "CertificateSigned", optional_fields(
        certificateChain=intent.certificate_chain,
        certificateType=_choice(SIGNING_USES, intent.use, "certificate signing use"),
    )


def _install_certificate(intent: InstallCertificate, secret: str) -> tuple[str, dict[str, Any]]:
    """M05."""
    return "InstallCertificate", {
        "certificateType": _choice(INSTALL_USES, intent.use, "certificate use"),
        "certificate": intent.certificate,
    }


def _delete_certificate(intent: DeleteCertificate, secret: str) -> tuple[str, dict[str, Any]]:
    """M04."""
    return "DeleteCertificate", {"certificateHashData": certificate_hash_data(intent.certificate)}


def _get_installed_certificate_ids(intent: GetInstalledCertificateIds, secret: str) -> tuple[str, dict[str, Any]]:
    """M03: no type asks for all of them."""
    uses = [_choice(LISTED_USES, use, "certificate use") for use in intent.uses]
    return "GetInstalledCertificateIds", optional_fields(certificateType=uses or None)


ENCODERS: dict[type[Intent], Callable[[Any, str], tuple[str, dict[str, Any]]]] = {
    RemoteStart: _remote_start,
    RemoteStop: _remote_stop,
    Unlock: _unlock,
    Reset: _reset,
    ChangeAvailability: _change_availability,
    ReadSettings: _read_settings,
    ChangeSetting: _change_setting,
    ClearCache: _clear_cache,
    TriggerMessage: _trigger_message,
    Reserve: _reserve,
    CancelReservation: _cancel_reservation,
    SetChargingProfile: _set_charging_profile,
    ClearChargingProfile: _clear_charging_profile,
    GetCompositeSchedule: _get_composite_schedule,
    SendLocalList: _send_local_list,
    GetLocalListVersion: _get_local_list_version,
    UpdateFirmware: _update_firmware,
    GetDiagnostics: _get_diagnostics,
    DataTransfer: _data_transfer,
    RotateKey: _rotate_key,
    RawCall: _raw,
    GetTransactionStatus: _get_transaction_status,
    CostUpdated: _cost_updated,
    SetNetworkProfile: _set_network_profile,
    CustomerInformation: _customer_information,
    GetChargingProfiles: _get_charging_profiles,
    RequestReport: _request_report,
    SetVariableMonitoring: _set_variable_monitoring,
    ClearVariableMonitoring: _clear_variable_monitoring,
    GetMonitoringReport: _get_monitoring_report,
    SetMonitoringBase: _set_monitoring_base,
    GetLog: _get_log,
    CertificateSigned: _certificate_signed,
    InstallCertificate: _install_certificate,
    DeleteCertificate: _delete_certificate,
    GetInstalledCertificateIds: _get_installed_certificate_ids,
}


def encode(intent: Intent, secret: str = "") -> tuple[str, dict[str, Any]]:
    """The 2.0.1 CALL (action, payload) for an intent. Raises CannotEncode for what 2.0.1 cannot
    say, or cannot say without a guess (an unlock without its EVSE, a setting without its
    component)."""
    encoder = ENCODERS.get(type(intent))
    if encoder is None:
        raise CannotEncode(f"OCPP 2.0.1 has no operation for this ({intent.title.lower()}).")
    return encoder(intent, secret)


# --- Decode -----------------------------------------------------------------------------------


def decode(intent: Intent, reply: Reply) -> Outcome:
    """The neutral outcome of the station's answer to `intent` (None: no answer in time)."""
    if reply is None:
        return Outcome(status=OutcomeStatus.TIMED_OUT)
    if isinstance(reply, CallErrorReply):
        status = OutcomeStatus.NOT_SUPPORTED if reply.code in NOT_SUPPORTED_ERRORS else OutcomeStatus.FAILED
        return Outcome(status=status, detail=reply.code, error_code=reply.code, error_description=reply.description)
    decoder = DECODERS.get(type(intent), _decode_status)
    return decoder(intent, reply)


def _status_word(word: Any) -> OutcomeStatus:
    """A response without a status (GetVariables, GetLocalListVersion, CostUpdated...) answers
    what was asked; any status word the tables do not list is a refusal."""
    if word is None or word in ACCEPTED_STATUSES:
        return OutcomeStatus.ACCEPTED
    if word in NOT_SUPPORTED_STATUSES:
        return OutcomeStatus.NOT_SUPPORTED
    return OutcomeStatus.REJECTED


def _reason(reply: dict[str, Any], key: str = "statusInfo") -> str:
    """StatusInfoType.reasonCode (part 2, 2.50): why the station answered as it did."""
    info = reply.get(key)
    reason = info.get("reasonCode") if isinstance(info, dict) else None
    return reason if isinstance(reason, str) else ""


def _detail(word: Any, reason: str) -> str:
    """The station's word, with its reason code when it gave one ("Rejected: InvalidProfile")."""
    text = word if isinstance(word, str) else ""
    return f"{text}: {reason}" if text and reason else text or reason


def _decode_status(intent: Intent, reply: dict[str, Any]) -> Outcome:
    word, reason = reply.get("status"), _reason(reply)
    data = {**_data_of(intent, reply), **optional_fields(reason=reason or None)}
    return Outcome(status=_status_word(word), detail=_detail(word, reason), data=data)


def _data_of(intent: Intent, reply: dict[str, Any]) -> dict[str, Any]:
    """What else a response carries, in neutral words."""
    if isinstance(intent, RemoteStart):
        # The station's transaction, when the EVSE already had one not yet authorized (F01.FR.17).
        return optional_fields(transaction_id=reply.get("transactionId"))
    if isinstance(intent, GetCompositeSchedule):
        schedule = reply.get("schedule")
        if not isinstance(schedule, dict):
            return {}
        return optional_fields(
            evse=schedule.get("evseId"),
            start=schedule.get("scheduleStart"),
            schedule=optional_fields(
                duration=schedule.get("duration"),
                chargingRateUnit=schedule.get("chargingRateUnit"),
                chargingSchedulePeriod=schedule.get("chargingSchedulePeriod"),
            ),
        )
    if isinstance(intent, GetDiagnostics | GetLog):
        return optional_fields(file_name=reply.get("filename"))  # N01.FR.01
    if isinstance(intent, DataTransfer):
        return optional_fields(data=reply.get("data"))
    if isinstance(intent, GetTransactionStatus):
        return optional_fields(ongoing=reply.get("ongoingIndicator"), messages_in_queue=reply.get("messagesInQueue"))
    if isinstance(intent, GetInstalledCertificateIds):
        return {"certificates": _installed_certificates(reply)}
    return {}


def _installed_certificates(reply: dict[str, Any]) -> list[dict[str, str]]:
    """M03.FR.03/04: per certificate its type and hash data (a V2G chain's sub-CAs as children)."""
    listed: list[dict[str, str]] = []
    for chain in _entries(reply, "certificateHashDataChain"):
        use = (
            _neutral(LISTED_USES, chain["certificateType"])
            if chain.get("certificateType") in LISTED_USES.values()
            else ""
        )
        listed.append(installed_certificate(chain["certificateHashData"], use))
        listed += [installed_certificate(child, use) for child in chain.get("childCertificateHashData", ())]
    return listed


def _decode_read_settings(intent: Intent, reply: dict[str, Any]) -> Outcome:
    """B06: one GetVariableResult per variable asked (B06.FR.01). Accepted ones are settings;
    ones the station does not have are unknown keys; ones it refuses to show (write-only, such
    as a password) are listed as refused. Each variable's own status word is kept in `results`
    (Accepted, Rejected, UnknownComponent, UnknownVariable, NotSupportedAttributeType)."""
    settings: list[SettingValue] = []
    unknown: list[str] = []
    refused: list[str] = []
    for result in _entries(reply, "getVariableResult"):
        component, variable = result.get("component") or {}, result.get("variable") or {}
        spelling = variable_spelling(component, variable)
        status = result.get("attributeStatus")
        if status == "Accepted":
            settings.append(_setting_value(component, variable, result.get("attributeValue", "")))
        elif status in UNKNOWN_VARIABLE_STATUSES:
            unknown.append(spelling)
        else:
            refused.append(spelling)
    return Outcome(
        status=OutcomeStatus.ACCEPTED,
        settings=tuple(settings),
        unknown_keys=tuple(unknown),
        data=optional_fields(refused=refused or None, results=_variable_results(reply, "getVariableResult") or None),
    )


def _setting_value(component: dict[str, Any], variable: dict[str, Any], value: Any) -> SettingValue:
    name = variable.get("name", "")
    key = f"{name}.{variable['instance']}" if variable.get("instance") else name
    text = value if isinstance(value, str) else str(value)
    return SettingValue(key=key, value=text, component=component.get("name", ""))


def _entries(reply: dict[str, Any], field: str) -> list[dict[str, Any]]:
    return [entry for entry in reply.get(field, ()) if isinstance(entry, dict)]


def _variable_results(reply: dict[str, Any], field: str) -> list[dict[str, Any]]:
    """Get/SetVariableResult: per variable, its spelling, the station's status word and reason."""
    return [
        {
            "variable": variable_spelling(result.get("component") or {}, result.get("variable") or {}),
            "status": result.get("attributeStatus"),
            **optional_fields(reason=_reason(result, "attributeStatusInfo") or None),
        }
        for result in _entries(reply, field)
    ]


def _decode_set_variables(intent: Intent, reply: dict[str, Any]) -> Outcome:
    """B05: the answer is per variable (B05.FR.01); a change of one variable (a setting, the key
    rotation) is done as its one result says ("RebootRequired": stored, applies after a reset)."""
    results = _variable_results(reply, "setVariableResult")
    if not results:
        return Outcome(status=OutcomeStatus.FAILED, detail="no result", error_description="SetVariables: no result")
    worst = next((result for result in results if result["status"] not in ACCEPTED_STATUSES), results[0])
    return Outcome(
        status=_status_word(worst["status"]),
        detail=_detail(worst["status"], worst.get("reason", "")),
        data={"results": results},
    )


def _decode_local_list_version(intent: Intent, reply: dict[str, Any]) -> Outcome:
    version = reply.get("versionNumber")
    known = version if isinstance(version, int) and not isinstance(version, bool) else None
    return Outcome(status=OutcomeStatus.ACCEPTED, local_list_version=known)


def _decode_set_monitoring(intent: Intent, reply: dict[str, Any]) -> Outcome:
    """N04: the station gives each monitor its id (needed to clear it later, N06)."""
    monitors = [
        optional_fields(
            variable=variable_spelling(result.get("component") or {}, result.get("variable") or {}),
            status=result.get("status"),
            monitor_id=result.get("id"),
            reason=_reason(result) or None,
        )
        for result in _entries(reply, "setMonitoringResult")
    ]
    refused = [monitor for monitor in monitors if monitor.get("status") != "Accepted"]
    status = OutcomeStatus.REJECTED if refused or not monitors else OutcomeStatus.ACCEPTED
    detail = _detail(refused[0].get("status"), refused[0].get("reason", "")) if refused else "Accepted"
    return Outcome(status=status, detail=detail, data={"monitors": monitors})


def _decode_clear_monitoring(intent: Intent, reply: dict[str, Any]) -> Outcome:
    """N06: per monitor id, Accepted, Rejected or NotFound."""
    results = {result.get("id"): result.get("status") for result in _entries(reply, "clearMonitoringResult")}
    cleared = [monitor_id for monitor_id, status in results.items() if status == "Accepted"]
    not_cleared = {str(monitor_id): status for monitor_id, status in results.items() if status != "Accepted"}
    status = OutcomeStatus.ACCEPTED if results and not not_cleared else OutcomeStatus.REJECTED
    detail = "Accepted" if status is OutcomeStatus.ACCEPTED else ", ".join(sorted(set(map(str, not_cleared.values()))))
    return Outcome(status=status, detail=detail, data=optional_fields(cleared=cleared, not_cleared=not_cleared or None))


DECODERS: dict[type[Intent], Callable[[Intent, dict[str, Any]], Outcome]] = {
    ReadSettings: _decode_read_settings,
    ChangeSetting: _decode_set_variables,
    RotateKey: _decode_set_variables,
    GetLocalListVersion: _decode_local_list_version,
    SetVariableMonitoring: _decode_set_monitoring,
    ClearVariableMonitoring: _decode_clear_monitoring,
}


# --- Read: a raw 2.0.1 call as the intent it amounts to ----------------------------------------


def _token(token: dict[str, Any], expected: str) -> str:
    """A token's text, when it is of the type this codec sends (else the call stays raw)."""
    if token.get("type") != expected:
        raise ValueError(f"an id token of type {token.get('type')!r}")
    return str(token["idToken"])


def _spec(body: dict[str, Any]) -> ChargingProfileSpec:
    (schedule,) = body["chargingSchedule"]  # one schedule per profile here; more stays raw
    return ChargingProfileSpec(
        profile_id=body["id"],
        stack_level=body["stackLevel"],
        purpose=PURPOSE_OF[body["chargingProfilePurpose"]],
        kind=body["chargingProfileKind"],
        rate_unit=schedule["chargingRateUnit"],
        periods=tuple(
            SchedulePeriod(start=period["startPeriod"], limit=period["limit"], phases=period.get("numberPhases"))
            for period in schedule["chargingSchedulePeriod"]
        ),
        recurrency=body.get("recurrencyKind", ""),
        valid_from=read_moment(body.get("validFrom")),
        valid_to=read_moment(body.get("validTo")),
        duration=schedule.get("duration"),
        start_schedule=read_moment(schedule.get("startSchedule")),
        min_rate=schedule.get("minChargingRate"),
        transaction_id=body.get("transactionId"),
    )


def _evse_fields(evse: dict[str, Any] | None) -> dict[str, Any]:
    """The neutral addressing of an EVSEType (its connector within the EVSE, when given)."""
    if evse is None:
        return {}
    return {"evse": evse["id"], **({"connector": evse["connectorId"]} if "connectorId" in evse else {})}


def _kind_of(token: dict[str, Any]) -> str:
    """The neutral token_type of an IdTokenType: empty for the usual card."""
    return "" if token["type"] == CARD_TOKEN_TYPE else str(token["type"])


def _entry(item: dict[str, Any]) -> LocalAuthorization:
    info = item.get("idTokenInfo")
    token, kind = str(item["idToken"]["idToken"]), _kind_of(item["idToken"])
    if info is None:
        return LocalAuthorization(id_token=token, token_type=kind)
    group = info.get("groupIdToken")
    return LocalAuthorization(
        id_token=token,
        token_type=kind,
        status=info["status"],
        expires_at=read_moment(info.get("cacheExpiryDateTime")),
        parent_id_token=_token(group, GROUP_TOKEN_TYPE) if group else "",
        priority=info.get("chargingPriority", 0),
    )


def _variable_of(entry: dict[str, Any]) -> str:
    if set(entry["component"]) - {"name"}:
        raise ValueError("a component instance or EVSE has no neutral spelling")
    return variable_spelling(entry["component"], entry["variable"])


def _setting_of(entry: dict[str, Any]) -> ChangeSetting:
    component, _dot, key = _variable_of(entry).partition(".")
    return ChangeSetting(key=key, value=entry["attributeValue"], component=component)


def _protected_setting(payload: dict[str, Any]) -> ChangeSetting | None:
    """A SetVariables entry of a protected variable (the password, the security profile), read as
    that setting whatever else the call holds: the port judges it and refuses the whole call,
    as it refuses that setting (sites.commands.rules.check_secrets)."""
    for entry in payload.get("setVariableData", ()):
        name = entry.get("variable", {}).get("name") if isinstance(entry, dict) else None
        if isinstance(name, str) and is_protected_configuration_key(name):
            component = entry.get("component", {}).get("name", "")
            return ChangeSetting(key=name, value=str(entry.get("attributeValue", "")), component=str(component))
    return None


def _read_set_variables(payload: dict[str, Any]) -> Intent:
    """One SetVariableData is a ChangeSetting; several stay a raw call."""
    (entry,) = payload["setVariableData"]
    return _setting_of(entry)


def _text(value: Any) -> str:
    """DataTransfer's data may be any JSON in 2.0.1; the neutral intent holds text only."""
    if not isinstance(value, str):
        raise ValueError("data that is not text stays a raw call")
    return value


def _read_report(payload: dict[str, Any], base: bool) -> RequestReport:
    if base:
        return RequestReport(request_id=payload["requestId"], base=_neutral(REPORT_BASES, payload["reportBase"]))
    return RequestReport(
        request_id=payload["requestId"],
        variables=tuple(_report_spelling(target) for target in payload.get("componentVariable", ())),
        criteria=tuple(_neutral(COMPONENT_CRITERIA, c) for c in payload.get("componentCriteria", ())),
    )


def _report_spelling(target: dict[str, Any]) -> str:
    if "variable" not in target:
        return str(target["component"]["name"])
    return _variable_of(target)


def _neutral(table: dict[str, str], wire: str) -> str:
    return {value: key for key, value in table.items()}[wire]


def _read_get_log(payload: dict[str, Any]) -> GetDiagnostics | GetLog:
    """The diagnostics log as GetDiagnostics (what it always was read as), any other as GetLog."""
    log = payload["log"]
    if payload["logType"] != "DiagnosticsLog":
        return GetLog(
            location=log["remoteLocation"],
            log_type=_neutral(LOG_TYPES, payload["logType"]),
            oldest=read_moment(log.get("oldestTimestamp")),
            latest=read_moment(log.get("latestTimestamp")),
            retries=payload.get("retries"),
            retry_interval=payload.get("retryInterval"),
            request_id=payload["requestId"],
        )
    return GetDiagnostics(
        location=log["remoteLocation"],
        start=read_moment(log.get("oldestTimestamp")),
        stop=read_moment(log.get("latestTimestamp")),
        retries=payload.get("retries"),
        retry_interval=payload.get("retryInterval"),
        request_id=payload["requestId"],
    )


READERS: dict[str, Callable[[dict[str, Any]], Intent]] = {
    "RequestStartTransaction": lambda p: RemoteStart(
        id_token=_token(p["idToken"], REMOTE_TOKEN_TYPE),
        connector=p.get("evseId"),
        remote_start_id=p["remoteStartId"],
        charging_profile=_spec(p["chargingProfile"]) if "chargingProfile" in p else None,
    ),
    "RequestStopTransaction": lambda p: RemoteStop(transaction_id=p["transactionId"]),
    "UnlockConnector": lambda p: Unlock(evse=p["evseId"], connector=p["connectorId"]),
    "Reset": lambda p: Reset(hard=p["type"] == "Immediate", evse=p.get("evseId")),
    "ChangeAvailability": lambda p: ChangeAvailability(
        operative=p["operationalStatus"] == "Operative", **_evse_fields(p.get("evse"))
    ),
    "GetVariables": lambda p: ReadSettings(keys=tuple(_variable_of(entry) for entry in p["getVariableData"])),
    "SetVariables": _read_set_variables,
    "ClearCache": lambda p: ClearCache(),
    "TriggerMessage": lambda p: TriggerMessage(message=TRIGGERED[p["requestedMessage"]], **_evse_fields(p.get("evse"))),
    "ReserveNow": lambda p: Reserve(
        reservation_id=p["id"],
        id_token=str(p["idToken"]["idToken"]),
        token_type=_kind_of(p["idToken"]),
        expires_at=read_required_moment(p["expiryDateTime"]),
        connector=p.get("evseId", 0),
        parent_id_token=_token(p["groupIdToken"], GROUP_TOKEN_TYPE) if "groupIdToken" in p else "",
    ),
    "CancelReservation": lambda p: CancelReservation(reservation_id=p["reservationId"]),
    "SetChargingProfile": lambda p: SetChargingProfile(profile=_spec(p["chargingProfile"]), connector=p["evseId"]),
    "ClearChargingProfile": lambda p: ClearChargingProfile(
        profile_id=p.get("chargingProfileId"),
        connector=p.get("chargingProfileCriteria", {}).get("evseId"),
        purpose=PURPOSE_OF[p["chargingProfileCriteria"]["chargingProfilePurpose"]]
        if "chargingProfilePurpose" in p.get("chargingProfileCriteria", {})
        else None,
        stack_level=p.get("chargingProfileCriteria", {}).get("stackLevel"),
    ),
    "GetCompositeSchedule": lambda p: GetCompositeSchedule(
        connector=p["evseId"], duration=p["duration"], rate_unit=p.get("chargingRateUnit")
    ),
    "SendLocalList": lambda p: SendLocalList(
        version=p["versionNumber"],
        differential=p["updateType"] == "Differential",
        entries=tuple(_entry(item) for item in p.get("localAuthorizationList", ())),
    ),
    "GetLocalListVersion": lambda p: GetLocalListVersion(),
    "UpdateFirmware": lambda p: UpdateFirmware(
        location=p["firmware"]["location"],
        retrieve_at=read_required_moment(p["firmware"]["retrieveDateTime"]),
        install_at=read_moment(p["firmware"].get("installDateTime")),
        signing_certificate=p["firmware"].get("signingCertificate", ""),
        signature=p["firmware"].get("signature", ""),
        retries=p.get("retries"),
        retry_interval=p.get("retryInterval"),
        request_id=p["requestId"],
    ),
    "GetLog": _read_get_log,
    "CertificateSigned": lambda p: CertificateSigned(
        certificate_chain=p["certificateChain"],
        use=_neutral(SIGNING_USES, p["certificateType"]) if "certificateType" in p else CertificateUse.CHARGER,
    ),
    "InstallCertificate": lambda p: InstallCertificate(
        use=_neutral(INSTALL_USES, p["certificateType"]), certificate=p["certificate"]
    ),
    "DeleteCertificate": lambda p: DeleteCertificate(certificate=read_certificate_hash(p["certificateHashData"])),
    "GetInstalledCertificateIds": lambda p: GetInstalledCertificateIds(
        uses=tuple(_neutral(LISTED_USES, use) for use in p.get("certificateType", ()))
    ),
    "DataTransfer": lambda p: DataTransfer(
        vendor_id=p["vendorId"], message_id=p.get("messageId", ""), data=_text(p.get("data", ""))
    ),
    "GetTransactionStatus": lambda p: GetTransactionStatus(transaction_id=p.get("transactionId")),
    "CostUpdated": lambda p: CostUpdated(transaction_id=p["transactionId"], total_cost=p["totalCost"]),
    "GetBaseReport": lambda p: _read_report(p, base=True),
    "GetReport": lambda p: _read_report(p, base=False),
    "ClearVariableMonitoring": lambda p: ClearVariableMonitoring(monitor_ids=tuple(p["id"])),
    "SetMonitoringBase": lambda p: SetMonitoringBase(base=_neutral(MONITORING_BASES, p["monitoringBase"])),
    "GetMonitoringReport": lambda p: GetMonitoringReport(
        request_id=p["requestId"],
        variables=tuple(_report_spelling(target) for target in p.get("componentVariable", ())),
        criteria=tuple(_neutral(MONITORING_CRITERIA, c) for c in p.get("monitoringCriteria", ())),
    ),
}


def read(action: str, payload: dict[str, Any]) -> Intent | None:
    """The intent a raw 2.0.1 call amounts to, or None when the codec cannot read it as one. A
    call is read as an intent only when that intent encodes back to the very same payload: what
    the neutral intent cannot hold (customData, a component instance, a second schedule) is
    never dropped on the way; such a call stays raw. The one exception is a SetVariables of a
    protected variable, read as that setting whatever else it holds, so that the port refuses it."""
    if action == "SetVariables" and (protected := _protected_setting(payload)) is not None:
        return protected
    reader = READERS.get(action)
    if reader is None:
        return None
    try:
        intent = reader(payload)
        same = encode(intent, "") == (action, payload)
    except (KeyError, TypeError, ValueError, AttributeError, CannotEncode):
        return None
    return intent if same else None
