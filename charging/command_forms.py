"""Command forms that need the charging domain."""

from django import forms

from charging.models import ChargingProfile
from charging.smart_charging import profile_payload
from sites.command_forms import RemoteStartTransactionForm, register_command_form


class RemoteStartWithProfileForm(RemoteStartTransactionForm):
    """RemoteStartTransaction with an optional TxProfile (1.6 sec. 5.11). The profile carries
    no transactionId: the charger assigns it (1.6 errata 3.41)."""

    charging_profile = forms.ModelChoiceField(
        queryset=ChargingProfile.objects.filter(purpose=ChargingProfile.Purpose.TX),
        required=False,
        help_text="A TxProfile to apply to this transaction.",
    )

    def payload(self) -> dict:
        payload = super().payload()
        if self.cleaned_data.get("charging_profile"):
            payload["chargingProfile"] = profile_payload(self.cleaned_data["charging_profile"])
        return payload


def register() -> None:
    register_command_form(RemoteStartWithProfileForm)
