"""One form per OCPP 1.6 command an operator sends from the admin (1.6 chapter 5); each
builds the request payload. Every command kind has its own permission (S16)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.roles import command_permission
from sites.commands.rules import PROTECTED_CONFIGURATION_KEYS, is_protected_configuration_key
from sites.validators import validate_remote_url


class CommandForm(forms.Form):
    action: str = ""
    kind: str = ""
    help_text = ""

    def payload(self) -> dict:
        return {}

    @classmethod
    def permission(cls) -> str:
        return command_permission(cls.kind)


def _connector_field(required: bool = True, *, allow_zero: bool = False) -> forms.IntegerField:
    help_text = "0 = the whole charger." if allow_zero else ""
    return forms.IntegerField(min_value=0 if allow_zero else 1, required=required, help_text=help_text)


def _location_field(help_text: str) -> forms.CharField:
    # Not a URLField: Django's URL validator knows no sftp; the same validator as the outbound
    # port's judges scheme and host (S20).
    return forms.CharField(max_length=500, validators=[validate_remote_url], help_text=help_text)


class ResetForm(CommandForm):
    action = "Reset"
    kind = "reset"
    type = forms.ChoiceField(choices=[("Soft", "Soft"), ("Hard", "Hard")])

    def payload(self) -> dict:
        return {"type": self.cleaned_data["type"]}


class UnlockConnectorForm(CommandForm):
    action = "UnlockConnector"
    kind = "unlock"
    connector_id = _connector_field()

    def payload(self) -> dict:
        return {"connectorId": self.cleaned_data["connector_id"]}


class RemoteStartTransactionForm(CommandForm):
    action = "RemoteStartTransaction"
    kind = "remote_start"
    id_tag = forms.CharField(max_length=20)
    connector_id = _connector_field(required=False)

    def payload(self) -> dict:
        payload = {"idTag": self.cleaned_data["id_tag"]}
        if self.cleaned_data.get("connector_id"):
            payload["connectorId"] = self.cleaned_data["connector_id"]
        return payload


class RemoteStopTransactionForm(CommandForm):
    action = "RemoteStopTransaction"
    kind = "remote_stop"
    transaction_id = forms.IntegerField(min_value=1)

    def payload(self) -> dict:
        return {"transactionId": self.cleaned_data["transaction_id"]}


class ChangeAvailabilityForm(CommandForm):
    action = "ChangeAvailability"
    kind = "change_availability"
    help_text = "A charger busy with a transaction answers Scheduled and changes once it ends."
    connector_id = _connector_field(allow_zero=True)
    type = forms.ChoiceField(choices=[("Operative", "Operative"), ("Inoperative", "Inoperative")])

    def payload(self) -> dict:
        return {"connectorId": self.cleaned_data["connector_id"], "type": self.cleaned_data["type"]}


class GetConfigurationForm(CommandForm):
    action = "GetConfiguration"
    kind = "read_settings"
    keys = forms.CharField(required=False, help_text="Comma-separated keys; empty for all.")

    def payload(self) -> dict:
        keys = [key.strip() for key in self.cleaned_data["keys"].split(",") if key.strip()]
        return {"key": keys} if keys else {}


class ChangeConfigurationForm(CommandForm):
    action = "ChangeConfiguration"
    kind = "change_setting"
    help_text = "The charger may answer RebootRequired: the value applies after a reset."
    key = forms.CharField(max_length=50)
    value = forms.CharField(max_length=500)

    def clean_key(self) -> str:
        key = self.cleaned_data["key"]
        if is_protected_configuration_key(key):
            raise ValidationError(PROTECTED_CONFIGURATION_KEYS[key.strip().lower()])
        return key

    def payload(self) -> dict:
        return {"key": self.cleaned_data["key"], "value": self.cleaned_data["value"]}


class ClearCacheForm(CommandForm):
    action = "ClearCache"
    kind = "clear_cache"


class GetLocalListVersionForm(CommandForm):
    action = "GetLocalListVersion"
    kind = "get_local_list_version"


class TriggerMessageForm(CommandForm):
    action = "TriggerMessage"
    kind = "trigger_message"
    requested_message = forms.ChoiceField(
        choices=[
            (name, name)
            for name in (
                "BootNotification",
                "DiagnosticsStatusNotification",
                "FirmwareStatusNotification",
                "Heartbeat",
                "MeterValues",
                "StatusNotification",
            )
        ]
    )
    connector_id = _connector_field(required=False, allow_zero=True)

    def payload(self) -> dict:
        payload = {"requestedMessage": self.cleaned_data["requested_message"]}
        if self.cleaned_data.get("connector_id") is not None:
            payload["connectorId"] = self.cleaned_data["connector_id"]
        return payload


class DataTransferForm(CommandForm):
    action = "DataTransfer"
    kind = "data_transfer"
    vendor_id = forms.CharField(max_length=255)
    message_id = forms.CharField(max_length=50, required=False)
    data = forms.CharField(required=False, widget=forms.Textarea)

    def payload(self) -> dict:
        payload = {"vendorId": self.cleaned_data["vendor_id"]}
        for field, key in (("message_id", "messageId"), ("data", "data")):
            if self.cleaned_data.get(field):
                payload[key] = self.cleaned_data[field]
        return payload


class UpdateFirmwareForm(CommandForm):
    action = "UpdateFirmware"
    kind = "update_firmware"
    location = _location_field("Where the charger downloads the firmware (HTTP(S), FTP(S) or SFTP).")
    retrieve_date = forms.DateTimeField(required=False, help_text="Empty: now.")
    retries = forms.IntegerField(min_value=0, required=False)

    def payload(self) -> dict:
        retrieve = self.cleaned_data.get("retrieve_date") or timezone.now()
        payload = {"location": self.cleaned_data["location"], "retrieveDate": retrieve.isoformat()}
        if self.cleaned_data.get("retries") is not None:
            payload["retries"] = self.cleaned_data["retries"]
        return payload


class GetDiagnosticsForm(CommandForm):
    action = "GetDiagnostics"
    kind = "get_diagnostics"
    location = _location_field("Where the charger uploads the file (HTTP(S), FTP(S) or SFTP).")

    def payload(self) -> dict:
        return {"location": self.cleaned_data["location"]}


class GetCompositeScheduleForm(CommandForm):
    action = "GetCompositeSchedule"
    kind = "get_composite_schedule"
    connector_id = _connector_field(allow_zero=True)
    duration = forms.IntegerField(min_value=1, initial=3600, help_text="Seconds.")
    charging_rate_unit = forms.ChoiceField(
        choices=[("", "As the charger likes"), ("W", "W"), ("A", "A")], required=False
    )

    def payload(self) -> dict:
        payload = {"connectorId": self.cleaned_data["connector_id"], "duration": self.cleaned_data["duration"]}
        if self.cleaned_data["charging_rate_unit"]:
            payload["chargingRateUnit"] = self.cleaned_data["charging_rate_unit"]
        return payload


class ClearChargingProfileForm(CommandForm):
    action = "ClearChargingProfile"
    kind = "clear_charging_profile"
    help_text = "Every field narrows what is cleared; none clears all profiles (1.6 sec. 6.13)."
    profile_id = forms.IntegerField(min_value=1, required=False)
    connector_id = _connector_field(required=False, allow_zero=True)
    purpose = forms.ChoiceField(
        choices=[("", "Any")] + [(name, name) for name in ("ChargePointMaxProfile", "TxDefaultProfile", "TxProfile")],
        required=False,
    )
    stack_level = forms.IntegerField(min_value=0, required=False)

    def payload(self) -> dict:
        fields = {"profile_id": "id", "connector_id": "connectorId", "purpose": "chargingProfilePurpose",
                  "stack_level": "stackLevel"}  # fmt: skip
        return {
            key: self.cleaned_data[name] for name, key in fields.items() if self.cleaned_data[name] not in (None, "")
        }


COMMAND_FORMS: dict[str, type[CommandForm]] = {
    form.action: form
    for form in (
        ResetForm,
        UnlockConnectorForm,
        RemoteStartTransactionForm,
        RemoteStopTransactionForm,
        ChangeAvailabilityForm,
        GetConfigurationForm,
        ChangeConfigurationForm,
        ClearCacheForm,
        GetLocalListVersionForm,
        TriggerMessageForm,
        DataTransferForm,
        UpdateFirmwareForm,
        GetDiagnosticsForm,
        GetCompositeScheduleForm,
        ClearChargingProfileForm,
    )
}


def register_command_form(form: type[CommandForm]) -> None:
    """Let an app that knows more replace a command's form (charging adds a charging profile
    to RemoteStartTransaction); sites itself does not import those apps."""
    COMMAND_FORMS[form.action] = form
