"""The admin's command forms are built from the intent types: each names its intent's fields,
takes its label from the intent's title and builds the intent."""

import datetime as dt

import pytest

from sites.command_forms import COMMAND_FORMS
from sites.commands import intents as i


@pytest.mark.parametrize(
    ("kind", "data", "intent"),
    [
        ("reset", {"hard": "hard"}, i.Reset(hard=True)),
        ("reset", {"hard": "soft"}, i.Reset(hard=False)),
        ("unlock", {"connector": 2}, i.Unlock(connector=2)),
        ("remote_start", {"id_token": "TAG", "connector": 1}, i.RemoteStart(id_token="TAG", connector=1)),
        ("remote_start", {"id_token": "TAG"}, i.RemoteStart(id_token="TAG")),
        ("remote_stop", {"transaction_id": 42}, i.RemoteStop(transaction_id="42")),
        (
            "change_availability",
            {"connector": 0, "operative": "inoperative"},
            i.ChangeAvailability(connector=0, operative=False),
        ),
        ("read_settings", {"keys": "HeartbeatInterval, MeterValueSampleInterval"},
         i.ReadSettings(keys=("HeartbeatInterval", "MeterValueSampleInterval"))),
        ("read_settings", {"keys": ""}, i.ReadSettings()),
        ("change_setting", {"key": "HeartbeatInterval", "value": "60"},
         i.ChangeSetting(key="HeartbeatInterval", value="60")),
        ("clear_cache", {}, i.ClearCache()),
        ("get_local_list_version", {}, i.GetLocalListVersion()),
        ("trigger_message", {"message": "status", "connector": 0},
         i.TriggerMessage(message=i.TriggerableMessage.STATUS, connector=0)),
        ("trigger_message", {"message": "heartbeat"}, i.TriggerMessage(message=i.TriggerableMessage.HEARTBEAT)),
        ("data_transfer", {"vendor_id": "com.example", "data": "x"}, i.DataTransfer(vendor_id="com.example", data="x")),
        ("get_diagnostics", {"location": "sftp://logs.example.com/in/"},
         i.GetDiagnostics(location="sftp://logs.example.com/in/")),
        ("update_firmware",
         {"location": "https://fw.example.com/f.bin", "retrieve_at": "2030-01-02 03:04", "retries": 2},
         i.UpdateFirmware(location="https://fw.example.com/f.bin", retries=2,
                          retrieve_at=dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.UTC))),
        ("get_composite_schedule", {"connector": 0, "duration": 600, "rate_unit": "A"},
         i.GetCompositeSchedule(connector=0, duration=600, rate_unit="A")),
        ("get_composite_schedule", {"connector": 1, "duration": 600, "rate_unit": ""},
         i.GetCompositeSchedule(connector=1, duration=600)),
        ("clear_charging_profile", {"purpose": "TxProfile", "stack_level": 2},
         i.ClearChargingProfile(purpose="TxProfile", stack_level=2)),
        ("clear_charging_profile", {}, i.ClearChargingProfile()),
    ],
)  # fmt: skip
def test_each_form_builds_its_intent(kind, data, intent):
    form = COMMAND_FORMS[kind](data)
    assert form.is_valid(), form.errors
    assert form.intent() == intent


def test_firmware_is_retrieved_now_unless_a_time_is_given():
    form = COMMAND_FORMS["update_firmware"]({"location": "https://fw.example.com/f.bin"})
    assert form.is_valid(), form.errors
    assert abs(form.intent().retrieve_at - dt.datetime.now(dt.UTC)) < dt.timedelta(minutes=1)


def test_forms_are_keyed_labelled_and_permitted_by_their_intent():
    for kind, form in COMMAND_FORMS.items():
        intent_type = i.INTENT_TYPES[kind]
        assert (form.kind(), form.title(), form.permission()) == (kind, intent_type.title, f"sites.send_{kind}")
    # The raw call and the key rotation have no form: experts use the API, the rotation its own action.
    assert not {"raw", "rotate_key"} & set(COMMAND_FORMS)


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("unlock", {"connector": 0}, "connector"),
        ("remote_stop", {"transaction_id": ""}, "transaction_id"),
        ("change_setting", {"key": "AuthorizationKey", "value": "x"}, "key"),
        ("get_diagnostics", {"location": "file:///etc/passwd"}, "location"),
        ("trigger_message", {"message": "self_destruct"}, "message"),
    ],
)
def test_bad_input_is_a_form_error(kind, data, field):
    form = COMMAND_FORMS[kind](data)
    assert not form.is_valid()
    assert form.errors[field]
