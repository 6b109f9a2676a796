"""Faults and hostile input at the consumer: a database outage (R9), chargers that are not
Accepted (R14, S8), malformed frames (R20), data the database cannot hold (R8), frame size
and fuzzing (S10)."""

import asyncio
import json
import random
import string
from collections import OrderedDict

import pytest
from django.db import DataError, IntegrityError

from charging.models import ChargingSession, MeterValue, SessionState, TransactionIdAllocation
from charging.tests.factories import IdTokenFactory
from ocpp_gateway import group_commit
from ocpp_gateway.consumer import _recent_calls
from ocpp_gateway.rpc import ERROR_CODES
from ocpp_gateway.tests.conftest import (
    CALLERROR,
    CALLRESULT,
    boot,
    db,
    frame,
    iso,
    meter_values_payload,
    now_s,
    sampled,
    start_payload,
    stop_payload,
    until,
)
from ocpp_gateway.v16.handlers import HANDLERS
from sites.models import Charger, Connector, RegistrationStatus, StatusNotificationRecord

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

CODES_16 = set(ERROR_CODES["ocpp1.6"].values())


@pytest.fixture
def tag(charger):
    return IdTokenFactory(organization=charger.charger.site.organization, id_tag="TAG-OK")


def _sessions(charger_pk: int) -> list[ChargingSession]:
    return list(ChargingSession.objects.filter(charger_id=charger_pk).order_by("pk"))


def _allocations() -> int:
    return TransactionIdAllocation.objects.count()


def _meter_values(**filters) -> list[MeterValue]:
    return list(MeterValue.objects.filter(**filters).order_by("pk"))


def _charger(pk: int) -> Charger:
    return Charger.objects.get(pk=pk)


async def _still_open(client) -> None:
    """The socket is open and the consumer alive: a Heartbeat is answered."""
    assert "currentTime" in await client.result("Heartbeat", {})


# --- R9: the database is unavailable ------------------------------------------------------


async def test_database_outage_during_start_transaction(charger, tag, connected, database_outage):
    payload = start_payload()
    # The database fails in the middle of the transaction: the id is allocated, then the
    # session insert fails. Everything must be rolled back, and the charger told to retry.
    database_outage.only = 'INSERT INTO "charging_chargingsession"'
    database_outage.down = True
    code, _ = await connected.error("StartTransaction", payload, message_id="start-1")
    assert code == "InternalError"  # never Invalid, never transactionId 0
    # Fully down now: Heartbeat is still answered (it carries only our clock).
    database_outage.only = None
    assert "currentTime" in await connected.result("Heartbeat", {})
    code, _ = await connected.error("StartTransaction", payload, message_id="start-1")
    assert code == "InternalError"
    assert database_outage.refused

    database_outage.down = False
    assert await db(_sessions)(charger.pk) == []
    assert await db(_allocations)() == 0  # the allocated id was rolled back too
    # The charger retries the same message after recovery: applied exactly once.
    reply = await connected.result("StartTransaction", payload, message_id="start-1")
    assert reply["transactionId"] > 0
    assert reply["idTagInfo"]["status"] == "Accepted"
    assert await connected.result("StartTransaction", payload, message_id="start-1") == reply
    assert await connected.result("StartTransaction", payload) == reply  # and with a new id (R2)
    [session] = await db(_sessions)(charger.pk)
    assert session.transaction_id == reply["transactionId"]
    assert not session.needs_review


@pytest.mark.parametrize("error", [DataError, IntegrityError])
async def test_data_the_database_refuses_is_not_answered_with_internal_error(
    charger, tag, connected, database_outage, error
):
    """R8: data that can never be stored must not make the charger retry forever."""
    database_outage.only = 'INSERT INTO "charging_chargingsession"'
    database_outage.error = error
    database_outage.down = True
    code, _ = await connected.error("StartTransaction", start_payload(), message_id="start-1")
    assert code == "PropertyConstraintViolation"
    database_outage.down = False
    assert await db(_sessions)(charger.pk) == []


async def test_database_outage_during_stop_transaction(charger, tag, connected, database_outage):
    started = now_s()
    transaction_id = (await connected.result("StartTransaction", start_payload(meter_start=1000, at=started)))[
        "transactionId"
    ]
    data = [{"timestamp": iso(started), "sampledValue": [{"value": "3000", "context": "Transaction.End"}]}]
    payload = stop_payload(transaction_id, meter_stop=3000, at=started, transactionData=data)
    # The meter values are inserted, then the session update fails.
    database_outage.only = 'UPDATE "charging_chargingsession"'
    database_outage.down = True
    code, _ = await connected.error("StopTransaction", payload, message_id="stop-1")
    assert code == "InternalError"
    database_outage.down = False

    [session] = await db(_sessions)(charger.pk)
    assert session.state == SessionState.ACTIVE
    assert session.meter_stop_wh is None
    assert await db(_meter_values)(charger_id=charger.pk) == []  # rolled back with the update

    assert await connected.result("StopTransaction", payload, message_id="stop-1") == {}
    assert await connected.result("StopTransaction", payload) == {}  # a second retry: no effect
    [session] = await db(_sessions)(charger.pk)
    assert (session.state, session.meter_stop_wh, session.energy_wh) == (SessionState.COMPLETED, 3000, 2000)
    assert len(await db(_meter_values)(charger_id=charger.pk)) == 1


async def test_database_outage_keeps_heartbeats_and_status_is_written_after_it(
    charger, connected, database_outage, monkeypatch
):
    """A StatusNotification is not transaction-related (1.6 sec. 3.7): a charger need not send
    it again, so it is acknowledged during an outage and written by us once the database is back."""
    monkeypatch.setattr(group_commit, "RETRY_DELAY", 0.05)

    def history():
        return list(StatusNotificationRecord.objects.filter(charger_id=charger.pk).values_list("status", flat=True))

    database_outage.down = True
    assert "currentTime" in await connected.result("Heartbeat", {})
    status = {"connectorId": 1, "status": "Charging", "errorCode": "NoError", "timestamp": iso(now_s())}
    assert await connected.result("StatusNotification", status) == {}
    retrying = group_commit.STATUS_NOTIFICATIONS.retrying
    await until(lambda: retrying)  # its first write failed
    await asyncio.sleep(0.2)  # tried again (and failed) while the database is down
    assert database_outage.refused

    database_outage.down = False
    # Written by a retry after the outage: poll, as an attempt begun during it may still fail
    # and wait for the next retry (a drain returns with it waiting).
    async with asyncio.timeout(5):
        while await db(history)() != ["Charging"]:  # noqa: ASYNC110 (a timer of the gateway writes it)
            await asyncio.sleep(0.05)
    assert not retrying
    connector = await db(lambda: Connector.objects.get(charger_id=charger.pk, connector_id=1))()
    assert connector.status == "Charging"


# --- R14, S8: Pending and Rejected chargers ------------------------------------------------

NOT_BEFORE_ACCEPTED = [
    ("Heartbeat", {}),
    ("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}),
    ("Authorize", {"idTag": "TAG-OK"}),
    ("StartTransaction", start_payload()),
    ("MeterValues", meter_values_payload(sampled("10"))),
    ("StopTransaction", stop_payload(1)),
    ("DataTransfer", {"vendorId": "com.example"}),
    ("DiagnosticsStatusNotification", {"status": "Idle"}),
    ("FirmwareStatusNotification", {"status": "Idle"}),
    ("LogStatusNotification", {"status": "Idle"}),
    ("SignedFirmwareStatusNotification", {"status": "Idle"}),
    ("SecurityEventNotification", {"type": "StartupOfTheDevice", "timestamp": "2026-03-01T12:00:00Z"}),
    # A CSR of a charger the operator has not accepted is never signed.
    ("SignCertificate", {"csr": "-----BEGIN CERTIFICATE REQUEST-----\n-----END CERTIFICATE REQUEST-----\n"}),
]
NOT_BEFORE_ACCEPTED_ACTIONS = [action for action, _ in NOT_BEFORE_ACCEPTED]


@pytest.mark.parametrize("status", [RegistrationStatus.PENDING, RegistrationStatus.REJECTED])
async def test_charger_not_accepted_may_only_boot(make_charger, open_client, settings, status):
    settings.OCPP_BOOT_RETRY_INTERVAL = 90
    held = await db(make_charger)("CP-HELD", registration_status=status)
    client = await open_client(held)
    # Before any BootNotification (the stored state applies: R12) and after one.
    code, _ = await client.error("Heartbeat", {})
    assert code == "SecurityError"
    reply = await boot(client)
    assert (reply["status"], reply["interval"]) == (status, 90)
    for action, payload in NOT_BEFORE_ACCEPTED:
        code, _ = await client.error(action, payload)
        assert code == "SecurityError", action
    assert sorted(NOT_BEFORE_ACCEPTED_ACTIONS) == sorted(set(HANDLERS) - {"BootNotification"})

    stored = await db(_charger)(held.pk)
    assert stored.last_heartbeat_at is None
    assert await db(_sessions)(held.pk) == []

    def nothing_recorded() -> bool:
        return not StatusNotificationRecord.objects.filter(charger_id=held.pk).exists()

    assert await db(nothing_recorded)()


async def test_pending_charger_is_served_once_accepted_and_booted_again(make_charger, open_client):
    held = await db(make_charger)("CP-HELD", registration_status=RegistrationStatus.PENDING)
    client = await open_client(held)
    assert (await boot(client))["status"] == "Pending"
    await db(Charger.objects.filter(pk=held.pk).update)(registration_status=RegistrationStatus.ACCEPTED)
    reply = await boot(client)
    assert (reply["status"], reply["interval"]) == ("Accepted", 300)
    await _still_open(client)


# --- R20: malformed frames -------------------------------------------------------------------

LONG_ID = "x" * 37
MALFORMED = [
    # (case, frame text, 1.6 error code, id answered)
    ("invalid JSON", '[2, "m-json", "Heartbeat", {]', "FormationViolation", "-1"),
    ("truncated", '[2, "m-trunc", "Heart', "FormationViolation", "-1"),
    ("not an array", '{"messageTypeId": 2}', "FormationViolation", "-1"),
    ("a bare number", "42", "FormationViolation", "-1"),
    ("empty array", "[]", "FormationViolation", "-1"),
    ("unknown message type", frame(7, "m-type", "Heartbeat", {}), "FormationViolation", "m-type"),
    ("message type as text", frame("2", "m-type-text", "Heartbeat", {}), "FormationViolation", "m-type-text"),
    ("message type true", frame(True, "m-bool", "Heartbeat", {}), "FormationViolation", "m-bool"),
    ("message id not a string", frame(2, 17, "Heartbeat", {}), "FormationViolation", "-1"),
    ("empty message id", frame(2, "", "Heartbeat", {}), "FormationViolation", "-1"),
    ("CALL without payload", frame(2, "m-short", "Heartbeat"), "FormationViolation", "m-short"),
    ("CALL with an extra element", frame(2, "m-long", "Heartbeat", {}, {}), "FormationViolation", "m-long"),
    ("action not a string", frame(2, "m-action", 5, {}), "FormationViolation", "m-action"),
    ("unknown action", frame(2, "m-unknown", "FlyToTheMoon", {}), "NotImplemented", "m-unknown"),
    ("2.0.1 action TransactionEvent", frame(2, "m-201a", "TransactionEvent", {}), "NotImplemented", "m-201a"),
    ("2.0.1 action NotifyReport", frame(2, "m-201b", "NotifyReport", {}), "NotImplemented", "m-201b"),
    ("CSMS action from the charger", frame(2, "m-csms", "RemoteStartTransaction", {"idTag": "X"}), "NotSupported",
     "m-csms"),
    ("missing field", frame(2, "m-missing", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"}),
     "OccurrenceConstraintViolation", "m-missing"),
    ("wrong type", frame(2, "m-type-c", "StatusNotification",
                         {"connectorId": "1", "status": "Available", "errorCode": "NoError"}),
     "TypeConstraintViolation", "m-type-c"),
    ("extra property", frame(2, "m-extra", "Heartbeat", {"battery": 99}), "FormationViolation", "m-extra"),
    ("bad enum", frame(2, "m-enum", "StatusNotification",
                       {"connectorId": 1, "status": "Sleeping", "errorCode": "NoError"}),
     "PropertyConstraintViolation", "m-enum"),
    ("string too long", frame(2, "m-len", "Authorize", {"idTag": "T" * 21}), "PropertyConstraintViolation", "m-len"),
    ("unreadable timestamp", frame(2, "m-ts", "StartTransaction",
                                   {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": "yesterday"}),
     "PropertyConstraintViolation", "m-ts"),
    ("37-character message id", frame(2, LONG_ID, "Heartbeat", {}), "OccurrenceConstraintViolation", "-1"),
    ("null payload", frame(2, "m-null", "Heartbeat", None), "FormationViolation", "m-null"),
    ("array payload", frame(2, "m-list", "Heartbeat", []), "FormationViolation", "m-list"),
    ("CALLRESULT with an unknown id", frame(3, "m-result", {}), "ProtocolError", "m-result"),
    ("CALLERROR with an unknown id", frame(4, "m-error", "GenericError", "", {}), "ProtocolError", "m-error"),
    ("CALLRESULT of the wrong length", frame(3, "m-result-short"), "FormationViolation", "m-result-short"),
]  # fmt: skip


@pytest.mark.parametrize(("text", "code", "answered_id"), [case[1:] for case in MALFORMED],
                         ids=[case[0] for case in MALFORMED])  # fmt: skip
async def test_malformed_frame_gets_the_16_error_code_and_the_socket_stays_open(
    charger, connected, text, code, answered_id
):
    await connected.send_raw(text)
    reply = await connected.receive()
    assert reply[0] == CALLERROR
    assert len(reply) == 5
    assert reply[2] == code
    assert reply[2] in CODES_16
    assert reply[2] != "FormatViolation"  # the 2.0.1 spelling; 1.6 keeps FormationViolation
    assert isinstance(reply[3], str)
    assert isinstance(reply[4], dict)
    assert reply[1] == answered_id
    assert await connected.nothing_more()
    await _still_open(connected)


async def test_binary_frame_is_answered_with_formation_violation(connected):
    await connected.send_bytes(b"\x00\x01binary")
    reply = await connected.receive()
    assert reply[:3] == [CALLERROR, "-1", "FormationViolation"]
    await _still_open(connected)


# --- R8: data the database cannot hold ----------------------------------------------------------

UNSTORABLE = [
    ("StartTransaction on connector 0", "StartTransaction", start_payload(connector_id=0)),
    ("StartTransaction on a negative connector", "StartTransaction", start_payload(connector_id=-3)),
    ("StatusNotification for a negative connector", "StatusNotification",
     {"connectorId": -1, "status": "Available", "errorCode": "NoError"}),
    ("StatusNotification for connector 40000", "StatusNotification",
     {"connectorId": 40000, "status": "Available", "errorCode": "NoError"}),
    ("MeterValues for a negative connector", "MeterValues", meter_values_payload(sampled("1"), connector_id=-2)),
    ("meterStart beyond 64 bits", "StartTransaction", start_payload(meter_start=2**70)),
    ("transactionId beyond 64 bits", "StopTransaction", stop_payload(2**70)),
    ("NUL in an idTag", "Authorize", {"idTag": "AB\x00C"}),
    ("unpaired surrogate in an idTag", "Authorize", {"idTag": "AB\ud800C"}),
    ("NUL in status info", "StatusNotification",
     {"connectorId": 1, "status": "Available", "errorCode": "NoError", "info": "x\x00y"}),
    ("NUL in a meter value", "MeterValues", meter_values_payload(sampled("12\x00"))),
    ("NUL in the vendor name", "BootNotification", {"chargePointVendor": "A\x00", "chargePointModel": "M"}),
]  # fmt: skip


@pytest.mark.parametrize(("action", "payload"), [case[1:] for case in UNSTORABLE], ids=[case[0] for case in UNSTORABLE])
async def test_values_the_database_cannot_hold_are_a_permanent_error_not_internal_error(
    charger, tag, connected, action, payload
):
    """A CALLERROR InternalError tells the charger to retry; for data that can never be
    stored that would be forever (R8). The 1.6 answer is PropertyConstraintViolation."""
    code, description = await connected.error(action, payload)
    assert code == "PropertyConstraintViolation", description
    assert await db(_sessions)(charger.pk) == []
    await _still_open(connected)


@pytest.mark.parametrize("value", ["1e30", "1E+5000", "12345678901234567.5", "-" + "9" * 30])
async def test_out_of_range_meter_values_are_kept_and_flagged(charger, tag, connected, value):
    transaction_id = (await connected.result("StartTransaction", start_payload(meter_start=0)))["transactionId"]
    payload = meter_values_payload(sampled(value, unit="kWh"), sampled("2000"), transaction_id=transaction_id)
    assert await connected.result("MeterValues", payload) == {}
    rows = await db(_meter_values)(charger_id=charger.pk)
    assert [(r.raw_value, r.value is None, bool(r.flag)) for r in rows] == [(value, True, True), ("2000", False, False)]
    [session] = await db(_sessions)(charger.pk)
    assert session.energy_wh == 2000


# --- S10: frame size, message ids and fuzzing -----------------------------------------------


async def test_frame_over_the_size_limit_closes_with_1009(charger, open_client, settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    client = await open_client(charger)
    await client.send_raw(frame(2, "big", "DataTransfer", {"vendorId": "x", "data": "a" * 300}))
    assert await client.receive_close() == 1009


async def test_frame_limit_counts_bytes_not_characters(charger, open_client, settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    client = await open_client(charger)
    text = json.dumps([2, "wide", "DataTransfer", {"vendorId": "x", "data": "€" * 100}], ensure_ascii=False)
    assert len(text) < 200 < len(text.encode())
    await client.send_raw(text)
    assert await client.receive_close() == 1009


async def test_frame_at_the_size_limit_is_handled(charger, open_client, settings):
    settings.OCPP_MAX_FRAME_BYTES = 200
    client = await open_client(charger)
    text = frame(2, "fits", "DataTransfer", {"vendorId": "x", "data": ""})
    text = text.replace('"data": ""', '"data": "' + "a" * (200 - len(text)) + '"')
    assert len(text.encode()) == 200
    await client.send_raw(text)
    assert (await client.receive())[:3] == [CALLRESULT, "fits", {"status": "UnknownVendorId"}]


async def test_message_id_of_36_characters_is_fine_and_37_is_refused(connected):
    ok = "y" * 36
    assert (await connected.call("Heartbeat", {}, message_id=ok))[0] == CALLRESULT
    await connected.send_raw(frame(2, "y" * 37, "Heartbeat", {}))
    reply = await connected.receive()
    assert reply[0] == CALLERROR
    assert reply[2] == "OccurrenceConstraintViolation"
    assert reply[1] == "-1"  # not echoed: our CALLERROR's id must be a valid id too (1.6 sec. 4.1.4)


def _random_json(rng: random.Random, depth: int = 0):
    kind = rng.randrange(9 if depth < 4 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2, 3, 4, 2**31, -(2**63), 2**64, rng.randrange(-1000, 1000)])
    if kind == 3:
        return rng.choice([0.5, -1e308, 1e-300, float(rng.randrange(100))])
    if kind == 4:
        alphabet = string.printable + "€\x00\x7f\u202e\ud83d"
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(40)))
    if kind in (5, 6):
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["connectorId", "idTag", "status", "errorCode", "meterStart", "timestamp", "transactionId", "x", ""]
    return {rng.choice(keys): _random_json(rng, depth + 1) for _ in range(rng.randrange(4))}


VALID = [
    ("Heartbeat", {}),
    ("Authorize", {"idTag": "TAG-OK"}),
    ("StatusNotification", {"connectorId": 1, "status": "Available", "errorCode": "NoError"}),
    ("StartTransaction", {"connectorId": 1, "idTag": "TAG-OK", "meterStart": 0, "timestamp": "2025-01-01T00:00:00Z"}),
    ("MeterValues", {"connectorId": 1, "meterValue": [{"timestamp": "2025-01-01T00:00:00Z",
                                                       "sampledValue": [{"value": "1"}]}]}),
    ("StopTransaction", {"transactionId": 1, "meterStop": 10, "timestamp": "2025-01-01T00:01:00Z"}),
    ("DataTransfer", {"vendorId": "v", "data": "d"}),
    ("BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}),
]  # fmt: skip


def _fuzz_frames(seed: int, count: int) -> list[str]:
    rng = random.Random(seed)
    frames = ["[" * 10_000, "[" * 10_000 + "]" * 10_000, '{"a":' * 5000, "\x00", " ", "[2]", "[2,null]"]
    for depth in (500, 900, 995):
        frames.append(frame(2, f"deep-{depth}", "DataTransfer", {"vendorId": "x", "data": "y"}).replace(
            '"y"', "[" * depth + "]" * depth))  # fmt: skip
    while len(frames) < count:
        choice = rng.randrange(6)
        message_id = f"f{len(frames)}"
        if choice == 0:  # any JSON value
            frames.append(json.dumps(_random_json(rng)))
        elif choice == 1:  # a valid CALL cut short
            action, payload = rng.choice(VALID)
            text = frame(2, message_id, action, payload)
            frames.append(text[: rng.randrange(1, len(text))])
        elif choice == 2:  # a valid CALL with one field replaced by garbage
            action, payload = rng.choice(VALID)
            payload = json.loads(json.dumps(payload))
            if payload:
                payload[rng.choice(list(payload))] = _random_json(rng)
            frames.append(frame(2, message_id, action, payload))
        elif choice == 3:  # a random action and payload
            action = rng.choice([*HANDLERS, "Reset", "TransactionEvent", "", "💥"])
            frames.append(frame(2, message_id, action, _random_json(rng)))
        elif choice == 4:  # random frame shapes
            frames.append(json.dumps([rng.choice([2, 3, 4, 5, "2", None]), *[_random_json(rng) for _ in range(4)]]))
        else:  # random bytes as text
            frames.append("".join(chr(rng.randrange(1, 0x2FFF)) for _ in range(rng.randrange(1, 60))))
    return frames


async def test_fuzzed_frames_never_crash_the_consumer(charger, tag, connected):
    frames = _fuzz_frames(seed=20_160_601, count=300)
    internal_errors = []
    for text in frames:
        await connected.send_raw(text)
        reply = await connected.receive()
        assert reply[0] in (CALLRESULT, CALLERROR), (text[:200], reply)
        if reply[0] == CALLERROR:
            assert reply[2] in CODES_16, (text[:200], reply)
            if reply[2] == "InternalError":
                internal_errors.append((text[:200], reply))
        assert await connected.nothing_more(wait=0), text[:200]  # one reply per frame
    # Garbage is never "our fault, retry" (R8): InternalError is kept for real failures.
    assert internal_errors == []
    await _still_open(connected)


async def test_the_duplicate_window_is_bounded(charger, connected, settings):
    settings.OCPP_DUPLICATE_WINDOW = 5
    for n in range(12):
        await connected.result("Heartbeat", {}, message_id=f"hb-{n}")
    recent = _recent_calls[charger.charge_point_id]
    assert isinstance(recent, OrderedDict)
    assert list(recent) == [f"hb-{n}" for n in range(7, 12)]
    assert all(response for _request, response in recent.values())
    # An id that fell out of the window is handled as new.
    assert (await connected.call("Heartbeat", {}, message_id="hb-0"))[0] == CALLRESULT
