"""The 1.6 codec: every intent to its CALL (OCPP 1.6 edition 2, chapters 5-6) and every kind of
answer to a neutral Outcome; the wire form of what the domain builds (reservations, local
lists, charging profiles); raw calls read back as intents."""

import datetime as dt
import importlib

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from charging.local_list import FULL, send_local_list
from charging.models import ChargingProfile, IdToken
from charging.reservations import reserve
from charging.smart_charging import profile_spec, set_charging_profile_intent
from charging.tests.factories import IdTokenFactory
from ocpp_gateway.schemas import validate_call_payload
from ocpp_gateway.v16.codec import READERS, CallErrorReply, decode, encode, read
from sites.commands import CannotEncode, intent_of, request_command
from sites.commands.intents import (
    CancelReservation,
    ChangeAvailability,
    ChangeSetting,
    ChargingProfileSpec,
    ClearCache,
    ClearChargingProfile,
    DataTransfer,
    GetCompositeSchedule,
    GetDiagnostics,
    GetLocalListVersion,
    LocalAuthorization,
    RawCall,
    ReadSettings,
    RemoteStart,
    RemoteStop,
    Reserve,
    Reset,
    RotateKey,
    SchedulePeriod,
    SendLocalList,
    SetChargingProfile,
    TriggerMessage,
    Unlock,
    UpdateFirmware,
    intent_from_row,
)
from sites.commands.outcomes import OutcomeStatus, SettingValue
from sites.commands.rules import SECRET_MASK
from sites.models import Command
from sites.services import register_charger
from sites.tests.factories import ConnectorFactory, SiteFactory

AT = dt.datetime(2026, 3, 1, 12, 30, tzinfo=dt.UTC)
PERIODS = [{"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400, "numberPhases": 3}]
SPEC = ChargingProfileSpec(
    profile_id=3, stack_level=1, purpose="TxProfile", kind="Absolute", rate_unit="A",
    periods=(SchedulePeriod(start=0, limit=16),),
)  # fmt: skip
BODY = {
    "chargingProfileId": 3,
    "stackLevel": 1,
    "chargingProfilePurpose": "TxProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
}

# intent -> the 1.6 CALL (chapter 6 requests)
CALLS = [
    (RemoteStart(id_token="TAG", connector=1), ("RemoteStartTransaction", {"connectorId": 1, "idTag": "TAG"})),
    (RemoteStart(id_token="TAG"), ("RemoteStartTransaction", {"idTag": "TAG"})),
    (
        RemoteStart(id_token="TAG", connector=2, charging_profile=SPEC),
        ("RemoteStartTransaction", {"connectorId": 2, "idTag": "TAG", "chargingProfile": BODY}),
    ),
    (RemoteStop(transaction_id="41"), ("RemoteStopTransaction", {"transactionId": 41})),
    (Unlock(connector=2), ("UnlockConnector", {"connectorId": 2})),
    (Reset(hard=True), ("Reset", {"type": "Hard"})),
    (Reset(), ("Reset", {"type": "Soft"})),
    (ChangeAvailability(operative=False), ("ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})),
    (ChangeAvailability(operative=True, connector=1), ("ChangeAvailability", {"connectorId": 1, "type": "Operative"})),
    (ReadSettings(), ("GetConfiguration", {})),
    (ReadSettings(keys=("HeartbeatInterval",)), ("GetConfiguration", {"key": ["HeartbeatInterval"]})),
    (
        ChangeSetting(key="HeartbeatInterval", value="60"),
        ("ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"}),
    ),
    (ClearCache(), ("ClearCache", {})),
    (
        TriggerMessage(message="status", connector=0),
        ("TriggerMessage", {"requestedMessage": "StatusNotification", "connectorId": 0}),
    ),
    (TriggerMessage(message="boot"), ("TriggerMessage", {"requestedMessage": "BootNotification"})),
    (TriggerMessage(message="heartbeat"), ("TriggerMessage", {"requestedMessage": "Heartbeat"})),
    (
        TriggerMessage(message="meter_values", connector=1),
        ("TriggerMessage", {"requestedMessage": "MeterValues", "connectorId": 1}),
    ),
    (TriggerMessage(message="firmware_status"), ("TriggerMessage", {"requestedMessage": "FirmwareStatusNotification"})),
    (
        TriggerMessage(message="diagnostics_status"),
        ("TriggerMessage", {"requestedMessage": "DiagnosticsStatusNotification"}),
    ),
    (
        Reserve(reservation_id=5, id_token="TAG", expires_at=AT, connector=1, parent_id_token="GROUP"),
        (
            "ReserveNow",
            {
                "connectorId": 1,
                "expiryDate": "2026-03-01T12:30:00Z",
                "idTag": "TAG",
                "parentIdTag": "GROUP",
                "reservationId": 5,
            },
        ),
    ),
    (CancelReservation(reservation_id=5), ("CancelReservation", {"reservationId": 5})),
    (
        SetChargingProfile(profile=SPEC, connector=1),
        ("SetChargingProfile", {"connectorId": 1, "csChargingProfiles": BODY}),
    ),
    (ClearChargingProfile(profile_id=3, connector=0), ("ClearChargingProfile", {"id": 3, "connectorId": 0})),
    (
        ClearChargingProfile(purpose="TxProfile", stack_level=2),
        ("ClearChargingProfile", {"chargingProfilePurpose": "TxProfile", "stackLevel": 2}),
    ),
    (ClearChargingProfile(), ("ClearChargingProfile", {})),
    (
        GetCompositeSchedule(connector=0, duration=600, rate_unit="A"),
        ("GetCompositeSchedule", {"connectorId": 0, "duration": 600, "chargingRateUnit": "A"}),
    ),
    (
        SendLocalList(
            version=2,
            differential=True,
            entries=(
                LocalAuthorization(id_token="A", status="Blocked", expires_at=AT, parent_id_token="P"),
                LocalAuthorization(id_token="B"),
            ),
        ),
        (
            "SendLocalList",
            {
                "listVersion": 2,
                "updateType": "Differential",
                "localAuthorizationList": [
                    {
                        "idTag": "A",
                        "idTagInfo": {"status": "Blocked", "expiryDate": "2026-03-01T12:30:00Z", "parentIdTag": "P"},
                    },
                    {"idTag": "B"},
                ],
            },
        ),
    ),
    (
        SendLocalList(version=1),
        ("SendLocalList", {"listVersion": 1, "updateType": "Full", "localAuthorizationList": []}),
    ),
    (GetLocalListVersion(), ("GetLocalListVersion", {})),
    (
        UpdateFirmware(location="https://fw.example.com/1.bin", retrieve_at=AT, retries=2),
        (
            "UpdateFirmware",
            {"location": "https://fw.example.com/1.bin", "retrieveDate": "2026-03-01T12:30:00Z", "retries": 2},
        ),
    ),
    (
        GetDiagnostics(location="ftp://logs.example.com/", start=AT, retry_interval=60),
        (
            "GetDiagnostics",
            {"location": "ftp://logs.example.com/", "startTime": "2026-03-01T12:30:00Z", "retryInterval": 60},
        ),
    ),
    (
        DataTransfer(vendor_id="ACME", message_id="m", data="x"),
        ("DataTransfer", {"vendorId": "ACME", "messageId": "m", "data": "x"}),
    ),
    (DataTransfer(vendor_id="ACME"), ("DataTransfer", {"vendorId": "ACME"})),
    (RawCall(action="Reset", payload={"type": "Hard"}), ("Reset", {"type": "Hard"})),
]


@pytest.mark.parametrize(("intent", "call"), CALLS, ids=[f"{i}-{intent.kind}" for i, (intent, _) in enumerate(CALLS)])
def test_every_intent_encodes_to_a_valid_1_6_call(intent, call):
    assert encode(intent) == call
    validate_call_payload("ocpp1.6", *call, message_id="m")  # the official schema accepts it


@pytest.mark.parametrize(("intent", "call"), [c for c in CALLS if not isinstance(c[0], RawCall)])
def test_every_call_reads_back_as_its_intent(intent, call):
    assert read(*call) == intent


@pytest.mark.parametrize(("intent", "call"), [c for c in CALLS if not isinstance(c[0], RawCall)])
def test_the_migration_maps_stored_calls_as_the_codec_reads_them(intent, call):
    """sites' migration 0013 froze its own copy of the reading for the rows stored before intents."""
    migration = importlib.import_module("sites.migrations.0013_command_intent")
    kind, fields = migration.intent_of(*call)
    # Fields added since (request ids) are absent from those rows and take their defaults.
    assert (kind, intent_from_row(kind, fields)) == (intent.kind, intent)
    # The security extension's calls came after intents: no row stored before them holds one.
    assert set(migration.INTENTS) == set(READERS) - {
        "GetLog", "SignedUpdateFirmware", "ExtendedTriggerMessage",
        "CertificateSigned", "InstallCertificate", "DeleteCertificate", "GetInstalledCertificateIds",
    }  # fmt: skip


def test_a_key_rotation_carries_the_key_and_shows_only_the_mask():
    assert encode(RotateKey(), "a" * 40) == ("ChangeConfiguration", {"key": "AuthorizationKey", "value": "a" * 40})
    assert encode(RotateKey(), SECRET_MASK)[1]["value"] == SECRET_MASK


@pytest.mark.parametrize(
    "intent",
    [
        Unlock(connector=1, evse=1),
        Reset(evse=2),
        RemoteStart(id_token="T", evse=1),
        ChangeSetting(key="Interval", value="1", component="OCPPCommCtrlr"),
        RemoteStop(transaction_id="a-2.0.1-uuid"),
    ],
)
def test_what_1_6_cannot_say_cannot_be_encoded(intent):
    with pytest.raises(CannotEncode):
        encode(intent)


# --- Decode ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("intent", "answer", "status"),
    [
        (RemoteStart(id_token="T"), "Accepted", OutcomeStatus.ACCEPTED),
        (RemoteStart(id_token="T"), "Rejected", OutcomeStatus.REJECTED),
        (RemoteStop(transaction_id="1"), "Rejected", OutcomeStatus.REJECTED),
        (Unlock(connector=1), "Unlocked", OutcomeStatus.ACCEPTED),
        (Unlock(connector=1), "UnlockFailed", OutcomeStatus.REJECTED),
        (Unlock(connector=1), "NotSupported", OutcomeStatus.NOT_SUPPORTED),
        (Reset(), "Accepted", OutcomeStatus.ACCEPTED),
        (ChangeAvailability(operative=False), "Scheduled", OutcomeStatus.ACCEPTED),
        (ChangeAvailability(operative=False), "Rejected", OutcomeStatus.REJECTED),
        (ChangeSetting(key="K", value="V"), "RebootRequired", OutcomeStatus.ACCEPTED),
        (ChangeSetting(key="K", value="V"), "NotSupported", OutcomeStatus.NOT_SUPPORTED),
        (ClearCache(), "Rejected", OutcomeStatus.REJECTED),
        (TriggerMessage(message="boot"), "NotImplemented", OutcomeStatus.NOT_SUPPORTED),
        (Reserve(reservation_id=1, id_token="T", expires_at=AT), "Occupied", OutcomeStatus.REJECTED),
        (Reserve(reservation_id=1, id_token="T", expires_at=AT), "Faulted", OutcomeStatus.REJECTED),
        (Reserve(reservation_id=1, id_token="T", expires_at=AT), "Unavailable", OutcomeStatus.REJECTED),
        (CancelReservation(reservation_id=1), "Accepted", OutcomeStatus.ACCEPTED),
        (SetChargingProfile(profile=SPEC), "NotSupported", OutcomeStatus.NOT_SUPPORTED),
        (ClearChargingProfile(), "Unknown", OutcomeStatus.REJECTED),
        (SendLocalList(version=1), "VersionMismatch", OutcomeStatus.REJECTED),
        (SendLocalList(version=1), "Failed", OutcomeStatus.REJECTED),
        (UpdateFirmware(location="https://x.example/", retrieve_at=AT), None, OutcomeStatus.ACCEPTED),
        (DataTransfer(vendor_id="V"), "UnknownVendorId", OutcomeStatus.NOT_SUPPORTED),
        (RotateKey(), "Accepted", OutcomeStatus.ACCEPTED),
        (RawCall(action="Reset", payload={"type": "Soft"}), "Rejected", OutcomeStatus.REJECTED),
    ],
)
def test_status_words_decode_to_neutral_outcomes(intent, answer, status):
    outcome = decode(intent, {} if answer is None else {"status": answer})
    assert (outcome.status, outcome.detail) == (status, answer or "")


def test_configuration_answer_becomes_settings_and_unknown_keys():
    outcome = decode(
        ReadSettings(),
        {
            "configurationKey": [
                {"key": "HeartbeatInterval", "readonly": False, "value": "300"},
                {"key": "NumberOfConnectors", "readonly": True, "value": "2"},
                {"key": "NoValueKey", "readonly": False},
            ],
            "unknownKey": ["Foo"],
        },
    )
    assert outcome.accepted
    assert outcome.settings == (
        SettingValue(key="HeartbeatInterval", value="300"),
        SettingValue(key="NumberOfConnectors", value="2", readonly=True),
        SettingValue(key="NoValueKey"),
    )
    assert outcome.unknown_keys == ("Foo",)


def test_local_list_version_answer():
    assert decode(GetLocalListVersion(), {"listVersion": 7}).local_list_version == 7
    assert decode(GetLocalListVersion(), {"listVersion": "7"}).local_list_version is None


def test_readings_keep_their_data():
    schedule = {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]}
    outcome = decode(
        GetCompositeSchedule(connector=1, duration=60), {"status": "Accepted", "chargingSchedule": schedule}
    )
    assert outcome.data == {"schedule": schedule}
    assert decode(GetDiagnostics(location="ftp://x.example/"), {"fileName": "d.zip"}).data == {"file_name": "d.zip"}
    assert decode(DataTransfer(vendor_id="V"), {"status": "Accepted", "data": "x"}).data == {"data": "x"}


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("NotImplemented", OutcomeStatus.NOT_SUPPORTED),
        ("NotSupported", OutcomeStatus.NOT_SUPPORTED),
        ("InternalError", OutcomeStatus.FAILED),
        ("FormationViolation", OutcomeStatus.FAILED),
    ],
)
def test_call_errors_decode_to_not_supported_or_failed(code, status):
    outcome = decode(Unlock(connector=1), CallErrorReply(code, "no"))
    assert (outcome.status, outcome.error_code, outcome.error_description) == (status, code, "no")


def test_no_answer_is_a_timeout():
    assert decode(Reset(), None).status is OutcomeStatus.TIMED_OUT


# --- What the domain builds, on the wire (moved from charging's tests) ------------------------


@pytest.mark.django_db
def test_reserve_sends_reserve_now_with_the_reservation_id():
    connector = ConnectorFactory(connector_id=1)
    token = IdTokenFactory(organization=connector.charger.site.organization, id_tag="RES-TAG", parent_id_tag="GROUP")
    reservation = reserve(
        charger=connector.charger,
        connector=connector,
        id_token=token,
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    action, payload = encode(intent_of(Command.objects.get()))
    assert action == "ReserveNow"
    assert (payload["reservationId"], payload["connectorId"], payload["idTag"], payload["parentIdTag"]) == (
        reservation.pk,
        1,
        "RES-TAG",
        "GROUP",
    )
    assert payload["expiryDate"].endswith("Z")


@pytest.mark.django_db
def test_the_full_local_list_on_the_wire():
    connector = ConnectorFactory(connector_id=1)
    charger = connector.charger
    organization = charger.site.organization
    IdTokenFactory(organization=organization, id_tag="AAA")
    IdTokenFactory(organization=organization, id_tag="BBB", status=IdToken.Status.BLOCKED, parent_id_tag="FLEET")
    IdTokenFactory(organization=organization, id_tag="X" * 36)  # does not fit 1.6's CiString20
    assert encode(intent_of(send_local_list(charger=charger, update_type=FULL))) == (
        "SendLocalList",
        {
            "listVersion": 1,
            "updateType": "Full",
            "localAuthorizationList": [
                {"idTag": "AAA", "idTagInfo": {"status": "Accepted"}},
                {"idTag": "BBB", "idTagInfo": {"status": "Blocked", "parentIdTag": "FLEET"}},
            ],
        },
    )


@pytest.mark.django_db
def test_a_profile_on_the_wire_follows_the_1_6_structure():
    connector = ConnectorFactory(connector_id=1)
    prof = ChargingProfile.objects.create(
        organization=connector.charger.site.organization, name="Night cap", periods=PERIODS, stack_level=1
    )
    prof.kind, prof.recurrency = "Recurring", "Daily"
    prof.valid_to = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    assert encode(SetChargingProfile(profile=profile_spec(prof, transaction_id=5)))[1]["csChargingProfiles"] == {
        "chargingProfileId": prof.pk,
        "stackLevel": 1,
        "chargingProfilePurpose": "TxDefaultProfile",
        "chargingProfileKind": "Recurring",
        "recurrencyKind": "Daily",
        "validTo": "2030-01-01T00:00:00Z",
        "transactionId": 5,
        "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": PERIODS},
    }
    assert encode(set_charging_profile_intent(prof, connector_id=1))[1]["connectorId"] == 1


# --- The request-time check the gateway registers with the port --------------------------------


@pytest.fixture
def charger():
    return register_charger(site=SiteFactory(), charge_point_id="CODEC-1", connector_count=2)


@pytest.mark.django_db
@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationKey", "SecurityProfile"])
def test_a_raw_call_setting_a_protected_key_is_refused(charger, key):
    with pytest.raises(ValidationError, match="cannot be"):
        request_command(
            charger=charger, intent=RawCall(action="ChangeConfiguration", payload={"key": key, "value": "x"})
        )
    assert not Command.objects.exists()


@pytest.mark.django_db
def test_a_raw_call_is_checked_against_the_schema_and_the_rules_of_its_intent(charger):
    with pytest.raises(ValidationError):
        request_command(charger=charger, intent=RawCall(action="Reset", payload={"type": "Warm"}))
    with pytest.raises(ValidationError):
        request_command(charger=charger, intent=RawCall(action="BootNotification", payload={}))
    with pytest.raises(ValidationError, match="has no connector 9"):
        request_command(charger=charger, intent=RawCall(action="UnlockConnector", payload={"connectorId": 9}))
    assert not Command.objects.exists()


@pytest.mark.django_db
def test_a_raw_call_is_stored_as_the_intent_it_amounts_to_with_its_wire_form(charger):
    command = request_command(charger=charger, intent=RawCall(action="UnlockConnector", payload={"connectorId": 1}))
    assert (command.intent, command.fields) == ("unlock", {"connector": 1, "evse": None})
    assert (command.action, command.payload) == ("UnlockConnector", {"connectorId": 1})


@pytest.mark.django_db
def test_an_intent_1_6_cannot_express_is_refused_at_request_time(charger):
    with pytest.raises(ValidationError, match="no EVSEs"):
        request_command(charger=charger, intent=Unlock(connector=1, evse=1))
    assert not Command.objects.exists()
