"""The 2.0.1 notifications kept as the station sent them (ocpp_gateway/v201/reports.py
`_kept_as_sent`, stored by sites.commands.progress.record_job_status), through the real consumer:
NotifyCustomerInformation (N09), ReportChargingProfiles (K09) and NotifyChargingLimit (K12).
What each stores, what it answers (the empty response, valid against the response schema) and
the CALLERROR a malformed one gets (part 4 sec. 4.3), with nothing stored."""

import json
from pathlib import Path

import fastjsonschema
import ocpp
import pytest
import pytest_asyncio
from django.utils import timezone

from ocpp_gateway.tests.conftest import db, iso, now_s
from sites.models import ChargerReport, Command, CommandStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
RESPONSE_SCHEMAS = Path(ocpp.__file__).parent / "v201" / "schemas"
SCHEDULE = {
    "id": 1,
    "chargingRateUnit": "W",
    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000.0}, {"startPeriod": 3600, "limit": 7400.0}],
}
PROFILE = {
    "id": 40,
    "stackLevel": 0,
    "chargingProfilePurpose": "TxDefaultProfile",
    "chargingProfileKind": "Absolute",
    "chargingSchedule": [{**SCHEDULE, "startSchedule": "2026-12-04T10:00:00Z"}],
}


@pytest_asyncio.fixture
async def station(charger, open_client):
    """The Accepted `charger`, connected with 2.0.1."""
    client = await open_client(charger, subprotocols=[OCPP201], connect=False)
    assert await client.connect()
    assert client.subprotocol == OCPP201
    return client


def _reports(charger_id: int) -> list[ChargerReport]:
    return list(ChargerReport.objects.filter(charger_id=charger_id).order_by("pk"))


def _valid_response(action: str, reply: dict) -> dict:
    schema = json.loads((RESPONSE_SCHEMAS / f"{action}Response.json").read_text(encoding="utf-8"))
    fastjsonschema.compile(schema)(reply)
    return reply


def _customer_information(seq_no: int, data: str, **extra) -> dict:
    return {"requestId": 12, "seqNo": seq_no, "generatedAt": iso(now_s()), "data": data, **extra}


# --- N09 NotifyCustomerInformation ----------------------------------------------------------


async def test_customer_information_in_parts_is_kept_part_by_part(charger, station):
    parts = [
        _customer_information(0, "name: J. Doe; ", tbc=True, customData={"vendorId": "com.example", "x": 1}),
        _customer_information(1, "token: 04A2B3C4D5; ", tbc=True),
        _customer_information(2, "sessions: 3"),  # tbc absent: the last part (default false)
    ]
    for part in parts:
        assert (
            _valid_response("NotifyCustomerInformation", await station.result("NotifyCustomerInformation", part)) == {}
        )
    reports = await db(_reports)(charger.pk)
    assert [(r.kind, r.status, r.request_id, r.command_id) for r in reports] == [
        (ChargerReport.Kind.CUSTOMER_INFORMATION, "part 0 (more)", 12, None),
        (ChargerReport.Kind.CUSTOMER_INFORMATION, "part 1 (more)", 12, None),
        (ChargerReport.Kind.CUSTOMER_INFORMATION, "part 2", 12, None),
    ]
    # The payload as sent, but for customData (a vendor's extension, part 4 sec. 5.4), and with
    # the schema's default for an absent tbc (false) filled in.
    sent = [{k: v for k, v in part.items() if k != "customData"} for part in parts]
    assert [r.detail for r in reports] == [sent[0], sent[1], {**sent[2], "tbc": False}]
    assert "".join(r.detail["data"] for r in reports) == "name: J. Doe; token: 04A2B3C4D5; sessions: 3"
    assert all(r.received_at is not None for r in reports)


async def test_a_part_sent_again_with_its_message_id_is_kept_once(charger, station):
    """R1: a repeated CALL (same id, same payload) is answered again, not stored twice."""
    part = _customer_information(0, "name: J. Doe", tbc=True)
    assert await station.result("NotifyCustomerInformation", part, message_id="nci-0") == {}
    assert await station.result("NotifyCustomerInformation", part, message_id="nci-0") == {}
    assert len(await db(_reports)(charger.pk)) == 1


def _asked(charger_id: int, intent: str, request_id: int) -> Command:
    return Command.objects.create(
        charger_id=charger_id, intent=intent, request_id=request_id, status=CommandStatus.ACCEPTED,
        expires_at=timezone.now(),
    )  # fmt: skip


async def test_what_answers_a_request_of_ours_is_linked_to_its_command(charger, station):
    """N09.FR.03 / K09.FR.02: the parts name the request's id, which is the command's."""
    customer = await db(_asked)(charger.pk, "customer_information", 12)
    profiles = await db(_asked)(charger.pk, "get_charging_profiles", 30)
    await station.result("NotifyCustomerInformation", _customer_information(0, "name: J. Doe"))
    report = {"requestId": 30, "chargingLimitSource": "CSO", "evseId": 1, "chargingProfile": [PROFILE]}
    await station.result("ReportChargingProfiles", report)
    await station.result("ReportChargingProfiles", {**report, "requestId": 31})  # asked by no command
    reports = await db(_reports)(charger.pk)
    assert [r.command_id for r in reports] == [customer.pk, profiles.pk, None]


# --- K09 ReportChargingProfiles -------------------------------------------------------------


async def test_charging_profiles_reported_per_evse_are_kept(charger, station):
    first = {"requestId": 30, "chargingLimitSource": "CSO", "evseId": 1, "chargingProfile": [PROFILE], "tbc": True}
    station_max = {**PROFILE, "id": 41, "chargingProfilePurpose": "ChargingStationMaxProfile"}
    last = {"requestId": 30, "chargingLimitSource": "EMS", "evseId": 0, "chargingProfile": [station_max]}
    for report in (first, last):
        assert _valid_response("ReportChargingProfiles", await station.result("ReportChargingProfiles", report)) == {}
    reports = await db(_reports)(charger.pk)
    assert [(r.kind, r.status, r.request_id) for r in reports] == [
        (ChargerReport.Kind.CHARGING_PROFILES, "CSO EVSE 1 (more)", 30),
        (ChargerReport.Kind.CHARGING_PROFILES, "EMS EVSE 0", 30),  # evseId 0: the whole station
    ]
    assert [r.detail for r in reports] == [first, {**last, "tbc": False}]  # the schema's default


# --- K12 NotifyChargingLimit ----------------------------------------------------------------


async def test_a_charging_limit_set_outside_the_csms_is_kept(charger, station):
    limit = {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": True}, "evseId": 1,
             "chargingSchedule": [SCHEDULE]}  # fmt: skip
    assert _valid_response("NotifyChargingLimit", await station.result("NotifyChargingLimit", limit)) == {}
    # K12: the schedule is optional; the limit alone is a notification too.
    bare = {"chargingLimit": {"chargingLimitSource": "SO"}}
    assert await station.result("NotifyChargingLimit", bare) == {}
    reports = await db(_reports)(charger.pk)
    assert [(r.kind, r.status, r.request_id, r.detail) for r in reports] == [
        (ChargerReport.Kind.CHARGING_LIMIT, "EMS limit", None, limit),
        (ChargerReport.Kind.CHARGING_LIMIT, "SO limit", None, bare),
    ]


# --- Malformed: part 4 sec. 4.3 -------------------------------------------------------------


CUSTOMER_INFORMATION = _customer_information(0, "x")
CHARGING_PROFILES = {"requestId": 1, "chargingLimitSource": "CSO", "evseId": 1, "chargingProfile": [PROFILE]}
CHARGING_LIMIT = {"chargingLimit": {"chargingLimitSource": "EMS"}}


def _without(payload: dict, key: str) -> dict:
    return {k: v for k, v in payload.items() if k != key}


@pytest.mark.parametrize(
    ("action", "payload", "error_code"),
    [
        # A required field missing, or an array under its minimum: occurrence constraints.
        ("NotifyCustomerInformation", _without(CUSTOMER_INFORMATION, "data"), "OccurrenceConstraintViolation"),
        ("NotifyCustomerInformation", _without(CUSTOMER_INFORMATION, "seqNo"), "OccurrenceConstraintViolation"),
        ("ReportChargingProfiles", {**CHARGING_PROFILES, "chargingProfile": []}, "OccurrenceConstraintViolation"),
        ("ReportChargingProfiles", _without(CHARGING_PROFILES, "evseId"), "OccurrenceConstraintViolation"),
        ("NotifyChargingLimit", {}, "OccurrenceConstraintViolation"),
        ("NotifyChargingLimit", {"chargingLimit": {"isGridCritical": True}}, "OccurrenceConstraintViolation"),
        # A field of the wrong JSON type: data type constraints.
        ("NotifyCustomerInformation", {**CUSTOMER_INFORMATION, "seqNo": "0"}, "TypeConstraintViolation"),
        ("NotifyCustomerInformation", {**CUSTOMER_INFORMATION, "tbc": "yes"}, "TypeConstraintViolation"),
        ("ReportChargingProfiles", {**CHARGING_PROFILES, "evseId": 1.5}, "TypeConstraintViolation"),
        ("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "EMS", "isGridCritical": "no"}},
         "TypeConstraintViolation"),
        # Of the right type, but an invalid value: an enum, a length, a date-time.
        ("NotifyCustomerInformation", {**CUSTOMER_INFORMATION, "data": "x" * 513}, "PropertyConstraintViolation"),
        ("NotifyCustomerInformation", {**CUSTOMER_INFORMATION, "generatedAt": "yesterday"},
         "PropertyConstraintViolation"),
        ("ReportChargingProfiles", {**CHARGING_PROFILES, "chargingLimitSource": "Grid"},
         "PropertyConstraintViolation"),
        ("NotifyChargingLimit", {"chargingLimit": {"chargingLimitSource": "Utility"}}, "PropertyConstraintViolation"),
        # A property the schema does not have (additionalProperties false, part 4 sec. 5.4).
        ("NotifyCustomerInformation", {**CUSTOMER_INFORMATION, "customerId": "J. Doe"}, "FormatViolation"),
        ("NotifyChargingLimit", {**CHARGING_LIMIT, "limit": 16}, "FormatViolation"),
    ],
)  # fmt: skip
async def test_a_malformed_notification_gets_its_callerror_and_nothing_is_stored(
    charger, station, action, payload, error_code
):
    code, description = await station.error(action, payload)
    assert code == error_code, description
    assert description
    assert await db(_reports)(charger.pk) == []
