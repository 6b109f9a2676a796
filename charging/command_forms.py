"""Command forms that need the charging domain, built from the intent types like sites'."""

from typing import Any

from django import forms

from charging.models import ChargingProfile
from charging.smart_charging import profile_spec
from sites.command_forms import (
    CommandForm,
    RemoteStartForm,
    WholeNumbersField,
    connector_field,
    register_command_form,
)
from sites.commands.intents import ClearChargingProfile, GetChargingProfiles


class RemoteStartWithProfileForm(RemoteStartForm):
    """A remote start with an optional transaction profile. The profile carries no
    transaction id: the charger assigns it (1.6 errata 3.41)."""

    charging_profile = forms.ModelChoiceField(
        queryset=ChargingProfile.objects.filter(purpose=ChargingProfile.Purpose.TX),
        required=False,
        help_text="A profile for one transaction, applied to this one.",
    )

    def intent_fields(self) -> dict[str, Any]:
        fields = super().intent_fields()
        if self.cleaned_data.get("charging_profile"):
            fields["charging_profile"] = profile_spec(self.cleaned_data["charging_profile"])
        return fields


class ClearChargingProfileForm(CommandForm):
    intent_type = ClearChargingProfile
    help_text = "Every field narrows what is cleared; none clears all profiles."
    profile_id = forms.IntegerField(label="Profile id", min_value=1, required=False)
    connector = connector_field(required=False, allow_zero=True)
    purpose = forms.ChoiceField(choices=[("", "Any"), *ChargingProfile.Purpose.choices], required=False)
    stack_level = forms.IntegerField(min_value=0, required=False)


class GetChargingProfilesForm(CommandForm):
    intent_type = GetChargingProfiles
    help_text = (
        "The charger reports its profiles later, in its own messages. Every field narrows the report; "
        "none reports every profile."
    )
    evse = forms.IntegerField(
        label="EVSE",
        min_value=0,
        required=False,
        help_text="Empty: the profiles of every EVSE; 0: those of the charger as a whole.",
    )
    purpose = forms.ChoiceField(choices=[("", "Any"), *ChargingProfile.Purpose.choices], required=False)
    stack_level = forms.IntegerField(min_value=0, required=False)
    profile_ids = WholeNumbersField(
        label="Profile ids", required=False, help_text="Comma-separated ids of the profiles to report."
    )


def register() -> None:
    register_command_form(RemoteStartWithProfileForm)
    register_command_form(ClearChargingProfileForm)
    register_command_form(GetChargingProfilesForm)
