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
    DataTransfer,
    GetCompositeSchedule,
    GetDiagnostics,
    GetLocalListVersion,
    Intent,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    Reset,
    TriggerableMessage,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
)
from sites.commands.rules import PROTECTED_CONFIGURATION_KEYS, is_protected_configuration_key
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


class UnlockForm(CommandForm):
    intent_type = Unlock
    connector = connector_field()


class RemoteStartForm(CommandForm):
    intent_type = RemoteStart
    # The length of the id tags this system stores for 1.6 chargers (charging.LocalListEntry).
    id_token = forms.CharField(label="Id token", max_length=20)
    connector = connector_field(required=False)


class RemoteStopForm(CommandForm):
    intent_type = RemoteStop
    transaction_id = forms.IntegerField(min_value=1, help_text="The charger's id of the session's transaction.")

    def intent_fields(self) -> dict[str, Any]:
        # Neutral transaction ids are text (2.0.1 uses strings); 1.6 chargers count them.
        return {"transaction_id": str(self.cleaned_data["transaction_id"])}


class ChangeAvailabilityForm(CommandForm):
    intent_type = ChangeAvailability
    help_text = (
        "A charger busy with a session may answer that the change is scheduled: it changes once the session ends."
    )
    connector = connector_field(allow_zero=True)
    operative = forms.TypedChoiceField(
        label="Availability",
        choices=[("operative", "Operative"), ("inoperative", "Inoperative")],
        coerce=lambda choice: choice == "operative",
    )


class ReadSettingsForm(CommandForm):
    intent_type = ReadSettings
    keys = forms.CharField(required=False, help_text="Comma-separated keys; empty for all.")

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
            raise ValidationError(PROTECTED_CONFIGURATION_KEYS[key.strip().lower()])
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
    )
}


def register_command_form(form: type[CommandForm]) -> None:
    """Let an app that knows more add or replace an intent's form (charging: remote start with
    a charging profile, clearing charging profiles); sites itself does not import those apps."""
    COMMAND_FORMS[form.kind()] = form
