"""One admin form per operation an operator sends from a charger's page, built from the intent
types (sites.commands.intents): a form's fields are named after its intent's fields, its label
is the intent's title, and `intent()` builds the intent the outbound port stores. Each intent
kind has its own permission (S16). Nothing here knows a protocol version's words: the
charger's codec turns the intent into its wire call."""

import dataclasses
from typing import Any, ClassVar

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import command_permission
from sites.commands.intents import (
    ChangeAvailability,
    ChangeSetting,
    ClearCache,
    ClearVariableMonitoring,
    DataTransfer,
    GetCompositeSchedule,
    GetDiagnostics,
    GetLocalListVersion,
    GetTransactionStatus,
    Intent,
    MonitoringBase,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    ReportBase,
    RequestReport,
    Reset,
    SetMonitoringBase,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
)
from sites.commands.rules import intent_kinds_for, is_protected_configuration_key, protected_key_message
from sites.models import Charger
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

    def intent_fields(self) -> dict[str, Any]:
        """The intent's fields the form filled in; a field left empty keeps the intent's default."""
        names = {field.name for field in dataclasses.fields(self.intent_type)}
        return {name: value for name, value in self.cleaned_data.items() if name in names and value not in (None, "")}

    def intent(self) -> Intent:
        """The intent of a valid form."""
        return self.intent_type(**self.intent_fields())


def connector_field(required: bool = True, *, allow_zero: bool = False) -> forms.IntegerField:
    help_text = "0 = the whole charger." if allow_zero else ""
    return forms.IntegerField(min_value=0 if allow_zero else 1, required=required, help_text=help_text)


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
    # The length of the id tags this system stores for 1.6 chargers (charging.LocalListEntry).
    id_token = forms.CharField(label="Id token", max_length=20)
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
    location = _location_field("Where the charger downloads the firmware (HTTP(S), FTP(S) or SFTP).")
    retrieve_at = forms.DateTimeField(label="Retrieve at", required=False, help_text="Empty: now.")
    retries = forms.IntegerField(min_value=0, required=False)

    def intent_fields(self) -> dict[str, Any]:
        return {**super().intent_fields(), "retrieve_at": self.cleaned_data.get("retrieve_at") or timezone.now()}


class GetDiagnosticsForm(CommandForm):
    intent_type = GetDiagnostics
    location = _location_field("Where the charger uploads the file (HTTP(S), FTP(S) or SFTP).")


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
    monitor_ids = forms.CharField(label="Monitor ids", help_text="Comma-separated ids the charger gave its monitors.")

    def clean_monitor_ids(self) -> tuple[int, ...]:
        parts = [part.strip() for part in self.cleaned_data["monitor_ids"].split(",") if part.strip()]
        if not parts or not all(part.isdigit() for part in parts):
            raise ValidationError("Give one or more whole numbers, separated by commas.")
        return tuple(int(part) for part in parts)


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
    return {kind: form for kind, form in COMMAND_FORMS.items() if kind in kinds}
