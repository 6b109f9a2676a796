"""OCPP 2.0.1 B02 (Cold Boot Charging Station - Pending) through the real consumer, both ways:

- what the CSMS sends a Pending station (B02.FR.01: GetVariables, SetVariables, GetBaseReport,
  GetReport, TriggerMessage); any other command waits in the queue, in order, until Accepted
  (as in 1.6, R14/R16), and a bare call is not sent, with the reason;
- what a Pending station may send (B02.FR.02/B02.FR.09): its BootNotification, and what the CSMS
  asked for on this connection with TriggerMessage, GetBaseReport or GetReport, and only that
  much: the message triggered, once (per EVSE when the trigger named none, F06.FR.11); the parts
  of the report asked for, by requestId, up to the last. Anything else: CALLERROR SecurityError."""

import pytest
import pytest_asyncio
from channels.layers import get_channel_layer
from django.utils import timezone

from ocpp_gateway.tests.conftest import CALLRESULT, db, iso, now_s
from sites.commands import request_command
from sites.commands.intents import Intent, RawCall, ReportBase, RequestReport
from sites.device_model.models import DeviceReport
from sites.models import Charger, Command, CommandStatus, Connector, OcppVersion, RegistrationStatus

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]

OCPP201 = "ocpp2.0.1"
BOOT = {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "X2"}}
STATUS = {"connectorStatus": "Available", "evseId": 1, "connectorId": 1}
GET_VARIABLES = {
    "getVariableData": [{"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]
}
RESET = {"type": "Immediate"}
REMOTE_START = {"idToken": {"idToken": "TAG-1", "type": "ISO14443"}, "remoteStartId": 7, "evseId": 1}


@pytest_asyncio.fixture
async def pending(make_charger):
    """A registered 2.0.1 station the operator holds Pending: EVSEs 1 and 2, a connector each."""

    def make():
        held = make_charger(
            "CS-PENDING", registration_status=RegistrationStatus.PENDING, ocpp_version=OcppVersion.V201,
            connector_count=0,
        )  # fmt: skip
        Connector.objects.bulk_create([Connector(charger=held.charger, evse_id=n, connector_id=1) for n in (1, 2)])
        # Its device model was asked for long ago, so its boot asks for nothing (B07.FR.14).
        Command.objects.create(
            charger=held.charger, intent=RequestReport.kind, fields={"base": ReportBase.FULL_INVENTORY},
            status=CommandStatus.ACCEPTED, expires_at=timezone.now(),
        )  # fmt: skip
        return held

    return await db(make)()


@pytest_asyncio.fixture
async def station(pending, open_client):
    """The Pending station connected with 2.0.1, its boot answered Pending (B02)."""
    client = await open_client(pending, subprotocols=[OCPP201], connect=False)
    assert await client.connect()
    assert client.subprotocol == OCPP201
    reply = await client.result("BootNotification", BOOT)
    assert reply["status"] == "Pending"
    return client


def _command(charger: Charger, intent: Intent) -> Command:
    return request_command(charger=charger, intent=intent)


async def _queue(charger: Charger, action: str, payload: dict) -> Command:
    return await db(_command)(charger, RawCall(action=action, payload=payload))


def _status_of(command_id: int) -> str:
    return Command.objects.get(pk=command_id).status


def _set_registration(charger_id: int, status: str) -> None:
    Charger.objects.filter(pk=charger_id).update(registration_status=status)


async def _next_call(client) -> list:
    frame = await client.receive()
    assert frame[0] == 2, frame
    return frame


async def _asked(client, charger: Charger, action: str, payload: dict, answer: dict) -> list:
    """Queue a command, take its CALL off the socket and answer it as the station."""
    command = await _queue(charger, action, payload)
    call = await _next_call(client)
    assert call[2] == action
    await client.communicator.send_json_to([CALLRESULT, call[1], answer])
    assert await client.nothing_more(0.2)
    assert await db(_status_of)(command.pk) not in (CommandStatus.QUEUED, CommandStatus.SENT)  # settled
    return call


def _report(request_id: int, seq_no: int, *, tbc: bool = False) -> dict:
    return {
        "requestId": request_id,
        "generatedAt": iso(now_s()),
        "seqNo": seq_no,
        "tbc": tbc,
        "reportData": [
            {
                "component": {"name": "SecurityCtrlr"},
                "variable": {"name": "SecurityProfile"},
                "variableAttribute": [{"value": "1", "mutability": "ReadOnly"}],
            }
        ],
    }


def _reports(charger_id: int) -> list[tuple[int, int, bool]]:
    return list(
        DeviceReport.objects.filter(charger_id=charger_id)
        .order_by("request_id")
        .values_list("request_id", "parts_received", "complete")
    )


# --- The CSMS side: B02.FR.01 ---------------------------------------------------------------


async def test_while_pending_only_what_b02_allows_is_sent_and_the_rest_waits_for_accepted(pending, station):
    charger = pending.charger
    read = await _queue(charger, "GetVariables", GET_VARIABLES)
    call = await _next_call(station)
    assert call[2:] == ["GetVariables", GET_VARIABLES]  # B02.FR.01 (B06)
    result = {"getVariableResult": [{"attributeStatus": "Accepted", "attributeValue": "300", **GET_VARIABLES[
        "getVariableData"][0]}]}  # fmt: skip
    await station.communicator.send_json_to([CALLRESULT, call[1], result])
    reset = await _queue(charger, "Reset", RESET)
    start = await _queue(charger, "RequestStartTransaction", REMOTE_START)
    change = await _queue(charger, "SetVariables", {"setVariableData": [{**GET_VARIABLES["getVariableData"][0],
                                                                         "attributeValue": "60"}]})  # fmt: skip
    # Reset and RequestStartTransaction are no B02.FR.01 messages (B02.FR.05: a remote start must
    # wait for Accepted): held, and the SetVariables queued after them waits its turn (R16).
    assert await station.nothing_more(0.5)
    assert [await db(_status_of)(c.pk) for c in (read, reset, start, change)] == [
        CommandStatus.ACCEPTED, CommandStatus.QUEUED, CommandStatus.QUEUED, CommandStatus.QUEUED,
    ]  # fmt: skip
    # The operator accepts the station; its next boot is Accepted, and the queue follows in order.
    await db(_set_registration)(charger.pk, RegistrationStatus.ACCEPTED)
    assert (await station.result("BootNotification", BOOT))["status"] == "Accepted"
    answers = {"Reset": {"status": "Accepted"}, "RequestStartTransaction": {"status": "Accepted"},
               "SetVariables": {"setVariableResult": [{**GET_VARIABLES["getVariableData"][0],
                                                       "attributeStatus": "Accepted"}]}}  # fmt: skip
    for expected in ("Reset", "RequestStartTransaction", "SetVariables"):
        call = await _next_call(station)
        assert call[2] == expected
        await station.communicator.send_json_to([CALLRESULT, call[1], answers[expected]])
    assert await station.nothing_more(0.3)
    assert [await db(_status_of)(c.pk) for c in (reset, start, change)] == [CommandStatus.ACCEPTED] * 3


async def test_a_bare_call_not_allowed_while_pending_is_not_sent_with_the_reason(pending, station):
    layer = get_channel_layer()
    channel = await db(lambda: Charger.objects.get(pk=pending.pk).channel_name)()
    outcomes = {}
    for action, payload in (("Reset", RESET), ("GetVariables", GET_VARIABLES)):
        reply_to = await layer.new_channel("test.")
        await layer.send(channel, {"type": "ocpp.call", "action": action, "payload": payload, "reply_to": reply_to})
        if action == "GetVariables":
            call = await _next_call(station)
            assert call[2] == "GetVariables"
            await station.communicator.send_json_to([CALLRESULT, call[1], {"getVariableResult": []}])
        outcomes[action] = await layer.receive(reply_to)
    assert (outcomes["Reset"]["status"], outcomes["Reset"]["reason"]) == (
        "not_sent", "Reset may not be sent while the charger is Pending",
    )  # fmt: skip
    assert outcomes["GetVariables"]["status"] == "result"
    assert await station.nothing_more(0.2)


# --- The station side: B02.FR.09 ------------------------------------------------------------


async def test_a_triggered_message_is_accepted_once_and_refused_when_not_asked_for(pending, station):
    # Not asked for: SecurityError (B02.FR.09).
    assert (await station.error("StatusNotification", {**STATUS, "timestamp": iso(now_s())}))[0] == "SecurityError"
    trigger = {"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}}
    call = await _asked(station, pending.charger, "TriggerMessage", trigger, {"status": "Accepted"})
    assert call[3] == trigger
    # F06.FR.04: the station answers, then sends what it was asked for: accepted.
    assert await station.result("StatusNotification", {**STATUS, "timestamp": iso(now_s())}) == {}
    # Once: the trigger is used up.
    assert (await station.error("StatusNotification", {**STATUS, "timestamp": iso(now_s())}))[0] == "SecurityError"
    # Nor did it let anything else through.
    assert (await station.error("Heartbeat", {}))[0] == "SecurityError"


async def test_a_trigger_the_station_rejects_lets_nothing_through(pending, station):
    await _asked(station, pending.charger, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Rejected"})
    assert (await station.error("Heartbeat", {}))[0] == "SecurityError"  # F06.FR.05: it will not send it


async def test_a_trigger_naming_no_evse_lets_one_message_per_evse_through(pending, station):
    """F06.FR.11: "for all allowed evse values": MeterValues of each EVSE, each once."""
    await _asked(
        station, pending.charger, "TriggerMessage", {"requestedMessage": "MeterValues"}, {"status": "Accepted"}
    )

    def meter_values(evse_id: int) -> dict:
        return {"evseId": evse_id, "meterValue": [{"timestamp": iso(now_s()), "sampledValue": [{"value": 1200.0}]}]}

    assert await station.result("MeterValues", meter_values(1)) == {}
    assert await station.result("MeterValues", meter_values(2)) == {}
    assert (await station.error("MeterValues", meter_values(1)))[0] == "SecurityError"


async def test_a_heartbeat_asked_for_twice_is_accepted_twice(pending, station):
    for _ in range(2):
        await _asked(station, pending.charger, "TriggerMessage", {"requestedMessage": "Heartbeat"},
                     {"status": "Accepted"})  # fmt: skip
    assert "currentTime" in await station.result("Heartbeat", {})
    assert "currentTime" in await station.result("Heartbeat", {})
    assert (await station.error("Heartbeat", {}))[0] == "SecurityError"


async def test_only_the_parts_of_a_report_asked_for_are_accepted_up_to_the_last(pending, station):
    # No report asked for on this connection: SecurityError.
    assert (await station.error("NotifyReport", _report(7, 0)))[0] == "SecurityError"
    request = {"requestId": 7, "reportBase": "FullInventory"}
    call = await _asked(station, pending.charger, "GetBaseReport", request, {"status": "Accepted"})
    assert call[3] == request
    # Another requestId: not asked for (B07.FR.04: every part carries the request's id).
    assert (await station.error("NotifyReport", _report(8, 0)))[0] == "SecurityError"
    assert await station.result("NotifyReport", _report(7, 0, tbc=True)) == {}
    assert await station.result("NotifyReport", _report(7, 1)) == {}  # the last part (tbc false)
    # The report is complete: nothing more of it is expected.
    assert (await station.error("NotifyReport", _report(7, 2)))[0] == "SecurityError"
    assert await db(_reports)(pending.pk) == [(7, 2, True)]
    # A GetReport with nothing to report (EmptyResultSet) asks for no NotifyReport.
    await _asked(station, pending.charger, "GetReport", {"requestId": 9}, {"status": "EmptyResultSet"})
    assert (await station.error("NotifyReport", _report(9, 0)))[0] == "SecurityError"


async def test_a_report_part_answered_internal_error_may_be_sent_again(pending, station, database_outage):
    """The permit is used when the part is stored, not when it arrives: a part answered
    InternalError (R9) is sent again by the station, and then accepted."""
    await _asked(station, pending.charger, "GetBaseReport", {"requestId": 3, "reportBase": "SummaryInventory"},
                 {"status": "Accepted"})  # fmt: skip
    database_outage.only = 'INSERT INTO "sites_devicereport"'
    database_outage.down = True
    assert (await station.error("NotifyReport", _report(3, 0)))[0] == "InternalError"
    database_outage.down = False
    assert await station.result("NotifyReport", _report(3, 0)) == {}
    assert (await station.error("NotifyReport", _report(3, 1)))[0] == "SecurityError"


async def test_what_was_asked_for_before_accepted_does_not_outlive_it(pending, station):
    """A trigger left unused when the station is Accepted is void: held Pending again later, the
    station may not send it (it is no answer to anything asked of it since)."""
    await _asked(station, pending.charger, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    await db(_set_registration)(pending.pk, RegistrationStatus.ACCEPTED)
    assert (await station.result("BootNotification", BOOT))["status"] == "Accepted"
    assert "currentTime" in await station.result("Heartbeat", {})
    await db(_set_registration)(pending.pk, RegistrationStatus.PENDING)
    assert (await station.result("BootNotification", BOOT))["status"] == "Pending"
    assert (await station.error("Heartbeat", {}))[0] == "SecurityError"


async def test_a_new_connection_starts_with_nothing_asked_for(pending, station, open_client):
    await _asked(station, pending.charger, "TriggerMessage", {"requestedMessage": "Heartbeat"}, {"status": "Accepted"})
    await station.disconnect()
    again = await open_client(pending, subprotocols=[OCPP201], connect=False)
    assert await again.connect()
    assert (await again.result("BootNotification", BOOT))["status"] == "Pending"
    assert (await again.error("Heartbeat", {}))[0] == "SecurityError"
