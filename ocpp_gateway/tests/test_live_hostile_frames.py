"""Hostile frames against a real server process (issue 15, ACCEPTANCE R20, R27, S10): every
frame a charger can send is answered and logged, none drops the socket, every close runs the
disconnect bookkeeping, and the server's own log stays readable."""

import asyncio
import json

import pytest

from common.live_server import live_server
from ocpp_gateway.tests import live_chargers

CHARGER = "DEMO-CP-001"
FLOODER = "DEMO-CP-002"
HUGE_ID = "x" * 100_000

# Frame text as sent on the wire, the error code answered, and the id answered. JSON may
# escape a lone UTF-16 surrogate or a NUL (RFC 8259 sec. 7): the text itself is valid UTF-8.
HOSTILE = [
    ('[2,"\\ud800","Heartbeat",{}]', None, "\ud800"),  # a readable id: echoed (escaped)
    ('[2,"s-action","Heart\\udc00beat",{}]', "NotImplemented", "s-action"),
    ('[2,"s-value","DataTransfer",{"vendorId":"v\\udfff","data":"\\u0000"}]', "PropertyConstraintViolation",
     "s-value"),
    ('[2,"s-key","Heartbeat",{"\\ud800":1}]', "FormationViolation", "s-key"),
    ('[3,"\\udbff",{"a":"\\ud800"}]', "ProtocolError", "\udbff"),
    ('[4,"\\ud800","\\ud800","\\ud800",{"\\ud800":"\\u0000"}]', "ProtocolError", "\ud800"),
    ('[9,"\\ud800"]', "FormationViolation", "\ud800"),
    ('[2,"n\\u0000ul","Heartbeat",{}]', None, "n\x00ul"),
    (f'[2,"{HUGE_ID}","Heartbeat",{{}}]', "OccurrenceConstraintViolation", "-1"),
    (f'[3,"{HUGE_ID}",{{}}]', "OccurrenceConstraintViolation", "-1"),
    (f'[7,"{HUGE_ID}",{{}}]', "FormationViolation", "-1"),
    ("[" * 100_000, "FormationViolation", "-1"),
    ('[2,"deep","DataTransfer",{"vendorId":"v","data":' + "[" * 5000 + "]" * 5000 + "}]", "FormationViolation",
     "-1"),
    ("not json \x00 \ud7ff", "FormationViolation", "-1"),
    (b"\xff\x00binary", "FormationViolation", "-1"),
]  # fmt: skip
NOISE = ("Traceback", "Exception in ASGI application", "Task was destroyed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # At the default level (INFO), where answered bad frames are reported too.
    with live_server(tmp_path_factory.mktemp("hostile"), LOG_LEVEL="INFO") as running:
        yield running


def connect(server, charge_point_id: str):
    """A charger that sends huge frames: no size limit on the frames it receives either."""
    return live_chargers.connect(server, charge_point_id, max_size=None)


async def exchange(ws, frame: str | bytes) -> tuple[list, int]:
    """Send one frame; the one answer (parsed) and its length on the wire."""
    await ws.send(frame)
    text = await asyncio.wait_for(ws.recv(), 5)
    return json.loads(text), len(text)


async def heartbeat(ws, message_id: str) -> list:
    return (await exchange(ws, json.dumps([2, message_id, "Heartbeat", {}])))[0]


def is_online(server, charge_point_id: str):
    return server.query("SELECT is_online FROM sites_charger WHERE charge_point_id = %s", (charge_point_id,))[0][0]


def test_every_hostile_frame_is_answered_and_logged_and_the_socket_survives(server):
    async def chat() -> list[tuple[list, int]]:
        async with connect(server, CHARGER) as ws:
            assert (await heartbeat(ws, "first"))[0] == 3
            answers = [await exchange(ws, frame) for frame, _, _ in HOSTILE]
            assert (await heartbeat(ws, "still-open"))[0] == 3
            return answers

    log_before = len(server.log())
    answers = asyncio.run(chat())
    for (frame, code, answered_id), (reply, length) in zip(HOSTILE, answers, strict=True):
        case = repr(frame[:60])
        assert reply[1] == answered_id, case
        assert length < 1000, case  # nothing echoed in full: not the 100,000-character id
        if code is None:
            assert reply[0] == 3, case
        else:
            assert (reply[0], reply[2]) == (4, code), case
    # The socket closed normally: the disconnect bookkeeping ran (not the 15-minute sweep).
    assert server.wait_for("SELECT is_online FROM sites_charger WHERE charge_point_id = %s", False, (CHARGER,)) in (
        False,
        0,
    )
    # Every frame in is in the message log, with whatever it carried escaped, none dropped.
    frames_in = len(HOSTILE) + 2
    logged = "SELECT COUNT(*) FROM ocpp_gateway_messagelog WHERE charge_point_id = %s AND direction = 'in'"
    assert server.wait_for(logged, frames_in, (CHARGER,)) == frames_in
    ids = {row[0] for row in server.query("SELECT message_id FROM ocpp_gateway_messagelog WHERE direction = 'in'")}
    assert {"\\ud800", "n\\u0000ul", "\\udbff"} <= ids
    new_log = server.log()[log_before:]
    assert not [noise for noise in NOISE if noise in new_log], new_log[:5000]
    assert "dropped an unstorable frame" not in new_log


def test_a_flood_of_bad_frames_logs_a_few_lines_and_no_tracebacks(server):
    rounds = 25

    async def flood() -> int:
        answered = 0
        async with connect(server, FLOODER) as ws:
            for _ in range(rounds):
                for frame, _, _ in HOSTILE:
                    await exchange(ws, frame)
                    answered += 1
            assert (await heartbeat(ws, "after-the-flood"))[0] == 3
        return answered

    log_before = len(server.log())
    assert asyncio.run(flood()) == rounds * len(HOSTILE)
    frames = rounds * len(HOSTILE) * 2 + 2  # in and out
    logged = "SELECT COUNT(*) FROM ocpp_gateway_messagelog WHERE charge_point_id = %s"
    assert server.wait_for(logged, frames, (FLOODER,), timeout=20) == frames
    new_log = server.log()[log_before:]
    assert not [noise for noise in NOISE if noise in new_log], new_log[:5000]
    assert len(new_log.splitlines()) <= 10, new_log[:5000]
    assert new_log.count(f"[answered CALLERROR] {FLOODER}") == 1, new_log[:5000]


def test_a_charger_gone_before_its_answers_is_marked_offline(server):
    # The answers to frames still queued when the TCP connection is lost cannot be sent (the
    # server raises ClientDisconnected); that ended the application before `disconnect` ran,
    # and the charger stayed online with a stale channel until the sweep.
    status = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}
    online = "SELECT is_online FROM sites_charger WHERE charge_point_id = %s"

    async def send_and_vanish() -> None:
        async with connect(server, CHARGER) as ws:
            assert (await heartbeat(ws, "hello"))[0] == 3
            assert server.wait_for(online, True, (CHARGER,)) in (True, 1)
            for number in range(50):
                await ws.send(json.dumps([2, f"status-{number}", "StatusNotification", status]))
            ws.transport.abort()  # no close frame: the socket is simply gone

    log_before = len(server.log())
    asyncio.run(send_and_vanish())
    assert server.wait_for(online, False, (CHARGER,)) in (False, 0)
    new_log = server.log()[log_before:]
    assert not [noise for noise in NOISE if noise in new_log], new_log[:5000]
