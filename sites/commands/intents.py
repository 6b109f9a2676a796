"""Operation intents: what an operator, a partner or a service wants a charger to do, in the
domain's words and not in any protocol's (DESIGN "Protocol versions").

An intent is a frozen dataclass. The outbound port (`sites.commands.request_command`) stores
its `kind` and `to_fields()` on the Command row; the gateway's codec for the charger's
negotiated version turns it into the wire CALL when it claims the command, and turns the
answer into an `Outcome` (sites.commands.outcomes). Nothing here names a wire action or a
payload field, except `RawCall`, the explicit expert escape whose action and payload are
checked against the charger's own version's schema.

Addressing: `connector` is the connector number the charger reports (1-based; 0 = the charger
as a whole, where the operation allows it); `evse` addresses an EVSE on versions that have
them (2.0.1), and is None otherwise.

Request ids: operations whose later notifications refer back to them (a firmware update, a log
upload, a report, a remote start) carry an optional `request_id` (`remote_start_id`). None lets
the codec derive a stable id from the intent's other fields, so that a retry of the same command
names the same request; a caller that must match notifications to its own records gives one.

Device-model settings (2.0.1) are spelled, wherever an intent names one by text,
"Component.Variable", or "Component.Variable.Instance" for a variable's instance (e.g.
"OCPPCommCtrlr.HeartbeatInterval"); the 1.6 configuration keys are plain names.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import types
import typing
from dataclasses import dataclass
from typing import Any, ClassVar

from django.utils.dateparse import parse_datetime

# --- Values inside intents -------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class SchedulePeriod:
    """One period of a charging schedule: from `start` seconds, at most `limit` (in the
    schedule's unit), optionally on `phases` phases."""

    start: int
    limit: float
    phases: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChargingProfileSpec:
    """A charging profile as the charger must receive it. `purpose`, `kind`, `recurrency` and
    `rate_unit` take the values of charging.models.ChargingProfile's choices; the codec maps
    them to its version's words."""

    profile_id: int
    stack_level: int
    purpose: str
    kind: str
    rate_unit: str
    periods: tuple[SchedulePeriod, ...]
    recurrency: str = ""
    valid_from: dt.datetime | None = None
    valid_to: dt.datetime | None = None
    duration: int | None = None
    start_schedule: dt.datetime | None = None
    min_rate: float | None = None
    # The charger-side id of the transaction a transaction profile is for.
    transaction_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class LocalAuthorization:
    """One entry of a local authorization list; `status` None removes the token from the list."""

    id_token: str
    status: str | None = None
    expires_at: dt.datetime | None = None
    parent_id_token: str = ""
    # The kind of token a charger matches against what is presented to it, in the words of
    # charging.models.IdTokenKind (2.0.1's IdTokenEnumType: "ISO14443", "eMAID", "KeyCode"...),
    # which a 2.0.1 station compares along with the text; empty for the RFID card most tokens
    # are. 1.6 idTags have no kind.
    token_type: str = ""
    # Its business priority, -9 to 9 (2.0.1 chargingPriority; 0 the default; 1.6 has none).
    priority: int = 0


@dataclass(frozen=True, kw_only=True, slots=True)
class NetworkConnection:
    """Where and how a charger reaches the central system, for one configuration slot: the URL,
    the protocol version it speaks there ("1.6" or "2.0.1", sites.models.OcppVersion's values),
    the security profile (1-3), how long it waits for an answer (seconds) and the network
    interface it uses (wired or wireless, numbered from 0)."""

    csms_url: str
    protocol_version: str
    security_profile: int
    message_timeout: int = 30
    wireless: bool = False
    interface_number: int = 0


class MonitorKind:
    """What a variable monitor watches for, in neutral words."""

    UPPER_THRESHOLD = "upper_threshold"
    LOWER_THRESHOLD = "lower_threshold"
    DELTA = "delta"
    PERIODIC = "periodic"
    PERIODIC_CLOCK_ALIGNED = "periodic_clock_aligned"
    ALL = (UPPER_THRESHOLD, LOWER_THRESHOLD, DELTA, PERIODIC, PERIODIC_CLOCK_ALIGNED)


@dataclass(frozen=True, kw_only=True, slots=True)
class VariableMonitor:
    """A monitor on one device-model variable (`variable` spelled "Component.Variable"):
    `value` is the threshold, the delta or the period (seconds) as `kind` says; `severity` 0
    (danger) to 9 (debug); `monitor_id` replaces an existing monitor; `transaction_only`
    monitors only during transactions."""

    variable: str
    kind: str  # one of MonitorKind.ALL
    value: float
    severity: int
    monitor_id: int | None = None
    transaction_only: bool = False


# --- Intents ---------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class Intent:
    """Base of every intent. `kind` names it in the Command row, the permission
    (`sites.send_<kind>`), the API's neutral form and the settings (expiry)."""

    kind: ClassVar[str] = ""
    title: ClassVar[str] = ""
    # Safe to send again when the first answer never came (reading, or setting the same value).
    retryable: ClassVar[bool] = False
    # The charger's later messages name the intent's request id (log uploads N01.FR.07, firmware
    # updates L01.FR.10, reports B07.FR.03, a remote start's transaction F01.FR.25...): the port
    # gives every such command an id of its own, its row's, in `request_id_field`, so that two
    # commands alike never share one and those messages find their command.
    reported_by_request_id: ClassVar[bool] = False
    request_id_field: ClassVar[str] = "request_id"

    def to_fields(self) -> dict[str, Any]:
        """JSON-ready fields (datetimes as ISO 8601 text, nested values as dicts)."""
        return {field.name: _to_json(getattr(self, field.name)) for field in dataclasses.fields(self)}

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> Intent:
        """The intent back from `to_fields()`; unknown keys raise TypeError."""
        return _from_json(cls, fields)


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoteStart(Intent):
    kind: ClassVar[str] = "remote_start"
    title: ClassVar[str] = "Start a session remotely"
    id_token: str
    connector: int | None = None
    evse: int | None = None
    charging_profile: ChargingProfileSpec | None = None
    # The id the charger puts in the transaction it starts (2.0.1, F01.FR.25); None: the
    # command's own (the port's), or derived by the codec where no command carries it.
    remote_start_id: int | None = None
    reported_by_request_id: ClassVar[bool] = True
    request_id_field: ClassVar[str] = "remote_start_id"


@dataclass(frozen=True, kw_only=True, slots=True)
class RemoteStop(Intent):
    kind: ClassVar[str] = "remote_stop"
    title: ClassVar[str] = "Stop a session remotely"
    # The charger-side id of the session's transaction (a 1.6 integer as text, a 2.0.1 string).
    transaction_id: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Unlock(Intent):
    kind: ClassVar[str] = "unlock"
    title: ClassVar[str] = "Unlock a connector"
    connector: int
    evse: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Reset(Intent):
    kind: ClassVar[str] = "reset"
    title: ClassVar[str] = "Reset"
    hard: bool = False
    evse: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeAvailability(Intent):
    kind: ClassVar[str] = "change_availability"
    title: ClassVar[str] = "Change availability"
    retryable: ClassVar[bool] = True
    operative: bool
    connector: int = 0
    evse: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ReadSettings(Intent):
    kind: ClassVar[str] = "read_settings"
    title: ClassVar[str] = "Read settings"
    retryable: ClassVar[bool] = True
    keys: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ChangeSetting(Intent):
    kind: ClassVar[str] = "change_setting"
    title: ClassVar[str] = "Change a setting"
    key: str
    value: str
    # The device-model component holding the variable `key` (2.0.1); empty on 1.6.
    component: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class ClearCache(Intent):
    kind: ClassVar[str] = "clear_cache"
    title: ClassVar[str] = "Clear the authorization cache"
    retryable: ClassVar[bool] = True


class TriggerableMessage:
    """What TriggerMessage may ask for, in neutral words."""

    BOOT = "boot"
    HEARTBEAT = "heartbeat"
    STATUS = "status"
    METER_VALUES = "meter_values"
    FIRMWARE_STATUS = "firmware_status"
    DIAGNOSTICS_STATUS = "diagnostics_status"
    # The 1.6 security extension's messages (ExtendedTriggerMessage, F06 of 2.0.1): a log upload's
    # status, a new certificate signing request (A02), a signed firmware update's status.
    LOG_STATUS = "log_status"
    SIGN_CERTIFICATE = "sign_certificate"
    SIGNED_FIRMWARE_STATUS = "signed_firmware_status"
    ALL = (
        BOOT,
        HEARTBEAT,
        STATUS,
        METER_VALUES,
        FIRMWARE_STATUS,
        DIAGNOSTICS_STATUS,
        LOG_STATUS,
        SIGN_CERTIFICATE,
        SIGNED_FIRMWARE_STATUS,
    )


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerMessage(Intent):
    kind: ClassVar[str] = "trigger_message"
    title: ClassVar[str] = "Trigger a message"
    retryable: ClassVar[bool] = True
    message: str  # one of TriggerableMessage.ALL
    connector: int | None = None
    evse: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Reserve(Intent):
    kind: ClassVar[str] = "reserve"
    title: ClassVar[str] = "Reserve"
    reservation_id: int
    id_token: str
    expires_at: dt.datetime
    connector: int = 0
    evse: int | None = None
    parent_id_token: str = ""
    token_type: str = ""  # the token's kind, as a LocalAuthorization's


@dataclass(frozen=True, kw_only=True, slots=True)
class CancelReservation(Intent):
    kind: ClassVar[str] = "cancel_reservation"
    title: ClassVar[str] = "Cancel a reservation"
    reservation_id: int


@dataclass(frozen=True, kw_only=True, slots=True)
class SetChargingProfile(Intent):
    kind: ClassVar[str] = "set_charging_profile"
    title: ClassVar[str] = "Set a charging profile"
    profile: ChargingProfileSpec
    connector: int = 0
    evse: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class ClearChargingProfile(Intent):
    kind: ClassVar[str] = "clear_charging_profile"
    title: ClassVar[str] = "Clear charging profiles"
    profile_id: int | None = None
    connector: int | None = None
    evse: int | None = None
    purpose: str | None = None
    stack_level: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GetCompositeSchedule(Intent):
    kind: ClassVar[str] = "get_composite_schedule"
    title: ClassVar[str] = "Get the composite schedule"
    retryable: ClassVar[bool] = True
    connector: int
    duration: int
    evse: int | None = None
    rate_unit: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SendLocalList(Intent):
    kind: ClassVar[str] = "send_local_list"
    title: ClassVar[str] = "Send the local authorization list"
    version: int
    differential: bool = False
    entries: tuple[LocalAuthorization, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class GetLocalListVersion(Intent):
    kind: ClassVar[str] = "get_local_list_version"
    title: ClassVar[str] = "Get the local list version"
    retryable: ClassVar[bool] = True


@dataclass(frozen=True, kw_only=True, slots=True)
class UpdateFirmware(Intent):
    """Fetch and install firmware from `location`. A signed update (L01, the 1.6 security
    extension and 2.0.1) carries the firmware signing certificate (PEM) and the firmware's
    signature (base64), both or neither; `install_at` defers the installation (L01.FR.16)."""

    kind: ClassVar[str] = "update_firmware"
    title: ClassVar[str] = "Update firmware"
    reported_by_request_id: ClassVar[bool] = True
    location: str
    retrieve_at: dt.datetime
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None
    install_at: dt.datetime | None = None
    signing_certificate: str = ""
    signature: str = ""

    @property
    def signed(self) -> bool:
        return bool(self.signing_certificate or self.signature)


@dataclass(frozen=True, kw_only=True, slots=True)
class GetDiagnostics(Intent):
    """Diagnostics (1.6) or a log (2.0.1), uploaded by the charger to `location`."""

    kind: ClassVar[str] = "get_diagnostics"
    title: ClassVar[str] = "Get diagnostics"
    retryable: ClassVar[bool] = True
    reported_by_request_id: ClassVar[bool] = True
    location: str
    start: dt.datetime | None = None
    stop: dt.datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DataTransfer(Intent):
    kind: ClassVar[str] = "data_transfer"
    title: ClassVar[str] = "Data transfer"
    vendor_id: str
    message_id: str = ""
    data: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class RotateKey(Intent):
    """Give the charger a new HTTP Basic key. Only `sites.commands.rotate_charger_key` creates
    it: the new key is sealed on the Command row, never in the intent."""

    kind: ClassVar[str] = "rotate_key"
    title: ClassVar[str] = "Rotate the charger's key"


@dataclass(frozen=True, kw_only=True, slots=True)
class RaiseSecurityProfile(Intent):
    """Move the charger to a higher security profile (1.6 security whitepaper A05): it
    reconnects with the new one, and only then does the central system refuse the old one
    (A05.FR.09). OCPP 2.0.1 does this with a network profile (SetNetworkProfile) instead."""

    kind: ClassVar[str] = "raise_security_profile"
    title: ClassVar[str] = "Raise the security profile"
    profile: int


@dataclass(frozen=True, kw_only=True, slots=True)
class RawCall(Intent):
    """For experts: a wire action and payload of the charger's own version, validated against
    that version's schema. The only place a wire action crosses the port."""

    kind: ClassVar[str] = "raw"
    title: ClassVar[str] = "Raw OCPP call"
    action: str
    payload: dict[str, Any] = dataclasses.field(default_factory=dict)


# --- Operations only some versions have (today: 2.0.1) ----------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class GetTransactionStatus(Intent):
    """Whether the charger still has a transaction going, and messages of it still queued; with
    no transaction id, only whether any transaction messages are queued."""

    kind: ClassVar[str] = "get_transaction_status"
    title: ClassVar[str] = "Get a transaction's status"
    retryable: ClassVar[bool] = True
    transaction_id: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class CostUpdated(Intent):
    """Tell the charger (and its display) the running cost of a transaction, in the currency
    the charger is configured with."""

    kind: ClassVar[str] = "cost_updated"
    title: ClassVar[str] = "Send a transaction's running cost"
    retryable: ClassVar[bool] = True  # the same total again changes nothing
    transaction_id: str
    total_cost: float


@dataclass(frozen=True, kw_only=True, slots=True)
class SetNetworkProfile(Intent):
    """Store a connection to the central system in one of the charger's configuration slots
    (it is used once the slot is made a priority, by a setting)."""

    kind: ClassVar[str] = "set_network_profile"
    title: ClassVar[str] = "Set a network profile"
    slot: int
    connection: NetworkConnection


@dataclass(frozen=True, kw_only=True, slots=True)
class CustomerInformation(Intent):
    """Ask the charger to report (and/or clear) what it holds about one customer, named by
    exactly one of a customer identifier or an id token."""

    kind: ClassVar[str] = "customer_information"
    title: ClassVar[str] = "Customer information"
    report: bool = True
    clear: bool = False
    customer_identifier: str = ""
    id_token: str = ""
    reported_by_request_id: ClassVar[bool] = True
    request_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class GetChargingProfiles(Intent):
    """Ask the charger to report the charging profiles it has (on one EVSE, or all), narrowed
    by purpose, stack level or profile ids."""

    kind: ClassVar[str] = "get_charging_profiles"
    title: ClassVar[str] = "Get charging profiles"
    retryable: ClassVar[bool] = True
    evse: int | None = None
    purpose: str | None = None
    stack_level: int | None = None
    profile_ids: tuple[int, ...] = ()
    reported_by_request_id: ClassVar[bool] = True
    request_id: int | None = None


class ReportBase:
    """The predefined reports a charger gives of its device model."""

    CONFIGURATION_INVENTORY = "configuration_inventory"
    FULL_INVENTORY = "full_inventory"
    SUMMARY_INVENTORY = "summary_inventory"
    ALL = (CONFIGURATION_INVENTORY, FULL_INVENTORY, SUMMARY_INVENTORY)


class ComponentCriterion:
    """Which components a custom report covers."""

    ACTIVE = "active"
    AVAILABLE = "available"
    ENABLED = "enabled"
    PROBLEM = "problem"
    ALL = (ACTIVE, AVAILABLE, ENABLED, PROBLEM)


@dataclass(frozen=True, kw_only=True, slots=True)
class RequestReport(Intent):
    """Ask the charger to report its device model: a predefined report (`base`, one of
    ReportBase.ALL), or one of the given variables ("Component" or "Component.Variable") and/or
    components meeting `criteria` (ComponentCriterion.ALL). The report itself arrives later, in
    the charger's own messages."""

    kind: ClassVar[str] = "request_report"
    title: ClassVar[str] = "Request a device-model report"
    retryable: ClassVar[bool] = True
    base: str = ""
    variables: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    reported_by_request_id: ClassVar[bool] = True
    request_id: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SetVariableMonitoring(Intent):
    kind: ClassVar[str] = "set_variable_monitoring"
    title: ClassVar[str] = "Set variable monitors"
    monitors: tuple[VariableMonitor, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class ClearVariableMonitoring(Intent):
    kind: ClassVar[str] = "clear_variable_monitoring"
    title: ClassVar[str] = "Clear variable monitors"
    retryable: ClassVar[bool] = True
    monitor_ids: tuple[int, ...]


class MonitoringCriterion:
    """Which monitors a monitoring report covers."""

    THRESHOLD = "threshold"
    DELTA = "delta"
    PERIODIC = "periodic"
    ALL = (THRESHOLD, DELTA, PERIODIC)


@dataclass(frozen=True, kw_only=True, slots=True)
class GetMonitoringReport(Intent):
    """Ask the charger to report its monitors: of the given variables ("Component" or
    "Component.Variable") and/or of the kinds in `criteria` (MonitoringCriterion.ALL); none: all."""

    kind: ClassVar[str] = "get_monitoring_report"
    title: ClassVar[str] = "Get a monitoring report"
    retryable: ClassVar[bool] = True
    variables: tuple[str, ...] = ()
    criteria: tuple[str, ...] = ()
    reported_by_request_id: ClassVar[bool] = True
    request_id: int | None = None


class MonitoringBase:
    """Which monitors a charger keeps when its monitoring base is set."""

    ALL_MONITORS = "all"
    FACTORY_DEFAULT = "factory_default"
    HARD_WIRED_ONLY = "hard_wired_only"
    CHOICES = (ALL_MONITORS, FACTORY_DEFAULT, HARD_WIRED_ONLY)


@dataclass(frozen=True, kw_only=True, slots=True)
class SetMonitoringBase(Intent):
    kind: ClassVar[str] = "set_monitoring_base"
    title: ClassVar[str] = "Set the monitoring base"
    retryable: ClassVar[bool] = True
    base: str  # one of MonitoringBase.CHOICES


class LogType:
    """Which log a charger uploads (N01.FR.03/04)."""

    DIAGNOSTICS = "diagnostics"
    SECURITY = "security"
    ALL = (DIAGNOSTICS, SECURITY)


@dataclass(frozen=True, kw_only=True, slots=True)
class GetLog(Intent):
    """Upload a log to `location` (N01: the 1.6 security extension's and 2.0.1's GetLog): the
    charger answers with the file's name and reports the upload in LogStatusNotification, naming
    `request_id` (N01.FR.07). `oldest`/`latest` bound the entries it contains."""

    kind: ClassVar[str] = "get_log"
    title: ClassVar[str] = "Upload a log"
    retryable: ClassVar[bool] = True  # N01.FR.11: a repeated request replaces the running upload
    reported_by_request_id: ClassVar[bool] = True
    location: str
    log_type: str = LogType.DIAGNOSTICS  # one of LogType.ALL
    oldest: dt.datetime | None = None
    latest: dt.datetime | None = None
    retries: int | None = None
    retry_interval: int | None = None
    request_id: int | None = None


class CertificateUse:
    """What a certificate is for, in neutral words (1.6 whitepaper CertificateUseEnumType sec.
    6.2; 2.0.1 CertificateSigningUseEnumType, InstallCertificateUseEnumType and
    GetCertificateIdUseEnumType). The codecs map them to their version's words; a use a version
    lacks cannot be encoded for it."""

    # The charger's own client certificate (1.6 extension, 2.0.1 ChargingStationCertificate).
    CHARGER = "charger"
    # 2.0.1 only: the ISO 15118 certificate towards the vehicle (V2GCertificate).
    V2G = "v2g"
    CSMS_ROOT = "csms_root"
    MANUFACTURER_ROOT = "manufacturer_root"
    V2G_ROOT = "v2g_root"
    MO_ROOT = "mo_root"
    V2G_CHAIN = "v2g_chain"
    SIGNED = (CHARGER, V2G)
    ROOTS = (CSMS_ROOT, MANUFACTURER_ROOT, V2G_ROOT, MO_ROOT)
    INSTALLED = (*ROOTS, V2G_CHAIN)
    ALL = (*SIGNED, *INSTALLED)


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateHash:
    """CertificateHashDataType (whitepaper sec. 6.3, 2.0.1 2.6): how a charger names an
    installed certificate: hashes (hex) of its issuer's name and key, and its serial (hex)."""

    hash_algorithm: str  # "SHA256", "SHA384" or "SHA512"
    issuer_name_hash: str
    issuer_key_hash: str
    serial_number: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CertificateSigned(Intent):
    """The certificate chain (PEM, leaf first) we signed for the charger's CSR (A02/A03)."""

    kind: ClassVar[str] = "certificate_signed"
    title: ClassVar[str] = "Send a signed certificate"
    retryable: ClassVar[bool] = True  # the same chain again replaces nothing else
    certificate_chain: str
    use: str = CertificateUse.CHARGER  # one of CertificateUse.SIGNED


@dataclass(frozen=True, kw_only=True, slots=True)
class InstallCertificate(Intent):
    """Install a root certificate (PEM) of the given use (M05)."""

    kind: ClassVar[str] = "install_certificate"
    title: ClassVar[str] = "Install a certificate"
    retryable: ClassVar[bool] = True
    use: str  # one of CertificateUse.ROOTS
    certificate: str


@dataclass(frozen=True, kw_only=True, slots=True)
class DeleteCertificate(Intent):
    """Delete the installed certificate the hash data names (M04)."""

    kind: ClassVar[str] = "delete_certificate"
    title: ClassVar[str] = "Delete a certificate"
    retryable: ClassVar[bool] = True
    certificate: CertificateHash


@dataclass(frozen=True, kw_only=True, slots=True)
class GetInstalledCertificateIds(Intent):
    """List the installed certificates of the given uses (M03); none: all (2.0.1 only; 1.6
    asks for exactly one use)."""

    kind: ClassVar[str] = "get_installed_certificate_ids"
    title: ClassVar[str] = "Get installed certificate ids"
    retryable: ClassVar[bool] = True
    uses: tuple[str, ...] = ()


INTENT_TYPES: dict[str, type[Intent]] = {
    intent.kind: intent
    for intent in (
        RemoteStart,
        RemoteStop,
        Unlock,
        Reset,
        ChangeAvailability,
        ReadSettings,
        ChangeSetting,
        ClearCache,
        TriggerMessage,
        Reserve,
        CancelReservation,
        SetChargingProfile,
        ClearChargingProfile,
        GetCompositeSchedule,
        SendLocalList,
        GetLocalListVersion,
        UpdateFirmware,
        GetDiagnostics,
        DataTransfer,
        RotateKey,
        RaiseSecurityProfile,
        RawCall,
        GetTransactionStatus,
        CostUpdated,
        SetNetworkProfile,
        CustomerInformation,
        GetChargingProfiles,
        RequestReport,
        SetVariableMonitoring,
        ClearVariableMonitoring,
        GetMonitoringReport,
        SetMonitoringBase,
        GetLog,
        CertificateSigned,
        InstallCertificate,
        DeleteCertificate,
        GetInstalledCertificateIds,
    )
}


def intent_from_row(kind: str, fields: dict[str, Any]) -> Intent:
    """The intent a Command row stores. Raises KeyError for an unknown kind."""
    return INTENT_TYPES[kind].from_fields(fields)


# --- JSON round trip ---------------------------------------------------------------------------


def _to_json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {field.name: _to_json(getattr(value, field.name)) for field in dataclasses.fields(value)}
    if isinstance(value, tuple | list):
        return [_to_json(item) for item in value]
    return value


def _from_json(cls: type, fields: dict[str, Any]) -> Any:
    hints = typing.get_type_hints(cls)
    names = {field.name for field in dataclasses.fields(cls)}
    unknown = set(fields) - names
    if unknown:
        raise TypeError(f"{cls.__name__} has no field(s) {', '.join(sorted(unknown))}")
    return cls(**{name: _value_of(hints[name], value) for name, value in fields.items()})


def _value_of(hint: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return _value_of(options[0], value) if len(options) == 1 else value
    if origin is tuple:
        (item_hint, *_rest) = typing.get_args(hint)
        return tuple(_value_of(item_hint, item) for item in value)
    if hint is dt.datetime and isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            raise ValueError(f"not a date and time: {value!r}")
        return parsed
    if isinstance(hint, type) and dataclasses.is_dataclass(hint) and isinstance(value, dict):
        return _from_json(hint, value)
    return value
