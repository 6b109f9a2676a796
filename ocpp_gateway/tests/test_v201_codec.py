"""The 2.0.1 codec (OCPP 2.0.1 edition 3, part 2): every intent to its CALL, each valid against the
official request schema; every kind of answer to a neutral Outcome; raw 2.0.1 calls read back as
intents only when nothing is lost; the key rotation's secret never in the stored payload."""

import datetime as dt

import pytest

from ocpp_gateway.rpc import CallErrorReply
from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16 import codec as v16_codec
from ocpp_gateway.v201 import codec as v201_codec
from ocpp_gateway.v201.codec import SUPPORTED_INTENTS, decode, derived_id, encode, read
from sites.commands import CannotEncode
from sites.commands import intents as i
from sites.commands.outcomes import OutcomeStatus, SettingValue
from sites.commands.rules import SECRET_MASK

AT = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
SPEC = i.ChargingProfileSpec(
    profile_id=3, stack_level=1, purpose="TxProfile", kind="Absolute", rate_unit="A",
    periods=(i.SchedulePeriod(start=0, limit=16), i.SchedulePeriod(start=600, limit=10, phases=3)),
)  # fmt: skip
MAX_SPEC = i.ChargingProfileSpec(
    profile_id=9, stack_level=0, purpose="ChargePointMaxProfile", kind="Recurring", recurrency="Daily",
    rate_unit="W", periods=(i.SchedulePeriod(start=0, limit=22000),), start_schedule=AT, duration=86400,
    valid_from=AT, min_rate=1000,
)  # fmt: skip
BODY = {
    "id": 3,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": [
        {
            "id": 3,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [
                {"startPeriod": 0, "limit": 16},
                {"startPeriod": 600, "limit": 10, "numberPhases": 3},
            ],
        }
    ],
}
CARD = {"idToken": "TAG", "type": "ISO14443"}

# intent -> the 2.0.1 CALL
from ocpp_gateway.tests.test_certificates_codec import CALLS_201 as CERTIFICATE_CALLS  # noqa: E402

CALLS = [
    *CERTIFICATE_CALLS,
    (
        i.RemoteStart(id_token="TAG", connector=1, remote_start_id=7),
        (
            "RequestStartTransaction",
            {"evseId": 1, "remoteStartId": 7, "idToken": {"idToken": "TAG", "type": "Central"}},
        ),
    ),
    (
        i.RemoteStart(id_token="TAG", evse=2, remote_start_id=8, charging_profile=SPEC),
        (
            "RequestStartTransaction",
            {
                "evseId": 2,
                "remoteStartId": 8,
                "idToken": {"idToken": "TAG", "type": "Central"},
                "chargingProfile": BODY,
            },
        ),
    ),
    (i.RemoteStop(transaction_id="a1b2-c3"), ("RequestStopTransaction", {"transactionId": "a1b2-c3"})),
    (i.Unlock(evse=1, connector=2), ("UnlockConnector", {"evseId": 1, "connectorId": 2})),
    (i.Reset(hard=True), ("Reset", {"type": "Immediate"})),
    (i.Reset(evse=2), ("Reset", {"type": "OnIdle", "evseId": 2})),
    (i.ChangeAvailability(operative=False), ("ChangeAvailability", {"operationalStatus": "Inoperative"})),
    (
        i.ChangeAvailability(operative=True, connector=2),
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 2}}),
    ),
    (
        i.ChangeAvailability(operative=True, evse=1, connector=2),
        ("ChangeAvailability", {"operationalStatus": "Operative", "evse": {"id": 1, "connectorId": 2}}),
    ),
    (
        i.ReadSettings(keys=("OCPPCommCtrlr.HeartbeatInterval", "SampledDataCtrlr.TxUpdatedMeasurands.Phase")),
        (
            "GetVariables",
            {
                "getVariableData": [
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                    {
                        "component": {"name": "SampledDataCtrlr"},
                        "variable": {"name": "TxUpdatedMeasurands", "instance": "Phase"},
                    },
                ]
            },
        ),
    ),
    (
        i.ChangeSetting(key="HeartbeatInterval", value="60", component="OCPPCommCtrlr"),
        (
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "attributeValue": "60",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        ),
    ),
    (
        i.ChangeSetting(key="OCPPCommCtrlr.HeartbeatInterval", value="60"),
        (
            "SetVariables",
            {
                "setVariableData": [
                    {
                        "attributeValue": "60",
                        "component": {"name": "OCPPCommCtrlr"},
                        "variable": {"name": "HeartbeatInterval"},
                    }
                ]
            },
        ),
    ),
    (i.ClearCache(), ("ClearCache", {})),
    (
        i.TriggerMessage(message="status", evse=1, connector=1),
        ("TriggerMessage", {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}),
    ),
    (i.TriggerMessage(message="boot"), ("TriggerMessage", {"requestedMessage": "BootNotification"})),
    (i.TriggerMessage(message="heartbeat"), ("TriggerMessage", {"requestedMessage": "Heartbeat"})),
    (
        i.TriggerMessage(message="meter_values", connector=1),
        ("TriggerMessage", {"requestedMessage": "MeterValues", "evse": {"id": 1}}),
    ),
    (
        i.TriggerMessage(message="firmware_status"),
        ("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}),
    ),
    (
        i.TriggerMessage(message="diagnostics_status"),
        ("TriggerMessage", {"requestedMessage": "LogStatusNotification"}),
    ),
    (
        i.Reserve(reservation_id=5, id_token="TAG", expires_at=AT, connector=1, parent_id_token="GROUP"),
        (
            "ReserveNow",
            {
                "id": 5,
                "expiryDateTime": "2026-03-01T12:30:00Z",
                "idToken": CARD,
                "evseId": 1,
                "groupIdToken": {"idToken": "GROUP", "type": "Central"},
            },
        ),
    ),
    (
        i.Reserve(reservation_id=6, id_token="TAG", expires_at=AT),
        ("ReserveNow", {"id": 6, "expiryDateTime": "2026-03-01T12:30:00Z", "idToken": CARD}),
    ),
    (  # a token of another kind than a card is reserved as that kind (IdTokenType)
        i.Reserve(reservation_id=7, id_token="1234", expires_at=AT, token_type="KeyCode"),
        (
            "ReserveNow",
            {"id": 7, "expiryDateTime": "2026-03-01T12:30:00Z", "idToken": {"idToken": "1234", "type": "KeyCode"}},
        ),
    ),
    (i.CancelReservation(reservation_id=5), ("CancelReservation", {"reservationId": 5})),
    (
        i.SetChargingProfile(
            profile=i.ChargingProfileSpec(
                profile_id=3,
                stack_level=1,
                purpose="TxProfile",
                kind="Absolute",
                rate_unit="A",
                periods=SPEC.periods,
                transaction_id="tx-1",
            ),
            connector=1,
        ),
        ("SetChargingProfile", {"evseId": 1, "chargingProfile": {**BODY, "transactionId": "tx-1"}}),
    ),
    (
        i.SetChargingProfile(profile=MAX_SPEC),
        (
            "SetChargingProfile",
            {
                "evseId": 0,
                "chargingProfile": {
                    "id": 9,
                    "stackLevel": 0,
                    "chargingProfilePurpose": "ChargingStationMaxProfile",
                    "chargingProfileKind": "Recurring",
                    "recurrencyKind": "Daily",
                    "validFrom": "2026-03-01T12:30:00Z",
                    "chargingSchedule": [
                        {
                            "id": 9,
                            "startSchedule": "2026-03-01T12:30:00Z",
                            "duration": 86400,
                            "chargingRateUnit": "W",
                            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 22000}],
                            "minChargingRate": 1000,
                        }
                    ],
                },
            },
        ),
    ),
    (i.ClearChargingProfile(profile_id=3), ("ClearChargingProfile", {"chargingProfileId": 3})),
    (
        i.ClearChargingProfile(purpose="TxDefaultProfile", stack_level=2, connector=0),
        (
            "ClearChargingProfile",
            {"chargingProfileCriteria": {"evseId": 0, "chargingProfilePurpose": "TxDefaultProfile", "stackLevel": 2}},
        ),
    ),
    (
        i.GetCompositeSchedule(connector=0, duration=600, rate_unit="A"),
        ("GetCompositeSchedule", {"duration": 600, "chargingRateUnit": "A", "evseId": 0}),
    ),
    (
        i.SendLocalList(
            version=2,
            differential=True,
            entries=(
                i.LocalAuthorization(id_token="A", status="Blocked", expires_at=AT, parent_id_token="P"),
                i.LocalAuthorization(id_token="B"),
                i.LocalAuthorization(id_token="NL-ABC-C12345678-X", token_type="eMAID"),
                i.LocalAuthorization(id_token="VIP", status="Accepted", priority=9),
            ),
        ),
        (
            "SendLocalList",
            {
                "versionNumber": 2,
                "updateType": "Differential",
                "localAuthorizationList": [
                    {
                        "idToken": {"idToken": "A", "type": "ISO14443"},
                        "idTokenInfo": {
                            "status": "Blocked",
                            "cacheExpiryDateTime": "2026-03-01T12:30:00Z",
                            "groupIdToken": {"idToken": "P", "type": "Central"},
                        },
                    },
                    {"idToken": {"idToken": "B", "type": "ISO14443"}},
                    {"idToken": {"idToken": "NL-ABC-C12345678-X", "type": "eMAID"}},
                    {
                        "idToken": {"idToken": "VIP", "type": "ISO14443"},
                        "idTokenInfo": {"status": "Accepted", "chargingPriority": 9},
                    },
                ],
            },
        ),
    ),
    (i.SendLocalList(version=3), ("SendLocalList", {"versionNumber": 3, "updateType": "Full"})),
    (i.GetLocalListVersion(), ("GetLocalListVersion", {})),
    (
        i.UpdateFirmware(location="https://fw.example.com/f.bin", retrieve_at=AT, retries=2, request_id=11),
        (
            "UpdateFirmware",
            {
                "retries": 2,
                "requestId": 11,
                "firmware": {"location": "https://fw.example.com/f.bin", "retrieveDateTime": "2026-03-01T12:30:00Z"},
            },
        ),
    ),
    (
        i.GetLog(location="https://logs.example.com/sec", log_type=i.LogType.SECURITY, latest=AT, request_id=13),
        (
            "GetLog",
            {
                "log": {"remoteLocation": "https://logs.example.com/sec", "latestTimestamp": "2026-03-01T12:30:00Z"},
                "logType": "SecurityLog",
                "requestId": 13,
            },
        ),
    ),
    (
        i.GetDiagnostics(location="https://logs.example.com/up", start=AT, retry_interval=30, request_id=12),
        (
            "GetLog",
            {
                "log": {"remoteLocation": "https://logs.example.com/up", "oldestTimestamp": "2026-03-01T12:30:00Z"},
                "logType": "DiagnosticsLog",
                "requestId": 12,
                "retryInterval": 30,
            },
        ),
    ),
    (
        i.DataTransfer(vendor_id="com.example", message_id="m", data="{}"),
        ("DataTransfer", {"vendorId": "com.example", "messageId": "m", "data": "{}"}),
    ),
    (i.RawCall(action="ClearCache", payload={}), ("ClearCache", {})),
    (i.GetTransactionStatus(), ("GetTransactionStatus", {})),
    (i.GetTransactionStatus(transaction_id="tx-1"), ("GetTransactionStatus", {"transactionId": "tx-1"})),
    (
        i.CostUpdated(transaction_id="tx-1", total_cost=12.5),
        ("CostUpdated", {"totalCost": 12.5, "transactionId": "tx-1"}),
    ),
    (
        i.SetNetworkProfile(
            slot=2,
            connection=i.NetworkConnection(
                csms_url="wss://csms.example.com/ocpp", protocol_version="2.0.1", security_profile=2, wireless=True
            ),
        ),
        (
            "SetNetworkProfile",
            {
                "configurationSlot": 2,
                "connectionData": {
                    "ocppVersion": "OCPP20",
                    "ocppTransport": "JSON",
                    "ocppCsmsUrl": "wss://csms.example.com/ocpp",
                    "messageTimeout": 30,
                    "securityProfile": 2,
                    "ocppInterface": "Wireless0",
                },
            },
        ),
    ),
    (
        i.CustomerInformation(customer_identifier="cust-9", clear=True, request_id=4),
        ("CustomerInformation", {"requestId": 4, "report": True, "clear": True, "customerIdentifier": "cust-9"}),
    ),
    (
        i.CustomerInformation(id_token="TAG", request_id=5),
        ("CustomerInformation", {"requestId": 5, "report": True, "clear": False, "idToken": CARD}),
    ),
    (
        i.GetChargingProfiles(request_id=6, evse=1, purpose="TxProfile", profile_ids=(3, 4)),
        (
            "GetChargingProfiles",
            {
                "requestId": 6,
                "evseId": 1,
                "chargingProfile": {"chargingProfilePurpose": "TxProfile", "chargingProfileId": [3, 4]},
            },
        ),
    ),
    (
        # K09.FR.03: all profiles are asked for by every limit source, never by empty criteria.
        i.GetChargingProfiles(request_id=7),
        (
            "GetChargingProfiles",
            {"requestId": 7, "chargingProfile": {"chargingLimitSource": ["EMS", "Other", "SO", "CSO"]}},
        ),
    ),
    (
        i.RequestReport(base="full_inventory", request_id=8),
        ("GetBaseReport", {"requestId": 8, "reportBase": "FullInventory"}),
    ),
    (
        i.RequestReport(variables=("EVSE", "OCPPCommCtrlr.HeartbeatInterval"), criteria=("problem",), request_id=9),
        (
            "GetReport",
            {
                "requestId": 9,
                "componentVariable": [
                    {"component": {"name": "EVSE"}},
                    {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
                ],
                "componentCriteria": ["Problem"],
            },
        ),
    ),
    (
        i.SetVariableMonitoring(
            monitors=(
                i.VariableMonitor(variable="EVSE.Power", kind="upper_threshold", value=22000, severity=4),
                i.VariableMonitor(
                    variable="EVSE.Power", kind="periodic", value=60, severity=8, monitor_id=3, transaction_only=True
                ),
            )
        ),
        (
            "SetVariableMonitoring",
            {
                "setMonitoringData": [
                    {
                        "value": 22000,
                        "type": "UpperThreshold",
                        "severity": 4,
                        "component": {"name": "EVSE"},
                        "variable": {"name": "Power"},
                    },
                    {
                        "id": 3,
                        "transaction": True,
                        "value": 60,
                        "type": "Periodic",
                        "severity": 8,
                        "component": {"name": "EVSE"},
                        "variable": {"name": "Power"},
                    },
                ]
            },
        ),
    ),
    (i.ClearVariableMonitoring(monitor_ids=(3, 4)), ("ClearVariableMonitoring", {"id": [3, 4]})),
    (
        i.GetMonitoringReport(criteria=("threshold", "delta"), request_id=10),
        ("GetMonitoringReport", {"requestId": 10, "monitoringCriteria": ["ThresholdMonitoring", "DeltaMonitoring"]}),
    ),
    (i.SetMonitoringBase(base="factory_default"), ("SetMonitoringBase", {"monitoringBase": "FactoryDefault"})),
]


@pytest.mark.parametrize(("intent", "call"), CALLS, ids=lambda value: getattr(value, "kind", ""))
def test_every_intent_encodes_as_its_201_call(intent, call):
    assert encode(intent) == call


@pytest.mark.parametrize(("intent", "call"), CALLS, ids=lambda value: getattr(value, "kind", ""))
def test_every_encoding_is_a_valid_201_request(intent, call):
    action, payload = encode(intent)
    validate_call_payload("ocpp2.0.1", action, payload, message_id="x")


def test_every_intent_kind_is_encoded_in_the_table():
    assert {type(intent).kind for intent, _call in CALLS} | {"rotate_key"} == SUPPORTED_INTENTS
    # 2.0.1 raises a security profile with a network profile (A05), not 1.6's configuration key.
    assert set(i.INTENT_TYPES) - SUPPORTED_INTENTS == {"raise_security_profile"}


def test_request_ids_left_out_are_derived_stably():
    firmware = i.UpdateFirmware(location="https://fw.example.com/f.bin", retrieve_at=AT)
    first, again = encode(firmware)[1]["requestId"], encode(firmware)[1]["requestId"]
    assert first == again == derived_id(firmware, leaving_out="request_id")
    assert 0 < first < 2**31
    other = i.UpdateFirmware(location="https://fw.example.com/g.bin", retrieve_at=AT)
    assert encode(other)[1]["requestId"] != first
    start = encode(i.RemoteStart(id_token="TAG", connector=1))[1]
    assert start["remoteStartId"] == encode(i.RemoteStart(id_token="TAG", connector=1))[1]["remoteStartId"] > 0
    validate_call_payload("ocpp2.0.1", "RequestStartTransaction", start, message_id="x")
    for intent in (
        i.GetDiagnostics(location="https://l.example.com"),
        i.RequestReport(base="summary_inventory"),
        i.GetMonitoringReport(),
        i.GetChargingProfiles(),
        i.CustomerInformation(id_token="TAG"),
    ):
        action, payload = encode(intent)
        validate_call_payload("ocpp2.0.1", action, payload, message_id="x")
        assert payload["requestId"] > 0


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (i.Unlock(connector=1), "give the EVSE"),
        (i.ReadSettings(), "configuration inventory report"),
        (i.ReadSettings(keys=("HeartbeatInterval",)), "Component.Variable"),
        (i.ChangeSetting(key="HeartbeatInterval", value="1"), "Component.Variable"),
        (i.ClearChargingProfile(), "K10.FR.02"),
        (i.SetChargingProfile(profile=SPEC, connector=1), "K01.FR.03"),
        (i.SetChargingProfile(profile=SPEC, connector=0), "K01.FR.16"),
        (i.RemoteStart(id_token="T", charging_profile=MAX_SPEC), "F01.FR.09"),
        (i.SendLocalList(version=0), "D01.FR.18"),
        (i.CustomerInformation(), "N09.FR.09"),
        (i.CustomerInformation(id_token="T", customer_identifier="c"), "N09.FR.09"),
        (i.TriggerMessage(message="self_destruct"), "no message to trigger"),
        (i.TriggerMessage(message="status"), "give its EVSE and connector"),  # F06.FR.13
        (i.TriggerMessage(message="status", connector=1), "give its EVSE and connector"),
        (i.RequestReport(base="everything"), "no report"),
        (i.RequestReport(base="full_inventory", criteria=("problem",)), "not both"),
        (i.SetMonitoringBase(base="some"), "monitoring base"),
        (i.SetVariableMonitoring(monitors=()), "at least one"),
        (
            i.SetNetworkProfile(
                slot=1, connection=i.NetworkConnection(csms_url="wss://x", protocol_version="3.0", security_profile=1)
            ),
            "protocol version",
        ),
    ],
)
def test_what_201_cannot_say_is_refused_clearly(intent, message):
    with pytest.raises(CannotEncode, match=message):
        encode(intent)


def test_the_rotated_key_goes_in_basic_auth_password_and_the_mask_in_what_is_shown():
    action, payload = encode(i.RotateKey(), "s3cret-key-0123456789")
    assert action == "SetVariables"
    assert payload == {
        "setVariableData": [
            {
                "attributeValue": "s3cret-key-0123456789",
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "BasicAuthPassword"},
            }
        ]
    }
    validate_call_payload("ocpp2.0.1", action, payload, message_id="x")
    shown = encode(i.RotateKey(), SECRET_MASK)[1]
    assert "s3cret" not in str(shown)
    assert shown["setVariableData"][0]["attributeValue"] == SECRET_MASK


# --- Decode -----------------------------------------------------------------------------------


@pytest.mark.parametrize(("intent", "_call"), CALLS, ids=lambda value: getattr(value, "kind", ""))
def test_no_answer_and_callerrors_decode_alike_for_every_intent(intent, _call):
    assert decode(intent, None).status is OutcomeStatus.TIMED_OUT
    failed = decode(intent, CallErrorReply(code="FormatViolation", description="bad"))
    assert (failed.status, failed.error_code, failed.error_description) == (
        OutcomeStatus.FAILED,
        "FormatViolation",
        "bad",
    )
    unknown = decode(intent, CallErrorReply(code="NotImplemented", description=""))
    assert unknown.status is OutcomeStatus.NOT_SUPPORTED


STATUS_INTENTS = [
    intent
    for intent, _call in CALLS
    if not isinstance(
        intent,
        i.ReadSettings | i.ChangeSetting | i.GetLocalListVersion | i.SetVariableMonitoring | i.ClearVariableMonitoring
        | i.CostUpdated | i.GetTransactionStatus | i.RawCall,
    )
]  # fmt: skip


@pytest.mark.parametrize("intent", STATUS_INTENTS, ids=lambda intent: intent.kind)
def test_accepted_and_rejected_statuses_with_their_reason(intent):
    assert decode(intent, {"status": "Accepted"}).accepted
    rejected = decode(intent, {"status": "Rejected", "statusInfo": {"reasonCode": "InvalidValue"}})
    assert (rejected.status, rejected.detail, rejected.data["reason"]) == (
        OutcomeStatus.REJECTED,
        "Rejected: InvalidValue",
        "InvalidValue",
    )


@pytest.mark.parametrize(
    ("intent", "word", "status"),
    [
        (i.Unlock(evse=1, connector=1), "Unlocked", OutcomeStatus.ACCEPTED),
        (i.Unlock(evse=1, connector=1), "UnlockFailed", OutcomeStatus.REJECTED),
        (i.Unlock(evse=1, connector=1), "OngoingAuthorizedTransaction", OutcomeStatus.REJECTED),
        (i.Unlock(evse=1, connector=1), "UnknownConnector", OutcomeStatus.REJECTED),
        (i.Reset(), "Scheduled", OutcomeStatus.ACCEPTED),
        (i.ChangeAvailability(operative=False), "Scheduled", OutcomeStatus.ACCEPTED),
        (i.Reserve(reservation_id=1, id_token="T", expires_at=AT), "Occupied", OutcomeStatus.REJECTED),
        (i.Reserve(reservation_id=1, id_token="T", expires_at=AT), "Faulted", OutcomeStatus.REJECTED),
        (i.Reserve(reservation_id=1, id_token="T", expires_at=AT), "Unavailable", OutcomeStatus.REJECTED),
        (i.TriggerMessage(message="boot"), "NotImplemented", OutcomeStatus.NOT_SUPPORTED),
        (i.ClearChargingProfile(profile_id=1), "Unknown", OutcomeStatus.REJECTED),
        (i.SendLocalList(version=2), "VersionMismatch", OutcomeStatus.REJECTED),
        (i.SendLocalList(version=2), "Failed", OutcomeStatus.REJECTED),
        (i.UpdateFirmware(location="https://f", retrieve_at=AT), "AcceptedCanceled", OutcomeStatus.ACCEPTED),
        (i.UpdateFirmware(location="https://f", retrieve_at=AT), "InvalidCertificate", OutcomeStatus.REJECTED),
        (i.RequestReport(base="full_inventory"), "NotSupported", OutcomeStatus.NOT_SUPPORTED),
        (i.RequestReport(base="full_inventory"), "EmptyResultSet", OutcomeStatus.ACCEPTED),
        (i.GetChargingProfiles(), "NoProfiles", OutcomeStatus.ACCEPTED),
        (i.DataTransfer(vendor_id="v"), "UnknownVendorId", OutcomeStatus.NOT_SUPPORTED),
        (i.CustomerInformation(id_token="T"), "Invalid", OutcomeStatus.REJECTED),
    ],
)
def test_status_words(intent, word, status):
    outcome = decode(intent, {"status": word})
    assert (outcome.status, outcome.detail) == (status, word)


def test_settings_read_are_settings_with_their_component_and_the_rest_unknown_or_refused():
    reply = {
        "getVariableResult": [
            {
                "attributeStatus": "Accepted",
                "attributeValue": "300",
                "component": {"name": "OCPPCommCtrlr"},
                "variable": {"name": "HeartbeatInterval"},
            },
            {
                "attributeStatus": "Accepted",
                "attributeValue": "Energy.Active.Import.Register",
                "component": {"name": "SampledDataCtrlr"},
                "variable": {"name": "TxUpdatedMeasurands", "instance": "Phase"},
            },
            {"attributeStatus": "UnknownVariable", "component": {"name": "X"}, "variable": {"name": "Y"}},
            {"attributeStatus": "Rejected", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "Secret"}},
        ]
    }
    outcome = decode(i.ReadSettings(keys=("OCPPCommCtrlr.HeartbeatInterval",)), reply)
    assert outcome.accepted
    assert outcome.settings == (
        SettingValue(key="HeartbeatInterval", value="300", component="OCPPCommCtrlr"),
        SettingValue(
            key="TxUpdatedMeasurands.Phase", value="Energy.Active.Import.Register", component="SampledDataCtrlr"
        ),
    )
    assert outcome.unknown_keys == ("X.Y",)
    assert outcome.data["refused"] == ["SecurityCtrlr.Secret"]
    # Each variable's own word, as the station said it.
    assert [(r["variable"], r["status"]) for r in outcome.data["results"]] == [
        ("OCPPCommCtrlr.HeartbeatInterval", "Accepted"),
        ("SampledDataCtrlr.TxUpdatedMeasurands.Phase", "Accepted"),
        ("X.Y", "UnknownVariable"),
        ("SecurityCtrlr.Secret", "Rejected"),
    ]


@pytest.mark.parametrize(
    ("word", "status", "detail"),
    [
        ("Accepted", OutcomeStatus.ACCEPTED, "Accepted"),
        ("RebootRequired", OutcomeStatus.ACCEPTED, "RebootRequired"),
        ("Rejected", OutcomeStatus.REJECTED, "Rejected: ReadOnly"),
        ("UnknownVariable", OutcomeStatus.REJECTED, "UnknownVariable: ReadOnly"),
    ],
)
@pytest.mark.parametrize("intent", [i.ChangeSetting(key="A.B", value="1"), i.RotateKey()], ids=["setting", "key"])
def test_a_set_variable_is_done_as_its_result_says(intent, word, status, detail):
    reply = {
        "setVariableResult": [
            {
                "attributeStatus": word,
                "component": {"name": "A"},
                "variable": {"name": "B"},
                **(
                    {}
                    if word in ("Accepted", "RebootRequired")
                    else {"attributeStatusInfo": {"reasonCode": "ReadOnly"}}
                ),
            }
        ]
    }
    outcome = decode(intent, reply)
    assert (outcome.status, outcome.detail) == (status, detail)
    assert outcome.data["results"][0]["variable"] == "A.B"
    assert decode(intent, {"setVariableResult": []}).status is OutcomeStatus.FAILED


def test_local_list_version_composite_schedule_and_other_data():
    assert decode(i.GetLocalListVersion(), {"versionNumber": 4}).local_list_version == 4
    schedule = {
        "evseId": 1,
        "duration": 600,
        "scheduleStart": "2026-03-01T12:30:00Z",
        "chargingRateUnit": "A",
        "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
    }
    outcome = decode(i.GetCompositeSchedule(connector=1, duration=600), {"status": "Accepted", "schedule": schedule})
    assert outcome.data == {
        "evse": 1,
        "start": "2026-03-01T12:30:00Z",
        "schedule": {
            "duration": 600,
            "chargingRateUnit": "A",
            "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}],
        },
    }
    log = decode(i.GetDiagnostics(location="https://x"), {"status": "Accepted", "filename": "diag.zip"})
    assert log.data == {"file_name": "diag.zip"}
    status = decode(i.GetTransactionStatus(transaction_id="t"), {"ongoingIndicator": True, "messagesInQueue": False})
    assert status.accepted
    assert status.data == {"ongoing": True, "messages_in_queue": False}
    assert decode(i.CostUpdated(transaction_id="t", total_cost=1.0), {}).accepted
    started = decode(i.RemoteStart(id_token="T"), {"status": "Accepted", "transactionId": "tx-9"})
    assert started.data == {"transaction_id": "tx-9"}


def test_monitors_set_and_cleared():
    reply = {
        "setMonitoringResult": [
            {"id": 12, "status": "Accepted", "type": "Delta", "severity": 5, "component": {"name": "EVSE"},
             "variable": {"name": "Power"}},
            {"status": "UnsupportedMonitorType", "type": "Delta", "severity": 5, "component": {"name": "EVSE"},
             "variable": {"name": "Current"}},
        ]
    }  # fmt: skip
    monitors = (i.VariableMonitor(variable="EVSE.Power", kind="delta", value=1, severity=5),)
    outcome = decode(i.SetVariableMonitoring(monitors=monitors), reply)
    assert (outcome.status, outcome.detail) == (OutcomeStatus.REJECTED, "UnsupportedMonitorType")
    assert outcome.data["monitors"][0] == {"variable": "EVSE.Power", "status": "Accepted", "monitor_id": 12}
    cleared = decode(
        i.ClearVariableMonitoring(monitor_ids=(12, 13)),
        {"clearMonitoringResult": [{"id": 12, "status": "Accepted"}, {"id": 13, "status": "NotFound"}]},
    )
    assert (cleared.status, cleared.detail, cleared.data) == (
        OutcomeStatus.REJECTED,
        "NotFound",
        {"cleared": [12], "not_cleared": {"13": "NotFound"}},
    )
    assert decode(
        i.ClearVariableMonitoring(monitor_ids=(12,)), {"clearMonitoringResult": [{"id": 12, "status": "Accepted"}]}
    ).accepted


# --- Read -------------------------------------------------------------------------------------

READABLE = [
    intent
    for intent, _call in CALLS
    if not isinstance(
        intent,
        i.RawCall | i.SetNetworkProfile | i.CustomerInformation | i.GetChargingProfiles | i.SetVariableMonitoring,
    )
    # a 2.0.1 evse with a connector inside it reads back as such; a spelled component as its parts
    and not (isinstance(intent, i.ChangeSetting) and not intent.component)
]


@pytest.mark.parametrize("intent", READABLE, ids=lambda intent: intent.kind)
def test_raw_201_calls_read_back_as_the_intent_that_encodes_them(intent):
    action, payload = encode(intent)
    read_back = read(action, payload)
    assert read_back is not None
    assert encode(read_back) == (action, payload)


@pytest.mark.parametrize(
    ("action", "payload"),
    [
        ("ClearCache", {"customData": {"vendorId": "x"}}),  # the intent cannot hold customData
        ("RequestStartTransaction", {"remoteStartId": 1, "idToken": {"idToken": "T", "type": "eMAID"}}),
        (
            "GetLog",
            {"log": {"remoteLocation": "https://x"}, "logType": "SecurityLog", "requestId": 1, "customData": {}},
        ),
        (
            "SetVariables",
            {
                "setVariableData": [
                    {"attributeValue": "1", "component": {"name": "A"}, "variable": {"name": "B"}},
                    {"attributeValue": "2", "component": {"name": "A"}, "variable": {"name": "C"}},
                ]
            },
        ),
        ("DataTransfer", {"vendorId": "v", "data": {"structured": True}}),
        # An operation no neutral intent has (a display message): raw, as sent.
        (
            "SetDisplayMessage",
            {"message": {"id": 1, "priority": "NormalCycle", "message": {"format": "UTF8", "content": "Hi"}}},
        ),
        ("InstallCertificate", {"certificateType": "V2GRootCertificate", "certificate": "...", "customData": {}}),
    ],
)
def test_what_an_intent_cannot_hold_stays_raw(action, payload):
    assert read(action, payload) is None


def test_a_raw_set_variables_of_the_password_is_read_as_that_setting():
    payload = {
        "setVariableData": [
            {"attributeValue": "1", "component": {"name": "A"}, "variable": {"name": "B"}},
            {"attributeValue": "pw", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
        ]
    }
    assert read("SetVariables", payload) == i.ChangeSetting(
        key="BasicAuthPassword", value="pw", component="SecurityCtrlr"
    )


# --- 1.6 refuses what only 2.0.1 has --------------------------------------------------------

ONLY_201 = [intent for intent, _call in CALLS if type(intent).kind not in v16_codec.SUPPORTED_INTENTS]


def test_the_201_only_intents_are_exactly_the_new_ones():
    assert {intent.kind for intent in ONLY_201} == {
        "get_transaction_status", "cost_updated", "set_network_profile", "customer_information",
        "get_charging_profiles", "request_report", "set_variable_monitoring", "clear_variable_monitoring",
        "get_monitoring_report", "set_monitoring_base",
    }  # fmt: skip
    only_16 = v16_codec.SUPPORTED_INTENTS - v201_codec.SUPPORTED_INTENTS
    assert only_16 == {"raise_security_profile"}


@pytest.mark.parametrize("intent", ONLY_201, ids=lambda intent: intent.kind)
def test_16_has_no_operation_for_the_201_only_intents(intent):
    with pytest.raises(CannotEncode, match=r"OCPP 1\.6 has no operation"):
        v16_codec.encode(intent)
