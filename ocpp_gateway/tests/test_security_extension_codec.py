"""Log uploads, signed firmware updates and the extended triggers, one neutral intent each, as the
1.6 security extension (whitepaper sec. 5: GetLog, SignedUpdateFirmware, ExtendedTriggerMessage)
and 2.0.1 (N01 GetLog, L01 UpdateFirmware, F06 TriggerMessage) carry them: every encoding valid
against that version's official schema, the answers decoded, raw calls read back."""

import datetime as dt

import pytest

from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16 import codec as v16
from ocpp_gateway.v201 import codec as v201
from sites.commands import CannotEncode
from sites.commands.intents import GetLog, LogType, TriggerableMessage, TriggerMessage, UpdateFirmware
from sites.commands.outcomes import OutcomeStatus

AT = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
LATER = dt.datetime(2026, 3, 2, 3, 0, tzinfo=dt.UTC)
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIU\n-----END CERTIFICATE-----\n"
SIGNED = UpdateFirmware(
    location="https://fw.example.com/2.bin",
    retrieve_at=AT,
    install_at=LATER,
    signing_certificate=PEM,
    signature="c2lnbmF0dXJl",
    retries=3,
    retry_interval=60,
    request_id=42,
)
SECURITY_LOG = GetLog(
    location="https://logs.example.com/up",
    log_type=LogType.SECURITY,
    oldest=AT,
    latest=LATER,
    retries=1,
    retry_interval=30,
    request_id=7,
)
FIRMWARE_OBJECT = {
    "location": "https://fw.example.com/2.bin",
    "retrieveDateTime": "2026-03-01T12:30:00Z",
    "installDateTime": "2026-03-02T03:00:00Z",
    "signingCertificate": PEM,
    "signature": "c2lnbmF0dXJl",
}
LOG_CALL = {
    "log": {
        "remoteLocation": "https://logs.example.com/up",
        "oldestTimestamp": "2026-03-01T12:30:00Z",
        "latestTimestamp": "2026-03-02T03:00:00Z",
    },
    "logType": "SecurityLog",
    "requestId": 7,
    "retries": 1,
    "retryInterval": 30,
}

CALLS_16 = [
    (SECURITY_LOG, ("GetLog", LOG_CALL)),
    (
        GetLog(location="ftp://logs.example.com/", request_id=8),
        ("GetLog", {"log": {"remoteLocation": "ftp://logs.example.com/"}, "logType": "DiagnosticsLog", "requestId": 8}),
    ),
    (
        SIGNED,
        ("SignedUpdateFirmware", {"retries": 3, "retryInterval": 60, "requestId": 42, "firmware": FIRMWARE_OBJECT}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.LOG_STATUS),
        ("ExtendedTriggerMessage", {"requestedMessage": "LogStatusNotification"}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.SIGN_CERTIFICATE),
        ("ExtendedTriggerMessage", {"requestedMessage": "SignChargePointCertificate"}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.SIGNED_FIRMWARE_STATUS, connector=0),
        ("ExtendedTriggerMessage", {"requestedMessage": "FirmwareStatusNotification", "connectorId": 0}),
    ),
]

CALLS_201 = [
    (SECURITY_LOG, ("GetLog", LOG_CALL)),
    (
        SIGNED,
        ("UpdateFirmware", {"retries": 3, "retryInterval": 60, "requestId": 42, "firmware": FIRMWARE_OBJECT}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.LOG_STATUS),
        ("TriggerMessage", {"requestedMessage": "LogStatusNotification"}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.SIGN_CERTIFICATE),
        ("TriggerMessage", {"requestedMessage": "SignChargingStationCertificate"}),
    ),
    (
        TriggerMessage(message=TriggerableMessage.SIGNED_FIRMWARE_STATUS),
        ("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"}),
    ),
]


def _ids(calls: list) -> list[str]:
    return [f"{number}-{intent.kind}" for number, (intent, _call) in enumerate(calls)]


@pytest.mark.parametrize(("intent", "call"), CALLS_16, ids=_ids(CALLS_16))
def test_16_encodes_the_security_extensions_calls_valid_against_its_schemas(intent, call):
    assert v16.encode(intent) == call
    validate_call_payload("ocpp1.6", *call, message_id="m")


@pytest.mark.parametrize(("intent", "call"), CALLS_201, ids=_ids(CALLS_201))
def test_201_encodes_the_same_intents_valid_against_its_schemas(intent, call):
    assert v201.encode(intent) == call
    validate_call_payload("ocpp2.0.1", *call, message_id="m")


@pytest.mark.parametrize(("intent", "call"), CALLS_16, ids=_ids(CALLS_16))
def test_16_raw_calls_read_back_as_their_intent(intent, call):
    read = v16.read(*call)
    assert read is not None
    assert v16.encode(read) == call


@pytest.mark.parametrize(("intent", "call"), CALLS_201, ids=_ids(CALLS_201))
def test_201_raw_calls_read_back_as_an_intent_that_encodes_them(intent, call):
    read = v201.read(*call)
    assert read is not None
    assert v201.encode(read) == call


def test_an_unsigned_16_update_stays_the_core_update_firmware_and_the_core_triggers_stay_core():
    assert v16.encode(UpdateFirmware(location="https://fw.example.com/1.bin", retrieve_at=AT))[0] == "UpdateFirmware"
    assert v16.encode(TriggerMessage(message=TriggerableMessage.HEARTBEAT)) == (
        "TriggerMessage",
        {"requestedMessage": "Heartbeat"},
    )
    # An extended trigger of what the core one asks for stays a raw call: re-encoding it would
    # send the core message instead of what the expert wrote.
    assert v16.read("ExtendedTriggerMessage", {"requestedMessage": "Heartbeat"}) is None


@pytest.mark.parametrize(
    ("intent", "message"),
    [
        (UpdateFirmware(location="https://f.example", retrieve_at=AT, signature="x"), "both"),
        (UpdateFirmware(location="https://f.example", retrieve_at=AT, install_at=LATER), "installation time"),
        (GetLog(location="https://l.example", log_type="audit"), "log type"),
    ],
)
def test_16_refuses_what_it_cannot_say(intent, message):
    with pytest.raises(CannotEncode, match=message):
        v16.encode(intent)


def test_request_ids_left_out_are_derived_stably_on_16():
    log = GetLog(location="https://l.example.com")
    assert v16.encode(log)[1]["requestId"] == v16.encode(GetLog(location="https://l.example.com"))[1]["requestId"]
    assert v16.encode(log)[1]["requestId"] != v16.encode(GetLog(location="https://m.example.com"))[1]["requestId"]


@pytest.mark.parametrize("codec", [v16, v201], ids=["1.6", "2.0.1"])
def test_get_log_answers_give_the_file_name(codec):
    accepted = codec.decode(SECURITY_LOG, {"status": "Accepted", "filename": "security-2026-03-01.log"})
    assert (accepted.status, accepted.data) == (OutcomeStatus.ACCEPTED, {"file_name": "security-2026-03-01.log"})
    # N01.FR.11: a new request cancels the running upload, and is accepted.
    assert codec.decode(SECURITY_LOG, {"status": "AcceptedCanceled"}).status is OutcomeStatus.ACCEPTED
    assert codec.decode(SECURITY_LOG, {"status": "Rejected"}).status is OutcomeStatus.REJECTED


@pytest.mark.parametrize("codec", [v16, v201], ids=["1.6", "2.0.1"])
@pytest.mark.parametrize("word", ["InvalidCertificate", "RevokedCertificate"])
def test_a_refused_signing_certificate_is_a_rejection_that_names_why(codec, word):
    outcome = codec.decode(SIGNED, {"status": word})
    assert outcome.status is OutcomeStatus.REJECTED
    assert outcome.detail.startswith(word)
