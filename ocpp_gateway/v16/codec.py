"""The OCPP 1.6 command codec: a version-neutral intent (sites.commands.intents) to the 1.6
CALL the central system sends (OCPP 1.6 edition 2, chapters 5-6), and the charger's answer
(CALLRESULT, CALLERROR or none) to a neutral `Outcome` (sites.commands.outcomes).

`encode` is given to `sites.commands.claim_next_command`, which saves the wire form in the same
write that marks the command sent; `read` turns a raw 1.6 call back into the intent it amounts
to, so the port judges it by that intent's rules (a raw ChangeConfiguration of AuthorizationKey
is refused like a ChangeSetting of it)."""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable
from typing import Any

from ocpp_gateway.rpc import CallErrorReply, Reply
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
    CancelReservation,
    CertificateSigned,
    CertificateUse,
    ChangeAvailability,
    ChangeSetting,
    ChargingProfileSpec,
    ClearCache,
    ClearChargingProfile,
    DataTransfer,
    DeleteCertificate,
    GetCompositeSchedule,
    GetDiagnostics,
    GetInstalledCertificateIds,
    GetLocalListVersion,
    GetLog,
    InstallCertificate,
    Intent,
    LocalAuthorization,
    LogType,
    RaiseSecurityProfile,
    RawCall,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    Reserve,
    Reset,
    RotateKey,
    SchedulePeriod,
    SendLocalList,
    SetChargingProfile,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
)
from sites.commands.outcomes import Outcome, OutcomeStatus, SettingValue

AUTHORIZATION_KEY = "AuthorizationKey"
MAX_ID = 2**31 - 1  # OCPP integers are 32-bit signed

# TriggerMessage's requestedMessage (1.6 sec. 7.46 MessageTrigger).
TRIGGERS = {
    TriggerableMessage.BOOT: "BootNotification",
    TriggerableMessage.HEARTBEAT: "Heartbeat",
    TriggerableMessage.STATUS: "StatusNotification",
    TriggerableMessage.METER_VALUES: "MeterValues",
    TriggerableMessage.FIRMWARE_STATUS: "FirmwareStatusNotification",
    TriggerableMessage.DIAGNOSTICS_STATUS: "DiagnosticsStatusNotification",
}
TRIGGERED = {wire: neutral for neutral, wire in TRIGGERS.items()}
# What only the security extension's ExtendedTriggerMessage can ask for (whitepaper sec. 5.5,
# MessageTriggerEnumType sec. 6.16; F06 of 2.0.1). Its FirmwareStatusNotification is answered
# with a SignedFirmwareStatusNotification (L01.FR.28/29). The messages both can trigger keep
# going by the core TriggerMessage, which every 1.6 charger knows.
EXTENDED_TRIGGERS = {
    TriggerableMessage.LOG_STATUS: "LogStatusNotification",
    TriggerableMessage.SIGN_CERTIFICATE: "SignChargePointCertificate",
    TriggerableMessage.SIGNED_FIRMWARE_STATUS: "FirmwareStatusNotification",
}
EXTENDED_TRIGGERED = {wire: neutral for neutral, wire in EXTENDED_TRIGGERS.items()}
# LogEnumType (whitepaper sec. 6.8).
LOG_TYPES = {LogType.DIAGNOSTICS: "DiagnosticsLog", LogType.SECURITY: "SecurityLog"}
LOG_TYPE_OF = {wire: neutral for neutral, wire in LOG_TYPES.items()}

# CertificateUseEnumType (whitepaper sec. 6.2): the roots a 1.6 charger installs and lists.
CERTIFICATE_USES = {
    CertificateUse.CSMS_ROOT: "CentralSystemRootCertificate",
    CertificateUse.MANUFACTURER_ROOT: "ManufacturerRootCertificate",
}
CERTIFICATE_USE_OF = {wire: neutral for neutral, wire in CERTIFICATE_USES.items()}

# The status words of 1.6 confirmations (chapter 7's *Status enumerations) and what they mean.
# "RebootRequired" (ConfigurationStatus) and "Scheduled" (AvailabilityStatus) are done as asked,
# later: accepted, with the word kept as the detail.
# "AcceptedCanceled" (security extension): accepted, and the log upload or firmware update already
# running was cancelled for it (N01.FR.11, L01.FR.26).
ACCEPTED_STATUSES = {"Accepted", "Unlocked", "RebootRequired", "Scheduled", "AcceptedCanceled"}
NOT_SUPPORTED_STATUSES = {"NotSupported", "NotImplemented", "UnknownMessageId", "UnknownVendorId"}
# CALLERROR codes saying the charger does not know the operation (OCPP-J 1.6 sec. 4.2.3).
NOT_SUPPORTED_ERRORS = {"NotImplemented", "NotSupported"}


# --- Values ---------------------------------------------------------------------------------


def _no_evse(intent: Intent) -> None:
    if getattr(intent, "evse", None) is not None:
        raise CannotEncode(f"OCPP 1.6 has no EVSEs: {intent.title.lower()} addresses a connector, not an EVSE.")


def charging_profile(spec: ChargingProfileSpec) -> dict:
    """The ChargingProfile object (1.6 sec. 7.8), with its ChargingSchedule (sec. 7.13)."""
    periods = [
        optional_fields(startPeriod=period.start, limit=period.limit, numberPhases=period.phases)
        for period in spec.periods
    ]
    schedule = optional_fields(
        duration=spec.duration,
        startSchedule=ocpp_datetime(spec.start_schedule) if spec.start_schedule else None,
        chargingRateUnit=spec.rate_unit,
        chargingSchedulePeriod=periods,
        minChargingRate=spec.min_rate,
    )
    transaction_id = int(spec.transaction_id) if spec.transaction_id is not None else None
    return optional_fields(
        chargingProfileId=spec.profile_id,
        transactionId=transaction_id,
        stackLevel=spec.stack_level,
        chargingProfilePurpose=spec.purpose,
        chargingProfileKind=spec.kind,
        recurrencyKind=spec.recurrency or None,
        validFrom=ocpp_datetime(spec.valid_from) if spec.valid_from else None,
        validTo=ocpp_datetime(spec.valid_to) if spec.valid_to else None,
        chargingSchedule=schedule,
    )


def authorization_data(entry: LocalAuthorization) -> dict:
    """AuthorizationData (1.6 sec. 7.2): without idTagInfo it removes the idTag from the list."""
    if entry.status is None:
        return {"idTag": entry.id_token}
    info = optional_fields(
        status=entry.status,
        expiryDate=ocpp_datetime(entry.expires_at) if entry.expires_at else None,
        parentIdTag=entry.parent_id_token or None,
    )
    return {"idTag": entry.id_token, "idTagInfo": info}


# --- Encode -----------------------------------------------------------------------------------


def _remote_start(intent: RemoteStart, secret: str) -> tuple[str, dict]:
    profile = charging_profile(intent.charging_profile) if intent.charging_profile else None
    return "RemoteStartTransaction", optional_fields(
        connectorId=intent.connector, idTag=intent.id_token, chargingProfile=profile
    )


def _remote_stop(intent: RemoteStop, secret: str) -> tuple[str, dict]:
    try:
        transaction_id = int(intent.transaction_id)
    except ValueError:
        raise CannotEncode(f"a 1.6 transaction id is a whole number, not {intent.transaction_id!r}") from None
    return "RemoteStopTransaction", {"transactionId": transaction_id}


def _unlock(intent: Unlock, secret: str) -> tuple[str, dict]:
    return "UnlockConnector", {"connectorId": intent.connector}


def _reset(intent: Reset, secret: str) -> tuple[str, dict]:
    return "Reset", {"type": "Hard" if intent.hard else "Soft"}


def _change_availability(intent: ChangeAvailability, secret: str) -> tuple[str, dict]:
    return "ChangeAvailability", {
        "connectorId": intent.connector,
        "type": "Operative" if intent.operative else "Inoperative",
    }


def _read_settings(intent: ReadSettings, secret: str) -> tuple[str, dict]:
    return "GetConfiguration", {"key": list(intent.keys)} if intent.keys else {}


def _change_setting(intent: ChangeSetting, secret: str) -> tuple[str, dict]:
    if intent.component:
        raise CannotEncode("OCPP 1.6 has no device-model components: a configuration key has none.")
    return "ChangeConfiguration", {"key": intent.key, "value": intent.value}


def _clear_cache(intent: ClearCache, secret: str) -> tuple[str, dict]:
    return "ClearCache", {}


def _trigger_message(intent: TriggerMessage, secret: str) -> tuple[str, dict]:
    """The core TriggerMessage; what only the security extension has, its ExtendedTriggerMessage."""
    if intent.message in EXTENDED_TRIGGERS:
        requested = EXTENDED_TRIGGERS[intent.message]
        return "ExtendedTriggerMessage", optional_fields(requestedMessage=requested, connectorId=intent.connector)
    if intent.message not in TRIGGERS:
        raise CannotEncode(f"OCPP 1.6 cannot trigger {intent.message!r}")
    return "TriggerMessage", optional_fields(requestedMessage=TRIGGERS[intent.message], connectorId=intent.connector)


def _reserve(intent: Reserve, secret: str) -> tuple[str, dict]:
    return "ReserveNow", optional_fields(
        connectorId=intent.connector,
        expiryDate=ocpp_datetime(intent.expires_at),
        idTag=intent.id_token,
        parentIdTag=intent.parent_id_token or None,
        reservationId=intent.reservation_id,
    )


def _cancel_reservation(intent: CancelReservation, secret: str) -> tuple[str, dict]:
    return "CancelReservation", {"reservationId": intent.reservation_id}


def _set_charging_profile(intent: SetChargingProfile, secret: str) -> tuple[str, dict]:
    return "SetChargingProfile", {
        "connectorId": intent.connector,
        "csChargingProfiles": charging_profile(intent.profile),
    }


def _clear_charging_profile(intent: ClearChargingProfile, secret: str) -> tuple[str, dict]:
    return "ClearChargingProfile", optional_fields(
        id=intent.profile_id,
        connectorId=intent.connector,
        chargingProfilePurpose=intent.purpose,
        stackLevel=intent.stack_level,
    )


def _get_composite_schedule(intent: GetCompositeSchedule, secret: str) -> tuple[str, dict]:
    return "GetCompositeSchedule", optional_fields(
        connectorId=intent.connector, duration=intent.duration, chargingRateUnit=intent.rate_unit
    )


def _send_local_list(intent: SendLocalList, secret: str) -> tuple[str, dict]:
    return "SendLocalList", {
        "listVersion": intent.version,
        "updateType": "Differential" if intent.differential else "Full",
        "localAuthorizationList": [authorization_data(entry) for entry in intent.entries],
    }


def _get_local_list_version(intent: GetLocalListVersion, secret: str) -> tuple[str, dict]:
    return "GetLocalListVersion", {}


def _update_firmware(intent: UpdateFirmware, secret: str) -> tuple[str, dict]:
    """A signed update is the security extension's SignedUpdateFirmware (L01): a charger that
    has the extension refuses the plain UpdateFirmware (L01.FR.20)."""
    if intent.signed:
        return _signed_update_firmware(intent)
    if intent.install_at is not None:
        raise CannotEncode("OCPP 1.6's unsigned firmware update has no installation time; sign it to give one.")
    return "UpdateFirmware", optional_fields(
        location=intent.location,
        retries=intent.retries,
        retrieveDate=ocpp_datetime(intent.retrieve_at),
        retryInterval=intent.retry_interval,
    )


def _signed_update_firmware(intent: UpdateFirmware) -> tuple[str, dict]:
    """Whitepaper sec. 5.20: the signing certificate goes with the firmware (L01.FR.11), and the
    charger repeats requestId in every SignedFirmwareStatusNotification (L01.FR.10)."""
    if not (intent.signing_certificate and intent.signature):
        raise CannotEncode("a signed firmware update carries both the signing certificate and the signature.")
    firmware = optional_fields(
        location=intent.location,
        retrieveDateTime=ocpp_datetime(intent.retrieve_at),
        installDateTime=ocpp_datetime(intent.install_at) if intent.install_at else None,
        signingCertificate=intent.signing_certificate,
        signature=intent.signature,
    )
    return "SignedUpdateFirmware", optional_fields(
        retries=intent.retries,
        retryInterval=intent.retry_interval,
        requestId=_request_id(intent),
        firmware=firmware,
    )


def _get_log(intent: GetLog, secret: str) -> tuple[str, dict]:
    """Whitepaper sec. 5.9 (N01): the charger uploads one file to remoteLocation (N01.FR.02) and
    repeats requestId in every LogStatusNotification (N01.FR.07)."""
    if intent.log_type not in LOG_TYPES:
        raise CannotEncode(f"no log type {intent.log_type!r}; one of: {', '.join(LOG_TYPES)}.")
    log = optional_fields(
        remoteLocation=intent.location,
        oldestTimestamp=ocpp_datetime(intent.oldest) if intent.oldest else None,
        latestTimestamp=ocpp_datetime(intent.latest) if intent.latest else None,
    )
    return "GetLog", optional_fields(
        log=log,
        logType=LOG_TYPES[intent.log_type],
        requestId=_request_id(intent),
        retries=intent.retries,
        retryInterval=intent.retry_interval,
    )


def _request_id(intent: GetLog | UpdateFirmware) -> int:
    """The port gives these intents a request id (`Intent.reported_by_request_id`); an intent
    encoded without one (a test, a preview) gets a stable one derived from its fields."""
    if intent.request_id is not None:
        return intent.request_id
    text = json.dumps([intent.kind, {k: v for k, v in intent.to_fields().items() if k != "request_id"}], default=str)
    return (zlib.crc32(text.encode()) & MAX_ID) or 1


def _get_diagnostics(intent: GetDiagnostics, secret: str) -> tuple[str, dict]:
    return "GetDiagnostics", optional_fields(
        location=intent.location,
        retries=intent.retries,
        retryInterval=intent.retry_interval,
        startTime=ocpp_datetime(intent.start) if intent.start else None,
        stopTime=ocpp_datetime(intent.stop) if intent.stop else None,
    )


def _data_transfer(intent: DataTransfer, secret: str) -> tuple[str, dict]:
    return "DataTransfer", optional_fields(
        vendorId=intent.vendor_id, messageId=intent.message_id or None, data=intent.data or None
    )


def _rotate_key(intent: RotateKey, secret: str) -> tuple[str, dict]:
    """1.6 security whitepaper sec. 3 (A01): the new key goes in ChangeConfiguration of
    AuthorizationKey; `secret` is the key itself, or the mask for what people may see."""
    return "ChangeConfiguration", {"key": AUTHORIZATION_KEY, "value": secret}


def _raise_security_profile(intent: RaiseSecurityProfile, secret: str) -> tuple[str, dict]:
    """Whitepaper A05 step 2: ChangeConfiguration of the SecurityProfile key (sec. 7.6)."""
    return "ChangeConfiguration", {"key": "SecurityProfile", "value": str(intent.profile)}


def _certificate_use(use: str) -> str:
    if use not in CERTIFICATE_USES:
        raise CannotEncode(f"OCPP 1.6 has no certificate use {use!r}; one of: {', '.join(CERTIFICATE_USES)}.")
    return CERTIFICATE_USES[use]


def _certificate_signed(intent: CertificateSigned, secret: str) -> tuple[str, dict]:
    """Whitepaper sec. 5.2 (A02): only the charge point's own certificate is signed in 1.6."""
    if intent.use != CertificateUse.CHARGER:
        raise CannotEncode(f"OCPP 1.6 signs only the charge point's certificate, not {intent.use!r}.")
    return "CertificateSigned", {"certificateChain": intent.certificate_chain}


def _install_certificate(intent: InstallCertificate, secret: str) -> tuple[str, dict]:
    """Whitepaper sec. 5.10 (M05)."""
    return "InstallCertificate", {"certificateType": _certificate_use(intent.use), "certificate": intent.certificate}


def _delete_certificate(intent: DeleteCertificate, secret: str) -> tuple[str, dict]:
    """Whitepaper sec. 5.3 (M04)."""
    return "DeleteCertificate", {"certificateHashData": certificate_hash_data(intent.certificate)}


def _get_installed_certificate_ids(intent: GetInstalledCertificateIds, secret: str) -> tuple[str, dict]:
    """Whitepaper sec. 5.8 (M03): 1.6 asks for exactly one certificate type."""
    if len(intent.uses) != 1:
        raise CannotEncode("OCPP 1.6 lists the certificates of exactly one use at a time.")
    return "GetInstalledCertificateIds", {"certificateType": _certificate_use(intent.uses[0])}


def _raw(intent: RawCall, secret: str) -> tuple[str, dict]:
    return intent.action, intent.payload


ENCODERS: dict[type[Intent], Callable[[Any, str], tuple[str, dict]]] = {
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
    RaiseSecurityProfile: _raise_security_profile,
    RawCall: _raw,
    GetLog: _get_log,
    CertificateSigned: _certificate_signed,
    InstallCertificate: _install_certificate,
    DeleteCertificate: _delete_certificate,
    GetInstalledCertificateIds: _get_installed_certificate_ids,
}


# Every intent kind 1.6 can carry; the others (reports, monitoring, network profiles, customer
# information, running costs...) exist from 2.0.1 on.
SUPPORTED_INTENTS: frozenset[str] = frozenset(intent_type.kind for intent_type in ENCODERS)
# idTag is CiString20Type (1.6 sec. 7.15, IdToken).
LONGEST_ID_TOKEN = 20


def encode(intent: Intent, secret: str = "") -> tuple[str, dict]:
    """The 1.6 CALL (action, payload) for an intent. Raises CannotEncode for what 1.6 cannot
    say (an operation it does not have, an EVSE, a device-model component, a trigger it does
    not have)."""
    encoder = ENCODERS.get(type(intent))
    if encoder is None:
        raise CannotEncode(f"OCPP 1.6 has no operation for this ({intent.title.lower()}).")
    _no_evse(intent)
    return encoder(intent, secret)


# --- Decode -----------------------------------------------------------------------------------


def decode(intent: Intent, reply: Reply) -> Outcome:
    """The neutral outcome of the charger's answer to `intent` (None: no answer in time)."""
    if reply is None:
        return Outcome(status=OutcomeStatus.TIMED_OUT)
    if isinstance(reply, CallErrorReply):
        status = OutcomeStatus.NOT_SUPPORTED if reply.code in NOT_SUPPORTED_ERRORS else OutcomeStatus.FAILED
        return Outcome(status=status, detail=reply.code, error_code=reply.code, error_description=reply.description)
    status, detail = _status_of(reply)
    if isinstance(intent, ReadSettings):
        return Outcome(
            status=status, detail=detail, settings=_settings_of(reply), unknown_keys=tuple(reply.get("unknownKey", ()))
        )
    if isinstance(intent, GetLocalListVersion):
        version = reply.get("listVersion")
        known = version if isinstance(version, int) and not isinstance(version, bool) else None
        return Outcome(status=status, detail=detail, local_list_version=known)
    return Outcome(status=status, detail=detail, data=_data_of(intent, reply))


def _status_of(reply: dict) -> tuple[OutcomeStatus, str]:
    """A confirmation without a status (GetConfiguration, GetLocalListVersion, GetDiagnostics)
    answers what was asked; any status word the table does not list is a refusal."""
    word = reply.get("status")
    if word is None or word in ACCEPTED_STATUSES:
        return OutcomeStatus.ACCEPTED, word or ""
    if word in NOT_SUPPORTED_STATUSES:
        return OutcomeStatus.NOT_SUPPORTED, str(word)
    return OutcomeStatus.REJECTED, str(word)


def _settings_of(reply: dict) -> tuple[SettingValue, ...]:
    """GetConfiguration.conf's configurationKey (1.6 sec. 6.25, KeyValue sec. 7.29)."""
    return tuple(
        SettingValue(key=entry["key"], value=entry.get("value", ""), readonly=bool(entry.get("readonly", False)))
        for entry in reply.get("configurationKey", ())
        if isinstance(entry, dict) and isinstance(entry.get("key"), str)
    )


def _data_of(intent: Intent, reply: dict) -> dict[str, Any]:
    """What else a confirmation carries, in neutral words."""
    if isinstance(intent, GetCompositeSchedule):
        return optional_fields(
            connector=reply.get("connectorId"), start=reply.get("scheduleStart"), schedule=reply.get("chargingSchedule")
        )
    if isinstance(intent, GetDiagnostics):
        return optional_fields(file_name=reply.get("fileName"))
    if isinstance(intent, GetLog):
        return optional_fields(file_name=reply.get("filename"))  # N01.FR.01: the name of the file
    if isinstance(intent, DataTransfer):
        return optional_fields(data=reply.get("data"))
    if isinstance(intent, GetInstalledCertificateIds):
        # M03: the use is the one asked for (1.6 lists one use at a time).
        use = intent.uses[0] if intent.uses else ""
        return {"certificates": [installed_certificate(entry, use) for entry in reply.get("certificateHashData", ())]}
    return {}


# --- Read: a raw 1.6 call as the intent it amounts to ------------------------------------------


def _spec(body: dict) -> ChargingProfileSpec:
    schedule = body["chargingSchedule"]
    transaction_id = body.get("transactionId")
    return ChargingProfileSpec(
        profile_id=body["chargingProfileId"],
        stack_level=body["stackLevel"],
        purpose=body["chargingProfilePurpose"],
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
        transaction_id=str(transaction_id) if transaction_id is not None else None,
    )


def _entry(item: dict) -> LocalAuthorization:
    info = item.get("idTagInfo")
    if info is None:
        return LocalAuthorization(id_token=item["idTag"])
    return LocalAuthorization(
        id_token=item["idTag"],
        status=info["status"],
        expires_at=read_moment(info.get("expiryDate")),
        parent_id_token=info.get("parentIdTag", ""),
    )


READERS: dict[str, Callable[[dict], Intent]] = {
    "RemoteStartTransaction": lambda p: RemoteStart(
        id_token=p["idTag"],
        connector=p.get("connectorId"),
        charging_profile=_spec(p["chargingProfile"]) if "chargingProfile" in p else None,
    ),
    "RemoteStopTransaction": lambda p: RemoteStop(transaction_id=str(p["transactionId"])),
    "UnlockConnector": lambda p: Unlock(connector=p["connectorId"]),
    "Reset": lambda p: Reset(hard=p["type"] == "Hard"),
    "ChangeAvailability": lambda p: ChangeAvailability(operative=p["type"] == "Operative", connector=p["connectorId"]),
    "GetConfiguration": lambda p: ReadSettings(keys=tuple(p.get("key", ()))),
    "ChangeConfiguration": lambda p: ChangeSetting(key=p["key"], value=p["value"]),
    "ClearCache": lambda p: ClearCache(),
    "TriggerMessage": lambda p: TriggerMessage(
        message=TRIGGERED[p["requestedMessage"]], connector=p.get("connectorId")
    ),
    "ReserveNow": lambda p: Reserve(
        reservation_id=p["reservationId"],
        id_token=p["idTag"],
        expires_at=read_required_moment(p["expiryDate"]),
        connector=p["connectorId"],
        parent_id_token=p.get("parentIdTag", ""),
    ),
    "CancelReservation": lambda p: CancelReservation(reservation_id=p["reservationId"]),
    "SetChargingProfile": lambda p: SetChargingProfile(
        profile=_spec(p["csChargingProfiles"]), connector=p["connectorId"]
    ),
    "ClearChargingProfile": lambda p: ClearChargingProfile(
        profile_id=p.get("id"),
        connector=p.get("connectorId"),
        purpose=p.get("chargingProfilePurpose"),
        stack_level=p.get("stackLevel"),
    ),
    "GetCompositeSchedule": lambda p: GetCompositeSchedule(
        connector=p["connectorId"], duration=p["duration"], rate_unit=p.get("chargingRateUnit")
    ),
    "SendLocalList": lambda p: SendLocalList(
        version=p["listVersion"],
        differential=p["updateType"] == "Differential",
        entries=tuple(_entry(item) for item in p.get("localAuthorizationList", ())),
    ),
    "GetLocalListVersion": lambda p: GetLocalListVersion(),
    "UpdateFirmware": lambda p: UpdateFirmware(
        location=p["location"],
        retrieve_at=read_required_moment(p["retrieveDate"]),
        retries=p.get("retries"),
        retry_interval=p.get("retryInterval"),
    ),
    "GetDiagnostics": lambda p: GetDiagnostics(
        location=p["location"],
        start=read_moment(p.get("startTime")),
        stop=read_moment(p.get("stopTime")),
        retries=p.get("retries"),
        retry_interval=p.get("retryInterval"),
    ),
    "DataTransfer": lambda p: DataTransfer(
        vendor_id=p["vendorId"], message_id=p.get("messageId", ""), data=p.get("data", "")
    ),
    "GetLog": lambda p: GetLog(
        location=p["log"]["remoteLocation"],
        log_type=LOG_TYPE_OF[p["logType"]],
        oldest=read_moment(p["log"].get("oldestTimestamp")),
        latest=read_moment(p["log"].get("latestTimestamp")),
        retries=p.get("retries"),
        retry_interval=p.get("retryInterval"),
        request_id=p["requestId"],
    ),
    "SignedUpdateFirmware": lambda p: UpdateFirmware(
        location=p["firmware"]["location"],
        retrieve_at=read_required_moment(p["firmware"]["retrieveDateTime"]),
        install_at=read_moment(p["firmware"].get("installDateTime")),
        signing_certificate=p["firmware"]["signingCertificate"],
        signature=p["firmware"]["signature"],
        retries=p.get("retries"),
        retry_interval=p.get("retryInterval"),
        request_id=p["requestId"],
    ),
    "CertificateSigned": lambda p: CertificateSigned(certificate_chain=p["certificateChain"]),
    "InstallCertificate": lambda p: InstallCertificate(
        use=CERTIFICATE_USE_OF[p["certificateType"]], certificate=p["certificate"]
    ),
    "DeleteCertificate": lambda p: DeleteCertificate(certificate=read_certificate_hash(p["certificateHashData"])),
    "GetInstalledCertificateIds": lambda p: GetInstalledCertificateIds(
        uses=(CERTIFICATE_USE_OF[p["certificateType"]],)
    ),
    # Only what the core TriggerMessage cannot ask for: the rest stays a raw call, as sent.
    "ExtendedTriggerMessage": lambda p: TriggerMessage(
        message=EXTENDED_TRIGGERED[p["requestedMessage"]], connector=p.get("connectorId")
    ),
}


def read(action: str, payload: dict) -> Intent | None:
    """The intent a raw 1.6 call amounts to, or None when the codec cannot read it as one (a
    payload the schema let through but the reader does not expect: it stays a raw call)."""
    reader = READERS.get(action)
    if reader is None:
        return None
    try:
        return reader(payload)
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
