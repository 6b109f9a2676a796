"""CALLs from the central system to a charger: sent beside the receive path, one at a time."""

import base64
import time

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.db import connections

from csms.asgi import application
from ocpp_gateway.message_log import discard_buffered_frames, stop_message_log_writer
from sites.models import Charger, RegistrationStatus
from sites.services import issue_charger_key, register_charger
from sites.tests.factories import SiteFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@sync_to_async
def _charger(status: str = RegistrationStatus.ACCEPTED) -> tuple[str, str]:
    charger = register_charger(
        site=SiteFactory(), charge_point_id="OUT-1", connector_count=1, registration_status=status
    )
    return charger.charge_point_id, issue_charger_key(charger=charger)


@sync_to_async
def _channel_of(charge_point_id: str) -> str:
    return Charger.objects.get(charge_point_id=charge_point_id).channel_name


async def _connect(charge_point_id: str, key: str) -> WebsocketCommunicator:
    token = base64.b64encode(f"{charge_point_id}:{key}".encode())
    communicator = WebsocketCommunicator(
        application,
        f"/ocpp/{charge_point_id}",
        subprotocols=["ocpp1.6"],
        headers=[(b"authorization", b"Basic " + token)],
    )
    connected, _ = await communicator.connect()
    assert connected
    return communicator


@pytest_asyncio.fixture
async def charger_socket():
    charge_point_id, key = await _charger()
    communicator = await _connect(charge_point_id, key)
    yield charge_point_id, communicator
    await communicator.disconnect()
    await stop_message_log_writer()
    discard_buffered_frames()
    await sync_to_async(connections.close_all)()


async def _request(charge_point_id: str, action: str, payload: dict, reply_within: float = 5) -> str:
    layer = get_channel_layer()
    reply_to = await layer.new_channel("test.")
    await layer.send(
        await _channel_of(charge_point_id),
        {"type": "ocpp.call", "action": action, "payload": payload, "timeout": reply_within, "reply_to": reply_to,
         "reference": "cmd-1"},
    )  # fmt: skip
    return reply_to


@pytest.mark.asyncio
async def test_charger_calls_are_answered_while_a_central_system_call_waits(charger_socket):
    """R18: the charger sends StatusNotification while we wait for its GetConfiguration reply."""
    charge_point_id, ws = charger_socket
    reply_to = await _request(charge_point_id, "GetConfiguration", {"key": ["HeartbeatInterval"]})
    outbound = await ws.receive_json_from(timeout=5)
    assert outbound[0] == 2
    assert outbound[2:] == ["GetConfiguration", {"key": ["HeartbeatInterval"]}]

    await ws.send_json_to(
        [2, "s1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Available"}]
    )
    assert await ws.receive_json_from(timeout=5) == [3, "s1", {}]

    configuration = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
    await ws.send_json_to([3, outbound[1], configuration])
    outcome = await get_channel_layer().receive(reply_to)
    assert outcome["status"] == "result"
    assert outcome["payload"] == configuration
    assert outcome["reference"] == "cmd-1"


@pytest.mark.asyncio
async def test_calls_are_sent_one_at_a_time(charger_socket):
    charge_point_id, ws = charger_socket
    await _request(charge_point_id, "ClearCache", {})
    second = await _request(charge_point_id, "ClearCache", {})
    first_call = await ws.receive_json_from(timeout=5)
    assert await ws.receive_nothing(timeout=0.3)  # the second waits for the first's reply
    await ws.send_json_to([3, first_call[1], {"status": "Accepted"}])
    second_call = await ws.receive_json_from(timeout=5)
    assert second_call[1] != first_call[1]
    await ws.send_json_to([3, second_call[1], {"status": "Rejected"}])
    assert (await get_channel_layer().receive(second))["payload"] == {"status": "Rejected"}


@pytest.mark.asyncio
async def test_late_reply_is_logged_and_not_matched_to_the_next_call(charger_socket):
    """R17: a reply after the timeout is not an answer to anything else, and gets no CALLERROR."""
    charge_point_id, ws = charger_socket
    first = await _request(charge_point_id, "ClearCache", {}, reply_within=0.2)
    late_call = await ws.receive_json_from(timeout=5)
    assert (await get_channel_layer().receive(first))["status"] == "timeout"

    second = await _request(charge_point_id, "ClearCache", {})
    next_call = await ws.receive_json_from(timeout=5)
    await ws.send_json_to([3, late_call[1], {"status": "Accepted"}])  # too late
    assert await ws.receive_nothing(timeout=0.3)
    await ws.send_json_to([3, next_call[1], {"status": "Rejected"}])
    assert (await get_channel_layer().receive(second))["payload"] == {"status": "Rejected"}


@pytest.mark.asyncio
async def test_call_error_reply_is_reported(charger_socket):
    charge_point_id, ws = charger_socket
    reply_to = await _request(charge_point_id, "DataTransfer", {"vendorId": "x"})
    call = await ws.receive_json_from(timeout=5)
    await ws.send_json_to([4, call[1], "NotSupported", "no", {}])
    outcome = await get_channel_layer().receive(reply_to)
    assert (outcome["status"], outcome["error_code"]) == ("error", "NotSupported")


@pytest.mark.parametrize(
    ("status", "action", "sent"),
    [
        (RegistrationStatus.PENDING, "GetConfiguration", True),
        (RegistrationStatus.PENDING, "RemoteStartTransaction", False),
        (RegistrationStatus.REJECTED, "GetConfiguration", False),
    ],
)
@pytest.mark.asyncio
async def test_pending_charger_gets_only_configuration_and_rejected_gets_nothing(status, action, sent):
    """R14 / S8."""
    charge_point_id, key = await _charger(status)
    ws = await _connect(charge_point_id, key)
    try:
        reply_to = await _request(charge_point_id, action, {"idTag": "X"} if action.startswith("Remote") else {})
        if sent:
            assert (await ws.receive_json_from(timeout=5))[2] == action
        else:
            outcome = await get_channel_layer().receive(reply_to)
            assert outcome["status"] == "not_sent"
            assert await ws.receive_nothing(timeout=0.3)
    finally:
        await ws.disconnect()
        await stop_message_log_writer()
        discard_buffered_frames()
        await sync_to_async(connections.close_all)()


@pytest.mark.asyncio
async def test_a_day_old_connection_still_receives_calls(charger_socket, monkeypatch):
    """R24: nothing on the way from a command to the socket expires with age. The route is the
    consumer's own channel name stored on the charger (no channel-layer groups, whose
    membership expires), and uvicorn has no age limit for WebSockets (see serve.py)."""
    charge_point_id, ws = charger_socket
    real_time = time.time
    monkeypatch.setattr(time, "time", lambda: real_time() + 25 * 3600)
    reply_to = await _request(charge_point_id, "ClearCache", {})
    call = await ws.receive_json_from(timeout=5)
    await ws.send_json_to([3, call[1], {"status": "Accepted"}])
    assert (await get_channel_layer().receive(reply_to))["payload"] == {"status": "Accepted"}


def test_server_options_keep_websockets_open_and_cap_frames(settings):
    import uvicorn

    from ocpp_gateway.consumer import OcppConsumer
    from ocpp_gateway.management.commands.serve import server_options

    options = server_options()
    assert options["ws_max_size"] == settings.OCPP_MAX_FRAME_BYTES
    assert (options["ws_ping_interval"], options["ws_ping_timeout"]) == (
        settings.OCPP_WS_PING_INTERVAL,
        settings.OCPP_WS_PING_TIMEOUT,
    )
    uvicorn.Config("csms.asgi:application", **options)  # valid uvicorn options
    assert not OcppConsumer.groups  # joins no channel-layer group
