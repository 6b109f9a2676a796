"""Command forms that need the charging domain."""

from django import forms

from charging.models import ChargingProfile
from charging.smart_charging import profile_spec
from sites.command_forms import RemoteStartTransactionForm, register_command_form
from sites.commands.intents import RemoteStart


class RemoteStartWithProfileForm(RemoteStartTransactionForm):
    """RemoteStartTransaction with an optional TxProfile (1.6 sec. 5.11). The profile carries
    no transactionId: the charger assigns it (1.6 errata 3.41)."""

    charging_profile = forms.ModelChoiceField(
        queryset=ChargingProfile.objects.filter(purpose=ChargingProfile.Purpose.TX),
        required=False,
        help_text="A TxProfile to apply to this transaction.",
    )

    def intent(self) -> RemoteStart:
        """The remote start with its profile (the admin queues a form's intent when it has one)."""
        profile = self.cleaned_data.get("charging_profile")
        return RemoteStart(
            id_token=self.cleaned_data["id_tag"],
            connector=self.cleaned_data.get("connector_id") or None,
            charging_profile=profile_spec(profile) if profile else None,
        )


def register() -> None:
    register_command_form(RemoteStartWithProfileForm)
