"""The admin's command forms are built from the intent types: each names its intent's fields,
takes its label from the intent's title and builds the intent."""

import datetime as dt
import re

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
        # Operations only OCPP 2.0.1 has.
        ("clear_variable_monitoring", {"monitor_ids": "4, 5"}, i.ClearVariableMonitoring(monitor_ids=(4, 5))),
        ("cost_updated", {"transaction_id": "TX-9", "total_cost": "12.5"},
         i.CostUpdated(transaction_id="TX-9", total_cost=12.5)),
        ("set_network_profile",
         {"slot": 2, "csms_url": "wss://csms.example.com/ocpp", "protocol_version": "2.0.1", "security_profile": "2",
          "wireless": "wired"},
         i.SetNetworkProfile(slot=2, connection=i.NetworkConnection(
             csms_url="wss://csms.example.com/ocpp", protocol_version="2.0.1", security_profile=2))),
        ("set_network_profile",
         {"slot": 1, "csms_url": "ws://csms.example.com/ocpp", "protocol_version": "1.6", "security_profile": "1",
          "message_timeout": 60, "wireless": "wireless", "interface_number": 1},
         i.SetNetworkProfile(slot=1, connection=i.NetworkConnection(
             csms_url="ws://csms.example.com/ocpp", protocol_version="1.6", security_profile=1, message_timeout=60,
             wireless=True, interface_number=1))),
        ("customer_information", {"request": "report", "id_token": "TAG"}, i.CustomerInformation(id_token="TAG")),
        ("customer_information", {"request": "report_and_clear", "customer_identifier": "C-1"},
         i.CustomerInformation(customer_identifier="C-1", report=True, clear=True)),
        ("customer_information", {"request": "clear", "id_token": "TAG"},
         i.CustomerInformation(id_token="TAG", report=False, clear=True)),
        ("get_charging_profiles", {}, i.GetChargingProfiles()),
        ("get_charging_profiles", {"evse": 1, "purpose": "TxDefaultProfile", "stack_level": 0, "profile_ids": "3,4"},
         i.GetChargingProfiles(evse=1, purpose="TxDefaultProfile", stack_level=0, profile_ids=(3, 4))),
        ("set_variable_monitoring",
         {"variable": "EVSE.Power", "monitor_kind": "upper_threshold", "value": "22000", "severity": "4"},
         i.SetVariableMonitoring(monitors=(
             i.VariableMonitor(variable="EVSE.Power", kind=i.MonitorKind.UPPER_THRESHOLD, value=22000, severity=4),))),
        ("set_variable_monitoring",
         {"variable": "EVSE.Power.Offered", "monitor_kind": "periodic", "value": "60", "severity": "0",
          "monitor_id": 7, "transaction_only": "on"},
         i.SetVariableMonitoring(monitors=(
             i.VariableMonitor(variable="EVSE.Power.Offered", kind=i.MonitorKind.PERIODIC, value=60, severity=0,
                               monitor_id=7, transaction_only=True),))),
        ("get_monitoring_report", {}, i.GetMonitoringReport()),
        ("get_monitoring_report", {"variables": "EVSE, OCPPCommCtrlr.HeartbeatInterval", "criteria": ["delta"]},
         i.GetMonitoringReport(variables=("EVSE", "OCPPCommCtrlr.HeartbeatInterval"),
                               criteria=(i.MonitoringCriterion.DELTA,))),
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


NETWORK_PROFILE = {
    "slot": 1,
    "csms_url": "wss://csms.example.com/ocpp",
    "protocol_version": "2.0.1",
    "security_profile": "2",
    "wireless": "wired",
}
MONITOR = {"variable": "EVSE.Power", "monitor_kind": "upper_threshold", "value": "22000", "severity": "4"}


def test_the_valid_examples_of_the_bad_input_cases_are_valid():
    """The bad inputs below each change one field of these."""
    assert COMMAND_FORMS["set_network_profile"](NETWORK_PROFILE).is_valid()
    assert COMMAND_FORMS["set_variable_monitoring"](MONITOR).is_valid()


def test_forms_speak_the_domains_words():
    """Labels and help texts name no wire field (camelCase words such as configurationSlot)."""
    for kind, form in COMMAND_FORMS.items():
        texts = [form.help_text] + [str(f.label or "") + " " + str(f.help_text) for f in form.base_fields.values()]
        assert not [text for text in texts if re.search(r"\b[a-z]+[A-Z]", text)], kind


@pytest.mark.parametrize(
    ("kind", "data", "field"),
    [
        ("unlock", {"connector": 0}, "connector"),
        ("remote_stop", {"transaction_id": ""}, "transaction_id"),
        ("change_setting", {"key": "AuthorizationKey", "value": "x"}, "key"),
        ("get_diagnostics", {"location": "file:///etc/passwd"}, "location"),
        ("trigger_message", {"message": "self_destruct"}, "message"),
        ("clear_variable_monitoring", {"monitor_ids": "4, x"}, "monitor_ids"),
        ("cost_updated", {"transaction_id": "TX-9", "total_cost": "-1"}, "total_cost"),
        ("set_network_profile", {**NETWORK_PROFILE, "csms_url": "https://csms.example.com/ocpp"}, "csms_url"),
        ("set_network_profile", {**NETWORK_PROFILE, "csms_url": "ws://csms.example.com/ocpp"}, "csms_url"),
        ("set_network_profile", {**NETWORK_PROFILE, "security_profile": "0"}, "security_profile"),
        ("set_network_profile", {**NETWORK_PROFILE, "interface_number": 4}, "interface_number"),
        ("customer_information", {"request": "report"}, "__all__"),
        ("customer_information", {"request": "report", "id_token": "TAG", "customer_identifier": "C-1"}, "__all__"),
        ("get_charging_profiles", {"profile_ids": "3, three"}, "profile_ids"),
        ("get_charging_profiles", {"purpose": "Cheapest"}, "purpose"),
        ("set_variable_monitoring", {**MONITOR, "variable": "EVSE"}, "variable"),
        ("set_variable_monitoring", {**MONITOR, "variable": "EVSE..Power"}, "variable"),
        ("set_variable_monitoring", {**MONITOR, "monitor_kind": "sometimes"}, "monitor_kind"),
        ("set_variable_monitoring", {**MONITOR, "monitor_kind": "periodic", "value": "0"}, "value"),
        ("set_variable_monitoring", {**MONITOR, "severity": "10"}, "severity"),
        ("get_monitoring_report", {"variables": "EVSE, .Power"}, "variables"),
        ("get_monitoring_report", {"criteria": ["hard_wired"]}, "criteria"),
    ],
)
def test_bad_input_is_a_form_error(kind, data, field):
    form = COMMAND_FORMS[kind](data)
    assert not form.is_valid()
    assert form.errors[field]
