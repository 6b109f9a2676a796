import pytest
from django.contrib import admin
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.utils import timezone

from sites.admin import ChargerAdmin, ConfigurationInline
from sites.commands import request_command
from sites.commands.intents import ChangeSetting, Intent, ReadSettings
from sites.commands.outcomes import Outcome, OutcomeStatus, SettingValue
from sites.device_model.models import DeviceVariable
from sites.models import Charger, Command, ConfigurationKey
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db


def _run(charger: Charger, intent: Intent, outcome: Outcome) -> Command:
    return answer_command(request_command(charger=charger, intent=intent), outcome)


def test_get_configuration_result_becomes_the_snapshot():
    charger = ChargerFactory()
    _run(
        charger,
        ReadSettings(),
        Outcome(
            status=OutcomeStatus.ACCEPTED,
            settings=(
                SettingValue(key="HeartbeatInterval", value="300"),
                SettingValue(key="NumberOfConnectors", value="2", readonly=True),
                SettingValue(key="NoValueKey"),
            ),
            unknown_keys=("Foo",),
        ),
    )
    snapshot = {c.key: (c.value, c.readonly) for c in charger.configuration.all()}
    assert snapshot == {
        "HeartbeatInterval": ("300", False),
        "NumberOfConnectors": ("2", True),
        "NoValueKey": ("", False),
    }


@pytest.mark.parametrize(
    ("outcome", "stored"),
    [
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="Accepted"), "60"),
        (Outcome(status=OutcomeStatus.ACCEPTED, detail="RebootRequired"), "60"),
        (Outcome(status=OutcomeStatus.REJECTED, detail="Rejected"), "300"),
        (Outcome(status=OutcomeStatus.NOT_SUPPORTED, detail="NotSupported"), "300"),
    ],
)
def test_change_setting_updates_the_snapshot_only_when_accepted(outcome, stored):
    charger = ChargerFactory()
    ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    _run(charger, ChangeSetting(key="HeartbeatInterval", value="60"), outcome)
    assert charger.configuration.get(key="HeartbeatInterval").value == stored


def test_editing_a_value_in_the_admin_sends_change_configuration(admin_user):
    charger = ChargerFactory()
    entry = ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    ConfigurationKey.objects.create(charger=charger, key="NumberOfConnectors", value="2", readonly=True)
    request = RequestFactory().post("/")
    request.user = admin_user
    request.session = {}
    request._messages = FallbackStorage(request)
    inline = ConfigurationInline(Charger, admin.site)
    formset_class = inline.get_formset(request, charger)
    prefix = formset_class.get_default_prefix()
    rows = list(charger.configuration.order_by("key"))
    data = {f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": str(len(rows))}
    for index, row in enumerate(rows):
        data[f"{prefix}-{index}-id"] = str(row.pk)
        data[f"{prefix}-{index}-charger"] = str(charger.pk)
        data[f"{prefix}-{index}-value"] = "60" if row.pk == entry.pk else row.value
    formset = formset_class(data=data, instance=charger, prefix=prefix)
    assert formset.is_valid(), formset.errors
    ChargerAdmin(Charger, admin.site).save_formset(request, None, formset, change=True)

    command = Command.objects.get()
    assert (command.intent, command.fields) == (
        "change_setting",
        {"key": "HeartbeatInterval", "value": "60", "component": ""},
    )
    entry.refresh_from_db()
    assert entry.value == "300"  # until the charger accepts


def test_command_settled_is_sent_once_the_settlement_is_committed(django_capture_on_commit_callbacks):
    from django.utils import timezone

    from sites.commands import claim_next_command, settle_command
    from sites.signals import command_settled
    from sites.tests.helpers import ACCEPTED, neutral_encode

    received = []

    def receiver(sender, command, outcome, **kwargs):
        received.append((command.status, outcome))

    command_settled.connect(receiver)
    try:
        command = request_command(charger=ChargerFactory(), intent=ReadSettings())
        claim_next_command(charger_id=command.charger_id, message_id="m", at=timezone.now(), encode=neutral_encode)
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            settle_command(command_id=command.pk, at=timezone.now(), outcome=ACCEPTED)
        assert received == []  # not inside the transaction that settles it
        for callback in callbacks:
            callback()
        assert received == [("accepted", ACCEPTED)]
    finally:
        command_settled.disconnect(receiver)


def test_a_command_its_codec_cannot_encode_fails_and_the_next_one_is_sent():
    """The request-time check refuses what the charger's version cannot say; a charger whose
    version changed while its command waited gets it failed, not sent, and the queue goes on."""
    from django.utils import timezone

    from sites.commands import CannotEncode, claim_next_command
    from sites.commands.intents import ClearCache
    from sites.tests.helpers import neutral_encode

    def encode(intent, secret):
        if isinstance(intent, ReadSettings):
            raise CannotEncode("not on this version")
        return neutral_encode(intent, secret)

    charger = ChargerFactory()
    unsayable = request_command(charger=charger, intent=ReadSettings())
    sayable = request_command(charger=charger, intent=ClearCache())
    claimed = claim_next_command(charger_id=charger.pk, message_id="m", at=timezone.now(), encode=encode)
    assert claimed.id == sayable.pk
    unsayable.refresh_from_db()
    assert (unsayable.status, unsayable.error_description) == ("failed", "not on this version")


def _device_variable(charger: Charger, component: str, variable: str, value: str, **identity) -> DeviceVariable:
    return DeviceVariable.objects.create(
        charger=charger, component_name=component, variable_name=variable, value=value,
        reported_at=timezone.now(), **identity,
    )  # fmt: skip


def test_settings_read_and_changed_on_a_201_station_update_its_device_model():
    """B06/B05: what GetVariables read and an accepted SetVariables set is the variable's Actual
    value in the device model too; an EVSE's variable of the same name and the Target attribute
    are other rows, left alone."""
    charger = ChargerFactory(ocpp_version="2.0.1")
    interval = _device_variable(charger, "OCPPCommCtrlr", "HeartbeatInterval", "300")
    target = _device_variable(charger, "OCPPCommCtrlr", "HeartbeatInterval", "900", attribute_type="Target")
    phase = _device_variable(charger, "SampledDataCtrlr", "TxUpdatedMeasurands", "", variable_instance="Phase")
    of_an_evse = _device_variable(charger, "EVSE", "Power", "11000", evse_id=1)
    station_power = _device_variable(charger, "EVSE", "Power", "22000")
    _run(
        charger,
        ReadSettings(keys=("OCPPCommCtrlr.HeartbeatInterval",)),
        Outcome(
            status=OutcomeStatus.ACCEPTED,
            settings=(
                SettingValue(key="HeartbeatInterval", value="120", component="OCPPCommCtrlr"),
                SettingValue(key="TxUpdatedMeasurands.Phase", value="Energy", component="SampledDataCtrlr"),
            ),
        ),
    )
    _run(charger, ChangeSetting(key="Power", component="EVSE", value="7400"), Outcome(status=OutcomeStatus.ACCEPTED))
    _run(
        charger,
        ChangeSetting(key="OCPPCommCtrlr.HeartbeatInterval", value="60"),
        Outcome(status=OutcomeStatus.REJECTED),
    )
    values = {row.pk: row.value for row in DeviceVariable.objects.filter(charger=charger)}
    assert values == {
        interval.pk: "120", target.pk: "900", phase.pk: "Energy", of_an_evse.pk: "11000", station_power.pk: "7400",
    }  # fmt: skip
