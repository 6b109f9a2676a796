"""Durable commands (R16, R17): sent at once to an online charger, queued for an offline one
and delivered in order on its return, each outcome recorded on the Command row."""

import base64
import datetime as dt

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import connections
from django.utils import timezone

from csms.asgi import application
from ocpp_gateway.message_log import discard_buffered_frames, stop_message_log_writer
from sites.commands import request_command
from sites.commands.intents import RawCall
from sites.models import Charger, Command, CommandStatus, RegistrationStatus
from sites.services import issue_charger_key, register_charger
from sites.tests.factories import SiteFactory

pytestmark = [pytest.mark.asyncio, pytest.mark.django_db(transaction=True)]


@sync_to_async
def _new_charger(status: str = RegistrationStatus.ACCEPTED) -> tuple[Charger, str]:
    charger = register_charger(
        site=SiteFactory(), charge_point_id="CMD-1", connector_count=2, registration_status=status
    )
    return charger, issue_charger_key(charger=charger)


@sync_to_async
def _request(charger: Charger, action: str, payload: dict | None = None, **options) -> Command:
    return request_command(charger=charger, intent=RawCall(action=action, payload=payload or {}), **options)


@sync_to_async
def _command(command_id: int) -> Command:
    return Command.objects.get(pk=command_id)


class Charger16:
    """A charger's side of the socket."""

    def __init__(self, charger: Charger, key: str) -> None:
        token = base64.b64encode(f"{charger.charge_point_id}:{key}".encode())
        self.ws = WebsocketCommunicator(
            application,
            f"/ocpp/{charger.charge_point_id}",
            subprotocols=["ocpp1.6"],
            headers=[(b"authorization", b"Basic " + token)],
        )

    async def __aenter__(self) -> "Charger16":
        connected, _ = await self.ws.connect()
        assert connected
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.disconnect()

    async def next_call(self) -> list:
        frame = await self.ws.receive_json_from(timeout=5)
        assert frame[0] == 2, frame
        return frame

    async def answer(self, call: list, payload: dict) -> None:
        await self.ws.send_json_to([3, call[1], payload])


@pytest_asyncio.fixture
async def charger():
    charger, key = await _new_charger()
    yield charger, key
    await stop_message_log_writer()
    discard_buffered_frames()
    await sync_to_async(connections.close_all)()


async def test_online_charger_gets_the_command_at_once_and_the_result_is_recorded(charger):
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "GetConfiguration", {"key": ["HeartbeatInterval"]})
        call = await station.next_call()
        assert call[2:] == ["GetConfiguration", {"key": ["HeartbeatInterval"]}]
        configuration = {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
        await station.answer(call, configuration)
        assert await station.ws.receive_nothing(timeout=0.3)
    command = await _command(command.pk)
    assert (command.status, command.result, command.message_id, command.attempts) == (
        CommandStatus.ACCEPTED,
        configuration,
        call[1],
        1,
    )
    assert command.sent_at <= command.finished_at


async def test_commands_for_an_offline_charger_wait_and_arrive_in_order(charger):
    charger, key = charger
    queued = [
        await _request(charger, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": str(n)}) for n in range(3)
    ]
    assert {(await _command(c.pk)).status for c in queued} == {CommandStatus.QUEUED}
    async with Charger16(charger, key) as station:
        for expected in range(3):
            call = await station.next_call()
            assert call[3]["value"] == str(expected)
            assert await station.ws.receive_nothing(timeout=0.1)  # one at a time
            await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
    assert [(await _command(c.pk)).status for c in queued] == [CommandStatus.ACCEPTED] * 3


async def test_an_expired_command_is_never_sent(charger):
    charger, key = charger
    command = await _request(charger, "UnlockConnector", {"connectorId": 1})
    await sync_to_async(Command.objects.filter(pk=command.pk).update)(
        expires_at=timezone.now() - dt.timedelta(seconds=1)
    )
    async with Charger16(charger, key) as station:
        assert await station.ws.receive_nothing(timeout=0.5)
    assert (await _command(command.pk)).status == CommandStatus.EXPIRED


async def test_a_duplicate_idempotency_key_is_sent_once(charger):
    charger, key = charger
    first = await _request(charger, "Reset", {"type": "Soft"}, idempotency_key="reset-42")
    again = await _request(charger, "Reset", {"type": "Soft"}, idempotency_key="reset-42")
    assert first.pk == again.pk
    async with Charger16(charger, key) as station:
        call = await station.next_call()
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.5)
    assert await sync_to_async(Command.objects.count)() == 1


@pytest.mark.parametrize(
    ("reply", "status"),
    [
        ([3, None, {"status": "Rejected"}], CommandStatus.REJECTED),
        ([3, None, {"status": "Unlocked"}], CommandStatus.ACCEPTED),
        ([4, None, "NotSupported", "no", {}], CommandStatus.FAILED),
    ],
)
async def test_the_charger_answer_decides_the_status(charger, reply, status):
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "UnlockConnector", {"connectorId": 1})
        call = await station.next_call()
        reply[1] = call[1]
        await station.ws.send_json_to(reply)
        assert await station.ws.receive_nothing(timeout=0.3)
    command = await _command(command.pk)
    assert command.status == status
    if status == CommandStatus.FAILED:
        assert command.error_code == "NotSupported"


async def test_no_answer_in_time_is_a_timeout_and_a_late_answer_changes_nothing(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.3
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "UnlockConnector", {"connectorId": 1})  # not retried
        call = await station.next_call()
        assert await station.ws.receive_nothing(timeout=0.6)
        await station.answer(call, {"status": "Accepted"})  # late (R17)
        assert await station.ws.receive_nothing(timeout=0.3)
    assert (await _command(command.pk)).status == CommandStatus.TIMED_OUT


async def test_a_pending_charger_gets_its_commands_once_accepted(charger):
    charger, key = charger
    await sync_to_async(Charger.objects.filter(pk=charger.pk).update)(registration_status=RegistrationStatus.PENDING)
    command = await _request(charger, "RemoteStartTransaction", {"idTag": "TAG"})
    async with Charger16(charger, key) as station:
        assert await station.ws.receive_nothing(timeout=0.3)
        # The operator accepts the charger; its next BootNotification is Accepted.
        await sync_to_async(Charger.objects.filter(pk=charger.pk).update)(
            registration_status=RegistrationStatus.ACCEPTED
        )
        await station.ws.send_json_to([2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
        assert (await station.ws.receive_json_from(timeout=5))[2]["status"] == "Accepted"
        call = await station.next_call()
        assert call[2] == "RemoteStartTransaction"
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
    assert (await _command(command.pk)).status == CommandStatus.ACCEPTED


async def test_a_pending_charger_gets_what_it_may_while_pending_and_the_rest_in_order_once_accepted(charger):
    """1.6 sec. 4.2 / 2.0.1 B02.FR.01: the operator holds a charger Pending to configure it; the
    configuration goes out at once, a command not allowed then waits (and those after it, R16)."""
    charger, key = charger
    await sync_to_async(Charger.objects.filter(pk=charger.pk).update)(registration_status=RegistrationStatus.PENDING)
    configure = await _request(charger, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "60"})
    start = await _request(charger, "RemoteStartTransaction", {"idTag": "TAG"})
    read = await _request(charger, "GetConfiguration", {})
    async with Charger16(charger, key) as station:
        call = await station.next_call()
        assert call[2] == "ChangeConfiguration"
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)  # RemoteStart waits, and so does what follows
        await sync_to_async(Charger.objects.filter(pk=charger.pk).update)(
            registration_status=RegistrationStatus.ACCEPTED
        )
        await station.ws.send_json_to([2, "b", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
        assert (await station.ws.receive_json_from(timeout=5))[2]["status"] == "Accepted"
        for expected in ("RemoteStartTransaction", "GetConfiguration"):
            call = await station.next_call()
            assert call[2] == expected
            await station.answer(call, {"status": "Accepted"} if expected != "GetConfiguration" else {})
        assert await station.ws.receive_nothing(timeout=0.3)
    statuses = [(await _command(command.pk)).status for command in (configure, start, read)]
    assert statuses == [CommandStatus.ACCEPTED] * 3


async def test_a_pending_charger_may_send_what_a_trigger_asked_for_and_nothing_else(charger):
    """1.6 sec. 4.2.1 / 2.0.1 B02.FR.09: before Accepted, only BootNotification and what the
    central system asked for with TriggerMessage; anything else is a SecurityError."""
    charger, key = charger
    await sync_to_async(Charger.objects.filter(pk=charger.pk).update)(registration_status=RegistrationStatus.PENDING)
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    async with Charger16(charger, key) as station:
        await station.ws.send_json_to([2, "s1", "StatusNotification", status])
        assert (await station.ws.receive_json_from(timeout=5))[2] == "SecurityError"
        await _request(charger, "TriggerMessage", {"requestedMessage": "StatusNotification"})
        call = await station.next_call()
        assert call[2] == "TriggerMessage"
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
        await station.ws.send_json_to([2, "s2", "StatusNotification", status])
        assert (await station.ws.receive_json_from(timeout=5))[0] == 3  # answered
        await station.ws.send_json_to([2, "h1", "Heartbeat", {}])
        assert (await station.ws.receive_json_from(timeout=5))[2] == "SecurityError"  # not asked for


async def test_a_command_in_flight_when_the_socket_closes_is_not_resent(charger):
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "RemoteStartTransaction", {"idTag": "TAG"})
        await station.next_call()
    assert (await _command(command.pk)).status == CommandStatus.TIMED_OUT
    async with Charger16(charger, key) as station:
        assert await station.ws.receive_nothing(timeout=0.3)


# --- S7: key rotation -------------------------------------------------------------------------


@sync_to_async
def _rotate(charger: Charger) -> Command:
    from sites.commands import rotate_charger_key

    return rotate_charger_key(charger=charger)


async def _can_connect(charger: Charger, key: str) -> bool:
    token = base64.b64encode(f"{charger.charge_point_id}:{key}".encode())
    ws = WebsocketCommunicator(
        application,
        f"/ocpp/{charger.charge_point_id}",
        subprotocols=["ocpp1.6"],
        headers=[(b"authorization", b"Basic " + token)],
    )
    connected, _ = await ws.connect()
    if connected:
        await ws.disconnect()
    return connected


async def _rotation_call(station: Charger16, charger: Charger) -> tuple[Command, list]:
    command = await _rotate(charger)
    call = await station.next_call()
    assert call[2] == "ChangeConfiguration"
    assert call[3]["key"] == "AuthorizationKey"
    new_key = call[3]["value"]
    assert len(new_key) == 40
    int(new_key, 16)  # hexadecimal (1.6 security whitepaper A00.FR.205)
    return command, call


@sync_to_async
def _secrets_visible_anywhere(new_key: str) -> bool:
    from ocpp_gateway.message_log import flush_message_log_sync
    from ocpp_gateway.models import MessageLog

    flush_message_log_sync()
    logged = [str(payload) for payload in MessageLog.objects.values_list("payload", flat=True)]
    stored = [str(command.payload) + command.sealed_secret for command in Command.objects.all()]
    charger = Charger.objects.get(charge_point_id="CMD-1")
    return any(new_key in text for text in logged + stored + [charger.auth_key_hash, charger.pending_auth_key_hash])


async def test_key_rotation_accepted_switches_credentials(charger):
    charger, old_key = charger
    async with Charger16(charger, old_key) as station:
        command, call = await _rotation_call(station, charger)
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
    new_key = call[3]["value"]
    assert (await _command(command.pk)).payload == {"key": "AuthorizationKey", "value": "********"}
    assert not await _can_connect(charger, old_key)
    assert await _can_connect(charger, new_key)
    assert not await _secrets_visible_anywhere(new_key)


async def test_key_rotation_rejected_keeps_the_old_key(charger):
    charger, old_key = charger
    async with Charger16(charger, old_key) as station:
        _, call = await _rotation_call(station, charger)
        await station.answer(call, {"status": "Rejected"})
        assert await station.ws.receive_nothing(timeout=0.3)
    assert await _can_connect(charger, old_key)
    assert not await _can_connect(charger, call[3]["value"])


async def test_key_rotation_without_an_answer_accepts_the_key_the_charger_uses(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.2
    charger, old_key = charger
    async with Charger16(charger, old_key) as station:
        _, call = await _rotation_call(station, charger)
        assert await station.ws.receive_nothing(timeout=0.5)
    new_key = call[3]["value"]
    assert await _can_connect(charger, new_key)  # it took the new key: now the only one
    assert not await _can_connect(charger, old_key)


# --- Retries with backoff ---------------------------------------------------------------------


@sync_to_async
def _dispatch_due() -> int:
    from sites.commands import dispatch_due_commands

    return dispatch_due_commands(now=timezone.now())


async def test_a_timed_out_retryable_command_is_sent_again_after_its_backoff(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.2
    settings.OCPP_COMMAND_RETRY_BACKOFF = 0.3
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "GetConfiguration")
        first = await station.next_call()
        assert await station.ws.receive_nothing(timeout=0.3)  # unanswered: timeout
        waiting = await _command(command.pk)
        assert (waiting.status, waiting.attempts) == (CommandStatus.QUEUED, 1)
        assert await _dispatch_due() == 0  # backoff not over yet
        await station.ws.receive_nothing(timeout=0.4)
        assert await _dispatch_due() == 1
        second = await station.next_call()
        assert second[1] != first[1]
        assert second[2] == "GetConfiguration"
        await station.answer(second, {"configurationKey": []})
        assert await station.ws.receive_nothing(timeout=0.3)
    done = await _command(command.pk)
    assert (done.status, done.attempts) == (CommandStatus.ACCEPTED, 2)


async def test_a_command_that_is_not_safe_to_repeat_is_not_retried(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.2
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "RemoteStartTransaction", {"idTag": "TAG"})
        await station.next_call()
        assert await station.ws.receive_nothing(timeout=0.4)
    assert (await _command(command.pk)).status == CommandStatus.TIMED_OUT


async def test_retries_stop_after_the_maximum_attempts(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.1
    settings.OCPP_COMMAND_RETRY_BACKOFF = 0.01
    settings.OCPP_COMMAND_MAX_ATTEMPTS = 2
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request(charger, "ClearCache")
        await station.next_call()
        await station.ws.receive_nothing(timeout=0.3)
        assert await _dispatch_due() == 1
        await station.next_call()
        await station.ws.receive_nothing(timeout=0.3)
    final = await _command(command.pk)
    assert (final.status, final.attempts) == (CommandStatus.TIMED_OUT, 2)


# --- Lost notifications (R26): the queue decides the order, the dispatcher notifies again -------


@sync_to_async
def _request_unnoticed(charger: Charger, action: str, payload: dict) -> Command:
    """A command whose notification is lost on the way (the channel layer was down)."""
    from unittest import mock

    with mock.patch("sites.commands._send_with_timeout", side_effect=ConnectionError("redis is down")):
        return request_command(charger=charger, intent=RawCall(action=action, payload=payload))


async def test_a_lost_notification_never_lets_a_newer_command_overtake_an_older_one(charger):
    charger, key = charger
    async with Charger16(charger, key) as station:
        older = await _request_unnoticed(charger, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        assert (await _command(older.pk)).status == CommandStatus.QUEUED  # accepted all the same
        assert await station.ws.receive_nothing(timeout=0.2)
        newer = await _request(charger, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
        for expected in (older, newer):
            call = await station.next_call()
            assert call[3]["type"] == expected.payload["type"]
            await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)


async def test_the_dispatcher_sends_a_command_whose_notification_was_lost(charger, settings):
    settings.OCPP_COMMAND_REDISPATCH_AFTER = 0
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request_unnoticed(charger, "ClearCache", {})
        assert await station.ws.receive_nothing(timeout=0.2)
        assert await _dispatch_due() == 1
        call = await station.next_call()
        assert call[2] == "ClearCache"
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
    assert (await _command(command.pk)).status == CommandStatus.ACCEPTED
    assert await _dispatch_due() == 0  # nothing left waiting


async def test_a_newer_command_waits_behind_an_older_one_that_waits_for_its_retry(charger, settings):
    settings.OCPP_CALL_TIMEOUT = 0.2
    settings.OCPP_COMMAND_RETRY_BACKOFF = 0.5
    charger, key = charger
    async with Charger16(charger, key) as station:
        older = await _request(charger, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"})
        await station.next_call()
        assert await station.ws.receive_nothing(timeout=0.3)  # unanswered: back in the queue
        await _request(charger, "ChangeAvailability", {"connectorId": 0, "type": "Operative"})
        assert await station.ws.receive_nothing(timeout=0.2)  # not before the older one's retry
        await station.ws.receive_nothing(timeout=0.3)
        assert await _dispatch_due() == 1
        for expected in ("Inoperative", "Operative"):
            call = await station.next_call()
            assert call[3]["type"] == expected
            await station.answer(call, {"status": "Accepted"})
    assert (await _command(older.pk)).attempts == 2


async def test_the_dispatcher_gives_up_for_this_run_when_the_channel_layer_is_down(charger, settings, caplog):
    from unittest import mock

    settings.OCPP_COMMAND_REDISPATCH_AFTER = 0
    charger, key = charger
    async with Charger16(charger, key) as station:
        command = await _request_unnoticed(charger, "ClearCache", {})
        with mock.patch("sites.commands._send_with_timeout", side_effect=ConnectionError("redis is down")) as send:
            assert await _dispatch_due() == 0
        assert send.call_count == 1
        assert "1 charger(s) wait for the next run" in caplog.text
        assert await _dispatch_due() == 1  # back
        call = await station.next_call()
        await station.answer(call, {"status": "Accepted"})
        assert await station.ws.receive_nothing(timeout=0.3)
    assert (await _command(command.pk)).status == CommandStatus.ACCEPTED
