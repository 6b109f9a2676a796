"""The intent vocabulary: every intent survives the round trip through a Command row's JSON."""

import datetime as dt

import pytest

from accounts.roles import COMMAND_INTENTS
from sites.commands import intents as i

PROFILE = i.ChargingProfileSpec(
    profile_id=7,
    stack_level=1,
    purpose="TxProfile",
    kind="Absolute",
    rate_unit="W",
    periods=(i.SchedulePeriod(start=0, limit=11000.0), i.SchedulePeriod(start=600, limit=7400.0, phases=3)),
    valid_from=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    transaction_id="42",
)
EXAMPLES = [
    i.RemoteStart(id_token="TAG", connector=1, charging_profile=PROFILE),
    i.RemoteStop(transaction_id="42"),
    i.Unlock(connector=2),
    i.Reset(hard=True),
    i.ChangeAvailability(operative=False, connector=0),
    i.ReadSettings(keys=("HeartbeatInterval", "MeterValueSampleInterval")),
    i.ChangeSetting(key="HeartbeatInterval", value="300"),
    i.ClearCache(),
    i.TriggerMessage(message=i.TriggerableMessage.STATUS, connector=1),
    i.Reserve(reservation_id=3, id_token="TAG", expires_at=dt.datetime(2026, 1, 1, 12, tzinfo=dt.UTC), connector=1),
    i.CancelReservation(reservation_id=3),
    i.SetChargingProfile(profile=PROFILE, connector=1),
    i.ClearChargingProfile(profile_id=7),
    i.GetCompositeSchedule(connector=1, duration=3600, rate_unit="A"),
    i.SendLocalList(
        version=4,
        differential=True,
        entries=(i.LocalAuthorization(id_token="A", status="Accepted"), i.LocalAuthorization(id_token="B")),
    ),
    i.GetLocalListVersion(),
    i.UpdateFirmware(location="https://firmware.example.com/f.bin", retrieve_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC)),
    i.GetDiagnostics(location="https://logs.example.com/upload"),
    i.DataTransfer(vendor_id="com.example", message_id="hello", data="{}"),
    i.RotateKey(),
    i.RaiseSecurityProfile(profile=2),
    i.RawCall(action="Reset", payload={"type": "Soft"}),
    i.GetTransactionStatus(transaction_id="tx-1"),
    i.CostUpdated(transaction_id="tx-1", total_cost=3.5),
    i.SetNetworkProfile(
        slot=1,
        connection=i.NetworkConnection(csms_url="wss://c.example.com", protocol_version="2.0.1", security_profile=2),
    ),
    i.CustomerInformation(id_token="TAG", clear=True, request_id=3),
    i.GetChargingProfiles(evse=1, profile_ids=(1, 2)),
    i.RequestReport(base=i.ReportBase.FULL_INVENTORY),
    i.SetVariableMonitoring(
        monitors=(i.VariableMonitor(variable="EVSE.Power", kind=i.MonitorKind.DELTA, value=100, severity=5),)
    ),
    i.ClearVariableMonitoring(monitor_ids=(4, 5)),
    i.GetMonitoringReport(criteria=(i.MonitoringCriterion.PERIODIC,)),
    i.SetMonitoringBase(base=i.MonitoringBase.HARD_WIRED_ONLY),
    i.UpdateFirmware(
        location="https://f.example.com", retrieve_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC), request_id=9
    ),
    i.UpdateFirmware(
        location="https://f.example.com",
        retrieve_at=dt.datetime(2026, 2, 1, tzinfo=dt.UTC),
        install_at=dt.datetime(2026, 2, 2, tzinfo=dt.UTC),
        signing_certificate="-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n",
        signature="c2lnbmF0dXJl",
        request_id=10,
    ),
    i.GetLog(
        location="https://logs.example.com/up",
        log_type=i.LogType.SECURITY,
        oldest=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
        retries=2,
        request_id=11,
    ),
    i.CertificateSigned(certificate_chain="-----BEGIN CERTIFICATE-----\nMII...\n-----END CERTIFICATE-----\n"),
    i.InstallCertificate(use=i.CertificateUse.CSMS_ROOT, certificate="-----BEGIN CERTIFICATE-----\n"),
    i.DeleteCertificate(
        certificate=i.CertificateHash(
            hash_algorithm="SHA256", issuer_name_hash="ab", issuer_key_hash="cd", serial_number="1"
        )
    ),
    i.GetInstalledCertificateIds(uses=(i.CertificateUse.CSMS_ROOT, i.CertificateUse.V2G_ROOT)),
]


def test_every_intent_type_has_an_example():
    assert {type(intent) for intent in EXAMPLES} == set(i.INTENT_TYPES.values())


@pytest.mark.parametrize("intent", EXAMPLES, ids=lambda intent: intent.kind)
def test_an_intent_survives_its_row(intent):
    assert i.intent_from_row(intent.kind, intent.to_fields()) == intent


def test_unknown_fields_are_refused():
    with pytest.raises(TypeError, match="bogus"):
        i.intent_from_row("unlock", {"connector": 1, "bogus": 2})


def test_unknown_kinds_are_refused():
    with pytest.raises(KeyError):
        i.intent_from_row("teleport", {})


def test_every_intent_kind_has_its_permission():
    """accounts.roles spells the kinds out (accounts imports no other app): they must agree."""
    assert set(COMMAND_INTENTS) == set(i.INTENT_TYPES)
