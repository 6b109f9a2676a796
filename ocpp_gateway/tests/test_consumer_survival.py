"""The consumer survives what goes wrong on our side (issue 15): a bug is answered and logged
once instead of dropping the socket, a close always ends cleanly, and expected faults (a
database outage) log a line, not a traceback per frame. The live tests
(test_live_hostile_frames.py) show the same against a real server."""

import asyncio
import logging

import pytest
from channels.layers import get_channel_layer
from uvicorn.protocols.utils import ClientDisconnected

from charging.tests.factories import IdTokenFactory
from ocpp_gateway import rpc
from ocpp_gateway.consumer import OcppConsumer
from ocpp_gateway.tests.conftest import CALLERROR, CALLRESULT, db, start_payload
from sites.models import Charger

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


def _gateway_records(caplog) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name.startswith("ocpp_gateway")]


async def test_a_bug_outside_the_handler_is_answered_internal_error_and_logged_once(connected, monkeypatch, caplog):
    def broken(*args):
        raise RuntimeError("a bug in building the reply")

    monkeypatch.setattr(rpc, "call_result_frame", broken)
    with caplog.at_level(logging.WARNING):
        for _ in range(5):
            await connected.send_call("Heartbeat", {})
            reply = await connected.receive()
            assert reply[:3] == [CALLERROR, "-1", "InternalError"]
    [record] = _gateway_records(caplog)
    assert record.levelname == "ERROR"
    assert record.exc_info[0] is RuntimeError  # a bug: with its traceback
    assert "CP-ACCEPTED-1" in record.getMessage()
    monkeypatch.undo()
    assert (await connected.call("Heartbeat", {}))[0] == CALLRESULT  # the socket is still open


async def test_a_socket_gone_while_answering_is_not_a_bug(connected, monkeypatch, caplog):
    send = OcppConsumer.send

    async def gone(self, *args, **kwargs):
        raise ClientDisconnected

    monkeypatch.setattr(OcppConsumer, "send", gone)
    with caplog.at_level(logging.WARNING):
        await connected.send_call("Heartbeat", {})
        assert await connected.nothing_more()
    assert _gateway_records(caplog) == []
    monkeypatch.setattr(OcppConsumer, "send", send)
    assert (await connected.call("Heartbeat", {}))[0] == CALLRESULT


async def test_disconnect_waits_for_the_outbound_calls_task(connected, monkeypatch):
    # Cancelled but not awaited, the task outlived the consumer: destroyed pending when the
    # consumer died, and reporting its call as disconnected only after the close was done.
    reported = []
    report = OcppConsumer._report

    async def slow_report(self, call, outcome):
        await asyncio.sleep(0.3)
        await report(self, call, outcome)
        reported.append(outcome.status)

    disconnect = OcppConsumer.disconnect

    async def watched(self, code):
        await disconnect(self, code)
        reported.append("disconnect done")

    monkeypatch.setattr(OcppConsumer, "_report", slow_report)
    monkeypatch.setattr(OcppConsumer, "disconnect", watched)
    channel = await db(lambda: Charger.objects.get(charge_point_id=connected.charge_point_id).channel_name)()
    layer = get_channel_layer()
    await layer.send(channel, {"type": "ocpp.call", "action": "Reset", "payload": {"type": "Soft"}, "timeout": 30})
    assert (await connected.receive())[2] == "Reset"  # sent; the charger never answers
    await connected.disconnect()
    assert reported == ["disconnected", "disconnect done"]


async def test_a_bug_in_disconnect_still_ends_the_consumer(connected, monkeypatch, caplog):
    async def broken(self):
        raise RuntimeError("a bug while closing")

    monkeypatch.setattr(OcppConsumer, "_stop_sender", broken)
    with caplog.at_level(logging.WARNING):
        await connected.disconnect()  # raises if the application ends with an exception
    [record] = _gateway_records(caplog)
    assert record.exc_info[0] is RuntimeError


@pytest.fixture
def tag(charger):
    return IdTokenFactory(organization=charger.charger.site.organization, id_tag="TAG-OK")


async def test_a_database_outage_logs_a_line_not_a_traceback_per_frame(tag, connected, database_outage, caplog):
    database_outage.down = True
    with caplog.at_level(logging.WARNING):
        for number in range(10):
            code, _ = await connected.error("StartTransaction", start_payload(meter_start=number))
            assert code == "InternalError"  # R9: the charger retries later
    database_outage.down = False
    records = _gateway_records(caplog)
    assert records, "the outage is reported"
    assert [record for record in records if record.exc_info] == []
    assert len(records) <= 4  # a line per kind (consumer, group commit), not one per frame
    assert any("CP-ACCEPTED-1" in record.getMessage() for record in records)
