"""One admin form per operation an operator sends from a charger's page, built from the intent
types (sites.commands.intents): a form's fields are named after its intent's fields, its label
is the intent's title, and `intent()` builds the intent the outbound port stores. Each intent
kind has its own permission (S16). Nothing here knows a protocol version's words: the
charger's codec turns the intent into its wire call."""

import dataclasses
import re
from typing import Any, ClassVar
from urllib.parse import urlsplit

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import command_permission
from sites.commands.intents import (
    CertificateHash,
    CertificateUse,
    ChangeAvailability,
    ChangeSetting,
    ClearCache,
    ClearVariableMonitoring,
    CostUpdated,
    CustomerInformation,
    DataTransfer,
    DeleteCertificate,
    GetCompositeSchedule,
    GetDiagnostics,
    GetInstalledCertificateIds,
    GetLocalListVersion,
    GetLog,
    GetMonitoringReport,
    GetTransactionStatus,
    InstallCertificate,
    Intent,
    LogType,
    MonitoringBase,
    MonitoringCriterion,
    MonitorKind,
    NetworkConnection,
    RaiseSecurityProfile,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    ReportBase,
    RequestReport,
    Reset,
    SetMonitoringBase,
    SetNetworkProfile,
    SetVariableMonitoring,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
    VariableMonitor,
)
from sites.commands.rules import intent_kinds_for, is_protected_configuration_key, protected_key_message
from sites.models import Charger, OcppVersion, SecurityProfile
from sites.validators import validate_remote_url


class CommandForm(forms.Form):
    """A form whose cleaned fields, named as its intent's fields, make the intent. Subclasses
    override `intent_fields` where a field needs converting (a choice to a flag, a list)."""

    intent_type: ClassVar[type[Intent]] = Intent
    help_text: ClassVar[str] = ""

    @classmethod
    def kind(cls) -> str:
        return cls.intent_type.kind

    @classmethod
    def title(cls) -> str:
        return cls.intent_type.title

    @classmethod
    def permission(cls) -> str:
        return command_permission(cls.kind())

    def values_for(self, value_type: type) -> dict[str, Any]:
        """The fields of `value_type` (the intent, or a value inside it) the form filled in; a
        field left empty keeps the dataclass's default."""
        names = {field.name for field in dataclasses.fields(value_type)}
        return {name: value for name, value in self.cleaned_data.items() if name in names and value not in (None, "")}

    def intent_fields(self) -> dict[str, Any]:
        """The intent's fields the form filled in; a field left empty keeps the intent's default."""
        return self.values_for(self.intent_type)

    def intent(self) -> Intent:
        """The intent of a valid form."""
        return self.intent_type(**self.intent_fields())


def connector_field(required: bool = True, *, allow_zero: bool = False) -> forms.IntegerField:
    help_text = "0 = the whole charger." if allow_zero else ""
    return forms.IntegerField(min_value=0 if allow_zero else 1, required=required, help_text=help_text)


class WholeNumbersField(forms.Field):
    """Comma-separated whole numbers (ids the charger gave), cleaned to a tuple; empty: ()."""

    default_error_messages = {"invalid": "Give whole numbers, separated by commas."}

    def to_python(self, value: Any) -> tuple[int, ...]:
        parts = [part.strip() for part in str(value or "").split(",") if part.strip()]
        if not all(re.fullmatch(r"[0-9]+", part) for part in parts):
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return tuple(int(part) for part in parts)


# A device-model name (a component's, a variable's, an instance's) is at most 50 characters in
# OCPP 2.0.1 (ComponentType, VariableType).
DEVICE_MODEL_NAME_LENGTH = 50


def check_variable_spelling(spelling: str, *, component_alone: bool = False) -> None:
    """Raise ValidationError unless `spelling` names a device-model variable as
    "Component.Variable" or "Component.Variable.Instance" (or a whole "Component" where
    `component_alone`): the spelling the intents use."""
    parts = spelling.split(".", 2)
    minimum = 1 if component_alone else 2
    if len(parts) < minimum or not all(parts):
        example = "a component (e.g. EVSE) or " if component_alone else ""
        raise ValidationError(
            "%(spelling)s is not a setting's name: give %(example)sComponent.Variable, e.g. EVSE.Power.",
            code="variable",
            params={"spelling": spelling, "example": example},
        )
    if any(len(part) > DEVICE_MODEL_NAME_LENGTH for part in parts):
        raise ValidationError(
            "%(spelling)s: each name (component, variable, instance) is at most %(limit)s characters.",
            code="variable",
            params={"spelling": spelling, "limit": DEVICE_MODEL_NAME_LENGTH},
        )


class VariablesField(forms.Field):
    """Comma-separated components or Component.Variable names, cleaned to a tuple; empty: ()."""

    def to_python(self, value: Any) -> tuple[str, ...]:
        spellings = tuple(part.strip() for part in str(value or "").split(",") if part.strip())
        for spelling in spellings:
            check_variable_spelling(spelling, component_alone=True)
        return spellings


def _location_field(help_text: str) -> forms.CharField:
    # Not a URLField: Django's URL validator knows no sftp; the same validator as the outbound
    # port's judges scheme and host (S20).
    return forms.CharField(max_length=500, validators=[validate_remote_url], help_text=help_text)


class ResetForm(CommandForm):
    intent_type = Reset
    hard = forms.TypedChoiceField(
        label="Type", choices=[("soft", "Soft"), ("hard", "Hard")], coerce=lambda choice: choice == "hard"
    )


def evse_field() -> forms.IntegerField:
    return forms.IntegerField(
        label="EVSE",
        min_value=1,
        required=False,
        help_text="OCPP 2.0.1 chargers: the EVSE, the connector being its number within the EVSE. Empty on 1.6.",
    )


class UnlockForm(CommandForm):
    intent_type = Unlock
    connector = connector_field()
    evse = evse_field()


class RemoteStartForm(CommandForm):
    intent_type = RemoteStart
    # The longest either version carries (2.0.1 IdTokenType.idToken, string[36]); a 1.6 charger's
    # codec refuses more than its 20 (idTag, CiString20Type) with a form error naming the limit.
    id_token = forms.CharField(label="Id token", max_length=36)
    connector = connector_field(required=False)
    evse = evse_field()


class RemoteStopForm(CommandForm):
    intent_type = RemoteStop
    # Neutral transaction ids are text: 2.0.1 uses strings; a 1.6 charger's codec refuses one
    # that is not a whole number.
    transaction_id = forms.CharField(max_length=36, help_text="The charger's id of the session's transaction.")


class ChangeAvailabilityForm(CommandForm):
    intent_type = ChangeAvailability
    help_text = (
        "A charger busy with a session may answer that the change is scheduled: it changes once the session ends."
    )
    connector = connector_field(allow_zero=True)
    evse = evse_field()
    operative = forms.TypedChoiceField(
        label="Availability",
        choices=[("operative", "Operative"), ("inoperative", "Inoperative")],
        coerce=lambda choice: choice == "operative",
    )


class ReadSettingsForm(CommandForm):
    intent_type = ReadSettings
    keys = forms.CharField(
        required=False,
        help_text="Comma-separated keys; empty for all (OCPP 1.6). OCPP 2.0.1: Component.Variable, e.g. "
        "OCPPCommCtrlr.HeartbeatInterval.",
    )

    def intent_fields(self) -> dict[str, Any]:
        return {"keys": tuple(key.strip() for key in self.cleaned_data["keys"].split(",") if key.strip())}


class ChangeSettingForm(CommandForm):
    intent_type = ChangeSetting
    help_text = "The charger may answer that a reboot is required: the value applies after a reset."
    key = forms.CharField(max_length=50)
    value = forms.CharField(max_length=500)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if is_protected_configuration_key(key):
            raise ValidationError(protected_key_message(key))
        return key


class ClearCacheForm(CommandForm):
    intent_type = ClearCache


class GetLocalListVersionForm(CommandForm):
    intent_type = GetLocalListVersion


TRIGGERABLE_MESSAGES = {
    TriggerableMessage.BOOT: "Boot notification",
    TriggerableMessage.DIAGNOSTICS_STATUS: "Diagnostics status",
    TriggerableMessage.FIRMWARE_STATUS: "Firmware status",
    TriggerableMessage.HEARTBEAT: "Keep-alive (heartbeat)",
    TriggerableMessage.METER_VALUES: "Meter values",
    TriggerableMessage.STATUS: "Status",
    # The 1.6 security extension's (ExtendedTriggerMessage) and 2.0.1's.
    TriggerableMessage.LOG_STATUS: "Log upload status",
    TriggerableMessage.SIGN_CERTIFICATE: "New certificate signing request",
    TriggerableMessage.SIGNED_FIRMWARE_STATUS: "Signed firmware update status",
}


class TriggerMessageForm(CommandForm):
    intent_type = TriggerMessage
    message = forms.ChoiceField(choices=list(TRIGGERABLE_MESSAGES.items()))
    connector = connector_field(required=False, allow_zero=True)


class DataTransferForm(CommandForm):
    intent_type = DataTransfer
    vendor_id = forms.CharField(max_length=255)
    message_id = forms.CharField(max_length=50, required=False)
    data = forms.CharField(required=False, widget=forms.Textarea)


class UpdateFirmwareForm(CommandForm):
    intent_type = UpdateFirmware
    help_text = (
        "A signed update (OCPP 1.6 security extension, 2.0.1) carries the firmware signing certificate and "
        "the signature; the charger reports its progress, and a signature it finds invalid is raised as a "
        "security event."
    )
    location = _location_field("Where the charger downloads the firmware (HTTP(S), FTP(S) or SFTP).")
    retrieve_at = forms.DateTimeField(label="Retrieve at", required=False, help_text="Empty: now.")
    retries = forms.IntegerField(min_value=0, required=False)
    install_at = forms.DateTimeField(
        label="Install at", required=False, help_text="Signed updates: empty installs as soon as it can."
    )
    signing_certificate = forms.CharField(
        label="Signing certificate",
        required=False,
        max_length=5500,  # FirmwareType.signingCertificate
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text="The firmware signing certificate, PEM (-----BEGIN CERTIFICATE-----...).",
    )
    signature = forms.CharField(
        required=False,
        max_length=800,  # FirmwareType.signature
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="The firmware's signature, base64, as the manufacturer gave it.",
    )

    def clean_signing_certificate(self) -> str:
        # A browser's textarea sends CRLF line ends; PEM is written with LF, ending in one.
        certificate = self.cleaned_data["signing_certificate"].replace("\r\n", "\n").strip()
        return f"{certificate}\n" if certificate else ""

    def clean_signature(self) -> str:
        return "".join(self.cleaned_data["signature"].split())  # base64 wrapped over lines: one line

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        certificate, signature = cleaned.get("signing_certificate"), cleaned.get("signature")
        if bool(certificate) != bool(signature):
            raise ValidationError("A signed update needs both the signing certificate and the signature.")
        if certificate and "-----BEGIN CERTIFICATE-----" not in certificate:
            self.add_error("signing_certificate", "Give the certificate in PEM form (-----BEGIN CERTIFICATE-----).")
        return cleaned

    def intent_fields(self) -> dict[str, Any]:
        return {**super().intent_fields(), "retrieve_at": self.cleaned_data.get("retrieve_at") or timezone.now()}


class GetDiagnosticsForm(CommandForm):
    intent_type = GetDiagnostics
    location = _location_field("Where the charger uploads the file (HTTP(S), FTP(S) or SFTP).")


class GetLogForm(CommandForm):
    intent_type = GetLog
    help_text = "The charger uploads one file and reports the upload's progress, shown on the command."
    log_type = forms.ChoiceField(
        label="Log", choices=[(LogType.DIAGNOSTICS, "Diagnostics log"), (LogType.SECURITY, "Security log")]
    )
    location = _location_field("Where the charger uploads the file (HTTP(S), FTP(S) or SFTP).")
    oldest = forms.DateTimeField(label="From", required=False, help_text="Empty: the oldest entries it has.")
    latest = forms.DateTimeField(label="Until", required=False, help_text="Empty: up to now.")
    retries = forms.IntegerField(min_value=0, required=False)
    retry_interval = forms.IntegerField(label="Retry interval", min_value=0, required=False, help_text="Seconds.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        oldest, latest = cleaned.get("oldest"), cleaned.get("latest")
        if oldest and latest and oldest > latest:
            self.add_error("latest", "The end of the period comes after its start.")
        return cleaned


class GetCompositeScheduleForm(CommandForm):
    intent_type = GetCompositeSchedule
    connector = connector_field(allow_zero=True)
    duration = forms.IntegerField(min_value=1, initial=3600, help_text="Seconds.")
    rate_unit = forms.ChoiceField(
        label="Rate unit", choices=[("", "As the charger likes"), ("W", "W"), ("A", "A")], required=False
    )


# --- Operations only some versions have (today: 2.0.1) ----------------------------------------


class GetTransactionStatusForm(CommandForm):
    intent_type = GetTransactionStatus
    transaction_id = forms.CharField(
        max_length=36, required=False, help_text="Empty: only whether the charger has transaction messages queued."
    )


class RequestReportForm(CommandForm):
    intent_type = RequestReport
    help_text = "The report arrives later, in the charger's own messages."
    base = forms.ChoiceField(
        label="Report",
        choices=[
            (ReportBase.CONFIGURATION_INVENTORY, "Configuration inventory"),
            (ReportBase.FULL_INVENTORY, "Full inventory"),
            (ReportBase.SUMMARY_INVENTORY, "Summary inventory"),
        ],
    )


class SetMonitoringBaseForm(CommandForm):
    intent_type = SetMonitoringBase
    base = forms.ChoiceField(
        label="Monitors kept",
        choices=[
            (MonitoringBase.ALL_MONITORS, "All"),
            (MonitoringBase.FACTORY_DEFAULT, "Factory defaults"),
            (MonitoringBase.HARD_WIRED_ONLY, "Hard-wired only"),
        ],
    )


class ClearVariableMonitoringForm(CommandForm):
    intent_type = ClearVariableMonitoring
    monitor_ids = WholeNumbersField(label="Monitor ids", help_text="Comma-separated ids the charger gave its monitors.")


class CostUpdatedForm(CommandForm):
    intent_type = CostUpdated
    help_text = "The charger shows the cost to the driver; it does not change what is billed here."
    transaction_id = forms.CharField(
        label="Transaction", max_length=36, help_text="The charger's id of the session's transaction."
    )
    total_cost = forms.FloatField(
        label="Cost so far",
        min_value=0,
        help_text="The session's running total, in the currency the charger is set up with.",
    )


SECURE_PROFILES = (SecurityProfile.TLS_BASIC, SecurityProfile.TLS_CLIENT_CERT)


class SetNetworkProfileForm(CommandForm):
    intent_type = SetNetworkProfile
    help_text = (
        "Stores a connection to a central system in one of the charger's slots. The charger uses it "
        "only once its network priority setting lists the slot; a wrong connection there can cut it off."
    )
    slot = forms.IntegerField(
        label="Configuration slot", min_value=0, help_text="The charger's slot the connection is stored in."
    )
    csms_url = forms.CharField(
        label="Central system address",
        max_length=512,
        help_text="The WebSocket address the charger connects to: ws://... or, with TLS (profiles 2 and 3), wss://...",
    )
    protocol_version = forms.ChoiceField(
        label="Protocol version",
        choices=OcppVersion.choices,
        initial=OcppVersion.V201,
        help_text="The OCPP version the charger speaks at that address.",
    )
    security_profile = forms.TypedChoiceField(
        label="Security profile",
        choices=[(value, label) for value, label in SecurityProfile.choices if value != SecurityProfile.NONE],
        coerce=int,
        help_text="Never lower than the charger's present profile.",
    )
    message_timeout = forms.IntegerField(
        label="Answer timeout",
        min_value=1,
        required=False,
        help_text="Seconds the charger waits for the central system's answer to a message. Empty: 30.",
    )
    wireless = forms.TypedChoiceField(
        label="Network interface",
        choices=[("wired", "Wired"), ("wireless", "Wireless")],
        coerce=lambda choice: choice == "wireless",
    )
    interface_number = forms.IntegerField(
        label="Interface number",
        min_value=0,
        max_value=3,
        required=False,
        help_text="Which of the charger's wired or wireless interfaces, counted from 0. Empty: 0.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        url = cleaned.get("csms_url")
        if url:
            parts = urlsplit(url)
            if parts.scheme not in ("ws", "wss") or not parts.hostname:
                self.add_error("csms_url", "Give a WebSocket address: ws://host/path or wss://host/path.")
            elif cleaned.get("security_profile") in SECURE_PROFILES and parts.scheme != "wss":
                self.add_error("csms_url", "Security profiles 2 and 3 use TLS: the address starts with wss://.")
        return cleaned

    def intent_fields(self) -> dict[str, Any]:
        connection = NetworkConnection(**self.values_for(NetworkConnection))
        return {**self.values_for(SetNetworkProfile), "connection": connection}


class RaiseSecurityProfileForm(CommandForm):
    intent_type = RaiseSecurityProfile
    help_text = (
        "The charger checks that it has what the new profile needs (a key; the central system's root "
        "certificate for TLS; its own certificate for profile 3), then reconnects with it. Until it has "
        "reconnected, its present profile still lets it in; after that, never again."
    )
    profile = forms.TypedChoiceField(
        label="New security profile",
        choices=[(value, label) for value, label in SecurityProfile.choices if value != SecurityProfile.NONE],
        coerce=int,
        help_text="Higher than the charger's present profile.",
    )


CUSTOMER_DATA_REQUESTS = {
    "report": (True, False),
    "report_and_clear": (True, True),
    "clear": (False, True),
}


class CustomerInformationForm(CommandForm):
    intent_type = CustomerInformation
    help_text = (
        "The charger sends what it holds about the customer later, in its own messages. "
        "Name the customer by an identifier or by an id token, not both."
    )
    request = forms.ChoiceField(
        label="Asked for",
        choices=[
            ("report", "Report what the charger holds"),
            ("report_and_clear", "Report it, then delete it"),
            ("clear", "Delete it"),
        ],
    )
    customer_identifier = forms.CharField(
        label="Customer identifier",
        max_length=64,
        required=False,
        help_text="The customer's identifier as the charger knows it, e.g. a contract id.",
    )
    id_token = forms.CharField(
        label="Id token", max_length=36, required=False, help_text="The customer's card or token."
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if bool(cleaned.get("customer_identifier")) == bool(cleaned.get("id_token")):
            raise ValidationError("Name the customer by exactly one of a customer identifier or an id token.")
        return cleaned

    def intent_fields(self) -> dict[str, Any]:
        report, clear = CUSTOMER_DATA_REQUESTS[self.cleaned_data["request"]]
        return {**super().intent_fields(), "report": report, "clear": clear}


MONITOR_KINDS = {
    MonitorKind.UPPER_THRESHOLD: "The value rising above a threshold",
    MonitorKind.LOWER_THRESHOLD: "The value falling below a threshold",
    MonitorKind.DELTA: "A change of the value by more than an amount",
    MonitorKind.PERIODIC: "Nothing: reports the value every period",
    MonitorKind.PERIODIC_CLOCK_ALIGNED: "Nothing: reports the value every period, aligned to the clock",
}
# The severity levels of OCPP 2.0.1 (part 2, "Severity levels"): 0 most severe.
SEVERITIES = (
    "Danger",
    "Hardware failure",
    "System failure",
    "Critical",
    "Error",
    "Alert",
    "Warning",
    "Notice",
    "Informational",
    "Debug",
)


class SetVariableMonitoringForm(CommandForm):
    intent_type = SetVariableMonitoring
    help_text = "One monitor per command. The charger reports what a monitor sees in its own messages."
    variable = forms.CharField(
        label="Setting watched",
        max_length=3 * DEVICE_MODEL_NAME_LENGTH + 2,
        help_text="Component.Variable, e.g. EVSE.Power; Component.Variable.Instance for one instance.",
    )
    monitor_kind = forms.ChoiceField(label="Watches for", choices=[("", "---------"), *MONITOR_KINDS.items()])
    value = forms.FloatField(
        label="Value",
        help_text="The threshold, the amount of change, or the period in seconds, as chosen above.",
    )
    severity = forms.TypedChoiceField(
        label="Severity",
        choices=[("", "---------"), *((level, f"{level} - {name}") for level, name in enumerate(SEVERITIES))],
        coerce=int,
    )
    monitor_id = forms.IntegerField(
        label="Replaces monitor",
        min_value=0,
        required=False,
        help_text="The id of an existing monitor this one replaces; empty for a new monitor.",
    )
    transaction_only = forms.BooleanField(label="Only during sessions", required=False)

    def clean_variable(self) -> str:
        variable: str = self.cleaned_data["variable"]
        check_variable_spelling(variable)
        return variable

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        kind, value = cleaned.get("monitor_kind"), cleaned.get("value")
        watches_change_or_time = kind in (MonitorKind.DELTA, MonitorKind.PERIODIC, MonitorKind.PERIODIC_CLOCK_ALIGNED)
        if watches_change_or_time and value is not None and value <= 0:
            self.add_error("value", "An amount of change or a period is more than 0.")
        return cleaned

    def intent_fields(self) -> dict[str, Any]:
        monitor = VariableMonitor(kind=self.cleaned_data["monitor_kind"], **self.values_for(VariableMonitor))
        return {"monitors": (monitor,)}


class GetMonitoringReportForm(CommandForm):
    intent_type = GetMonitoringReport
    help_text = "The report arrives later, in the charger's own messages. Nothing chosen: every monitor."
    variables = VariablesField(
        label="Settings",
        required=False,
        help_text="Comma-separated components (e.g. EVSE) or Component.Variable names; empty: all.",
    )
    criteria = forms.MultipleChoiceField(
        label="Monitors",
        choices=[
            (MonitoringCriterion.THRESHOLD, "Threshold monitors"),
            (MonitoringCriterion.DELTA, "Change (delta) monitors"),
            (MonitoringCriterion.PERIODIC, "Periodic monitors"),
        ],
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="None ticked: every kind.",
    )

    def intent_fields(self) -> dict[str, Any]:
        return {**super().intent_fields(), "criteria": tuple(self.cleaned_data["criteria"])}


# --- Certificates (1.6 security extension, 2.0.1 M03-M05) -------------------------------------

# The roots each version installs and lists (the codecs' tables, in neutral words): a 1.6 charger
# knows the central system's and the manufacturer's roots only.
ROOT_LABELS = {
    CertificateUse.CSMS_ROOT: "Central system root",
    CertificateUse.MANUFACTURER_ROOT: "Manufacturer root",
    CertificateUse.V2G_ROOT: "V2G root (ISO 15118)",
    CertificateUse.MO_ROOT: "Mobility operator root",
}
LISTED_LABELS = {**ROOT_LABELS, CertificateUse.V2G_CHAIN: "V2G certificate chain"}
V16_USES = (CertificateUse.CSMS_ROOT, CertificateUse.MANUFACTURER_ROOT)


class InstallCertificateForm(CommandForm):
    intent_type = InstallCertificate
    help_text = "A root certificate the charger then trusts (M05); its answer updates the inventory."
    use = forms.ChoiceField(label="Type", choices=list(ROOT_LABELS.items()))
    certificate = forms.CharField(
        label="Certificate (PEM)", widget=forms.Textarea(attrs={"rows": 8}), max_length=5500, strip=False
    )

    def clean_certificate(self) -> str:
        from cryptography import x509

        text = self.cleaned_data["certificate"]
        try:
            x509.load_pem_x509_certificate(text.encode())
        except ValueError:
            raise ValidationError("Give one X.509 certificate in PEM form.", code="certificate") from None
        return text


class InstallCertificateForm16(InstallCertificateForm):
    use = forms.ChoiceField(label="Type", choices=[(use, ROOT_LABELS[use]) for use in V16_USES])


class GetInstalledCertificateIdsForm(CommandForm):
    intent_type = GetInstalledCertificateIds
    help_text = "The charger lists the certificates it has installed (M03); the list updates the inventory."
    uses = forms.MultipleChoiceField(
        label="Types", choices=list(LISTED_LABELS.items()), required=False, help_text="None: all of them."
    )

    def intent_fields(self) -> dict[str, Any]:
        return {"uses": tuple(self.cleaned_data.get("uses") or ())}


class GetInstalledCertificateIdsForm16(CommandForm):
    intent_type = GetInstalledCertificateIds
    help_text = GetInstalledCertificateIdsForm.help_text
    use = forms.ChoiceField(label="Type", choices=[(use, ROOT_LABELS[use]) for use in V16_USES])

    def intent_fields(self) -> dict[str, Any]:
        return {"uses": (self.cleaned_data["use"],)}  # 1.6 lists one type at a time


class DeleteCertificateForm(CommandForm):
    intent_type = DeleteCertificate
    help_text = "Named as the charger lists it (the inventory shows these values, M04)."
    hash_algorithm = forms.ChoiceField(label="Hash algorithm", choices=[(a, a) for a in ("SHA256", "SHA384", "SHA512")])
    issuer_name_hash = forms.RegexField(label="Issuer name hash", regex=r"^[0-9a-fA-F]{1,128}$")
    issuer_key_hash = forms.RegexField(label="Issuer key hash", regex=r"^[0-9a-fA-F]{1,128}$")
    serial_number = forms.RegexField(label="Serial number (hex)", regex=r"^[0-9a-fA-F]{1,40}$")

    def intent_fields(self) -> dict[str, Any]:
        return {"certificate": CertificateHash(**self.values_for(CertificateHash))}


# Where a version offers other choices for the same intent: its own form.
VERSION_FORMS: dict[tuple[str, str], type[CommandForm]] = {
    (InstallCertificate.kind, OcppVersion.V16): InstallCertificateForm16,
    (GetInstalledCertificateIds.kind, OcppVersion.V16): GetInstalledCertificateIdsForm16,
}


COMMAND_FORMS: dict[str, type[CommandForm]] = {
    form.kind(): form
    for form in (
        ResetForm,
        UnlockForm,
        RemoteStartForm,
        RemoteStopForm,
        ChangeAvailabilityForm,
        ReadSettingsForm,
        ChangeSettingForm,
        ClearCacheForm,
        GetLocalListVersionForm,
        TriggerMessageForm,
        DataTransferForm,
        UpdateFirmwareForm,
        GetDiagnosticsForm,
        GetCompositeScheduleForm,
        GetTransactionStatusForm,
        RequestReportForm,
        SetMonitoringBaseForm,
        ClearVariableMonitoringForm,
        CostUpdatedForm,
        SetNetworkProfileForm,
        RaiseSecurityProfileForm,
        CustomerInformationForm,
        SetVariableMonitoringForm,
        GetMonitoringReportForm,
        GetLogForm,
        InstallCertificateForm,
        GetInstalledCertificateIdsForm,
        DeleteCertificateForm,
    )
}


def register_command_form(form: type[CommandForm]) -> None:
    """Let an app that knows more add or replace an intent's form (charging: remote start with
    a charging profile, clearing charging profiles); sites itself does not import those apps."""
    COMMAND_FORMS[form.kind()] = form


def command_forms_for(charger: Charger) -> dict[str, type[CommandForm]]:
    """The forms of the operations the charger's protocol version can carry (a 1.6 charger is
    not offered a 2.0.1 report, nor the other way round)."""
    kinds = intent_kinds_for(charger)
    return {
        kind: VERSION_FORMS.get((kind, charger.ocpp_version), form)
        for kind, form in COMMAND_FORMS.items()
        if kind in kinds
    }
