"""End to end: real chargers (websockets clients sending raw OCPP-J frames) against a real
server process on 127.0.0.1."""

import asyncio
import json
import signal
import socket
import time

import pytest
import websockets

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import call, connect

CHARGER = "DEMO-CP-001"
OTHER_CHARGER = "DEMO-CP-002"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live")) as running:
        yield running


def test_a_charging_session_over_a_real_socket(server):
    async def charge() -> int:
        async with connect(server, CHARGER) as ws:
            assert ws.subprotocol == "ocpp1.6"
            boot = await call(ws, "b1", "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
            assert boot[2]["status"] == "Accepted"
            await call(ws, "s1", "StatusNotification", {"connectorId": 1, "errorCode": "NoError", "status": "Charging"})
            start = await call(
                ws,
                "t1",
                "StartTransaction",
                {"connectorId": 1, "idTag": "DEMO-TAG-001", "meterStart": 1000, "timestamp": "2026-01-01T10:00:00Z"},
            )
            transaction_id = start[2]["transactionId"]
            assert start[2]["idTagInfo"] == {"status": "Accepted"}
            await call(
                ws,
                "m1",
                "MeterValues",
                {
                    "connectorId": 1,
                    "transactionId": transaction_id,
                    "meterValue": [
                        {"timestamp": "2026-01-01T10:30:00Z", "sampledValue": [{"value": "5.5", "unit": "kWh"}]}
                    ],
                },
            )
            stop = await call(
                ws, "p1", "StopTransaction",
                {"transactionId": transaction_id, "meterStop": 9000, "timestamp": "2026-01-01T11:00:00Z"},
            )  # fmt: skip
            assert stop == [3, "p1", {}]
            return transaction_id

    transaction_id = asyncio.run(charge())
    rows = server.query(
        "SELECT s.state, s.energy_wh, s.stop_reason FROM charging_chargingsession s "
        "JOIN sites_charger c ON c.id = s.charger_id WHERE c.charge_point_id = %s AND s.transaction_id = %s",
        (CHARGER, transaction_id),
    )
    assert rows == [("completed", 8000, "Local")]
    assert server.query("SELECT vendor FROM sites_charger WHERE charge_point_id = %s", (CHARGER,)) == [("ACME",)]
    # The message log is written behind, within a second.
    logged = server.wait_for(
        "SELECT COUNT(*) FROM ocpp_gateway_messagelog WHERE charge_point_id = %s", 10, (CHARGER,), timeout=5
    )
    assert logged == 10


def test_unknown_charger_is_refused_with_404_and_lands_in_the_inbox(server):
    async def attempt() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(f"{server.ws_url}/STRANGER-9", subprotocols=["ocpp1.6"], open_timeout=5):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 404
    assert server.query("SELECT attempts FROM sites_unknowncharger WHERE charge_point_id = 'STRANGER-9'") == [(1,)]


def test_wrong_key_is_refused_with_401(server):
    async def attempt() -> int:
        with pytest.raises(websockets.InvalidStatus) as refused:
            async with websockets.connect(
                f"{server.ws_url}/{CHARGER}",
                subprotocols=["ocpp1.6"],
                additional_headers={"Authorization": "Basic REVNTy1DUC0wMDE6d3Jvbmc="},  # DEMO-CP-001:wrong
                open_timeout=5,
            ):
                pass
        return refused.value.response.status_code

    assert asyncio.run(attempt()) == 401
    assert "wrong" not in server.log()


def test_oversized_frame_is_closed_with_1009_and_other_chargers_carry_on(server, settings):
    async def flood_and_check() -> tuple[int, list]:
        async with connect(server, OTHER_CHARGER) as bystander:
            async with connect(server, CHARGER) as ws:
                big = {"vendorId": "x", "data": "A" * (2 * 1024 * 1024)}
                await ws.send(json.dumps([2, "big", "DataTransfer", big]))
                with pytest.raises(websockets.ConnectionClosed) as closed:
                    await asyncio.wait_for(ws.recv(), 5)
            reply = await call(bystander, "h1", "Heartbeat", {})
        return closed.value.rcvd.code, reply

    code, reply = asyncio.run(flood_and_check())
    assert code == 1009
    assert reply[0] == 3


def _open_silent_socket(port: int, charge_point_id: str, auth: dict[str, str]) -> socket.socket:
    """A WebSocket handshake by hand, then silence: the client never answers pings (half-open)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    request = (
        f"GET /ocpp/{charge_point_id} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"Sec-WebSocket-Protocol: ocpp1.6\r\nAuthorization: {auth['Authorization']}\r\n\r\n"
    )
    sock.sendall(request.encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 101")
    return sock


def test_charger_that_stops_answering_pings_is_closed_and_shown_offline(tmp_path):
    with live_server(tmp_path, OCPP_WS_PING_INTERVAL="0.5", OCPP_WS_PING_TIMEOUT="0.5") as server:
        sock = _open_silent_socket(server.port, CHARGER, server.basic_auth(CHARGER))
        try:
            online = "SELECT is_online FROM sites_charger WHERE charge_point_id = %s"
            assert server.wait_for(online, True, (CHARGER,)) in (True, 1)
            started = time.monotonic()
            assert server.wait_for(online, False, (CHARGER,), timeout=10) in (False, 0)
            assert time.monotonic() - started < 5  # ping interval + timeout, with slack
        finally:
            sock.close()


def test_message_log_is_flushed_on_shutdown(tmp_path):
    with live_server(tmp_path, OCPP_MESSAGE_LOG_FLUSH_SECONDS="3600") as server:

        async def chat() -> None:
            async with connect(server, CHARGER) as ws:
                for number in range(5):
                    await call(ws, f"h{number}", "Heartbeat", {})

        asyncio.run(chat())
        count = "SELECT COUNT(*) FROM ocpp_gateway_messagelog WHERE action = 'Heartbeat'"
        assert server.query(count) == [(0,)]  # still buffered
        # uvicorn shuts down cleanly on SIGTERM (lifespan shutdown flushes the log), then
        # re-raises the signal, so the exit status is -SIGTERM.
        assert server.stop() == -signal.SIGTERM
        assert server.query(count) == [(10,)]


def test_without_a_broker_the_server_runs_the_offline_sweep_itself(tmp_path):
    # The embedded default: no broker, whatever the environment of this test run says.
    with live_server(tmp_path, OCPP_OFFLINE_SWEEP_SECONDS="0.5", CELERY_BROKER_URL="") as server:
        # A charger shown online but silent for far longer than three heartbeat intervals.
        server.execute(
            "UPDATE sites_charger SET is_online = %s, last_seen_at = %s WHERE charge_point_id = %s",
            (True, "2020-01-01 00:00:00+00:00", OTHER_CHARGER),
        )
        online = "SELECT is_online FROM sites_charger WHERE charge_point_id = %s"
        assert server.wait_for(online, False, (OTHER_CHARGER,), timeout=10) in (False, 0)


def test_seed_url_forms_are_accepted_when_configured(tmp_path):
    with live_server(tmp_path, OCPP_PATH_PREFIXES="ocpp,ws,/") as server:

        async def boot_via(path: str) -> str:
            url = f"ws://127.0.0.1:{server.port}{path}"
            headers = server.basic_auth(CHARGER)
            async with websockets.connect(url, subprotocols=["ocpp1.6"], additional_headers=headers) as ws:
                return (await call(ws, "h", "Heartbeat", {}))[0]

        for path in (f"/ocpp/{CHARGER}", f"/ws/{CHARGER}", f"/{CHARGER}"):
            assert asyncio.run(boot_via(path)) == 3, path


# Every CSMS-initiated 1.6 operation: a valid request and the answer the charger gives.
COMMAND_HAPPY_PATHS = {
    "Reset": ({"type": "Soft"}, {"status": "Accepted"}),
    "UnlockConnector": ({"connectorId": 1}, {"status": "Unlocked"}),
    "RemoteStartTransaction": ({"idTag": "DEMO-TAG-001", "connectorId": 1}, {"status": "Accepted"}),
    # The transaction the test starts first: only one in progress on this charger may be stopped.
    "RemoteStopTransaction": ({"transactionId": None}, {"status": "Accepted"}),
    "ChangeAvailability": ({"connectorId": 0, "type": "Inoperative"}, {"status": "Scheduled"}),
    "GetConfiguration": ({}, {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}),
    "ChangeConfiguration": ({"key": "HeartbeatInterval", "value": "60"}, {"status": "RebootRequired"}),
    "ClearCache": ({}, {"status": "Accepted"}),
    "DataTransfer": ({"vendorId": "com.example", "data": "ping"}, {"status": "Accepted", "data": "pong"}),
    "TriggerMessage": ({"requestedMessage": "Heartbeat"}, {"status": "Accepted"}),
    "UpdateFirmware": ({"location": "https://fw.example.com/1.2.bin", "retrieveDate": "2026-01-01T00:00:00Z"}, {}),
    "GetDiagnostics": ({"location": "ftp://logs.example.com/"}, {"fileName": "diagnostics.zip"}),
    "GetLocalListVersion": ({}, {"listVersion": 3}),
    "SendLocalList": ({"listVersion": 4, "updateType": "Full", "localAuthorizationList": []}, {"status": "Accepted"}),
    "ReserveNow": (
        {"connectorId": 1, "expiryDate": "2026-01-01T01:00:00Z", "idTag": "DEMO-TAG-001", "reservationId": 7},
        {"status": "Accepted"},
    ),
    "CancelReservation": ({"reservationId": 7}, {"status": "Accepted"}),
    "SetChargingProfile": (
        {
            "connectorId": 1,
            "csChargingProfiles": {
                "chargingProfileId": 1,
                "stackLevel": 0,
                "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Absolute",
                "chargingSchedule": {
                    "chargingRateUnit": "W",
                    "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 11000}],
                },
            },
        },
        {"status": "Accepted"},
    ),
    "ClearChargingProfile": ({"id": 1}, {"status": "Accepted"}),
    "GetCompositeSchedule": ({"connectorId": 1, "duration": 3600}, {"status": "Accepted"}),
}


def test_every_command_through_the_api_reaches_a_live_charger(server):
    session = AdminSession(server)
    paths = dict(COMMAND_HAPPY_PATHS)

    async def run() -> dict[str, dict]:
        outcomes = {}
        async with connect(server, CHARGER) as ws:
            begin = {"connectorId": 2, "idTag": "DEMO-TAG-001", "meterStart": 0, "timestamp": "2026-01-01T12:00:00Z"}
            start = await call(ws, "tx", "StartTransaction", begin)
            transaction_id = start[2]["transactionId"]
            paths["RemoteStopTransaction"] = ({"transactionId": transaction_id}, {"status": "Accepted"})
            for action, (payload, answer) in paths.items():
                status, queued = await asyncio.to_thread(
                    session.api, "POST", f"/api/v1/chargers/{CHARGER}/commands", {"action": action, "payload": payload}
                )
                assert status == 202, (action, queued)
                sent = json.loads(await asyncio.wait_for(ws.recv(), 10))
                assert sent[0] == 2
                assert sent[2:] == [action, payload]
                await ws.send(json.dumps([3, sent[1], answer]))
                _, outcomes[action] = await asyncio.to_thread(
                    session.api, "GET", f"/api/v1/commands/{queued['id']}?wait=10"
                )
            stop = {"transactionId": transaction_id, "meterStop": 10, "timestamp": "2026-01-01T12:10:00Z"}
            await call(ws, "txs", "StopTransaction", stop)
        return outcomes

    outcomes = asyncio.run(run())
    for action, (_, answer) in paths.items():
        assert (outcomes[action]["status"], outcomes[action]["result"]) == ("accepted", answer), action


def _submit(session: AdminSession, action: str, payload: dict, **extra) -> dict:
    status, body = session.api(
        "POST", f"/api/v1/chargers/{CHARGER}/commands", {"action": action, "payload": payload, **extra}
    )
    assert status == 202, body
    return body


def _result(session: AdminSession, command_id: int) -> dict:
    return session.api("GET", f"/api/v1/commands/{command_id}?wait=10")[1]


def test_a_rejection_is_recorded(server):
    session = AdminSession(server)

    async def run() -> dict:
        async with connect(server, CHARGER) as ws:
            command = await asyncio.to_thread(_submit, session, "UnlockConnector", {"connectorId": 1})
            call = json.loads(await asyncio.wait_for(ws.recv(), 10))
            await ws.send(json.dumps([3, call[1], {"status": "UnlockFailed"}]))
            return await asyncio.to_thread(_result, session, command["id"])

    outcome = asyncio.run(run())
    assert (outcome["status"], outcome["result"]) == ("rejected", {"status": "UnlockFailed"})


def test_offline_queue_is_drained_in_order_and_a_duplicate_key_is_sent_once(server):
    session = AdminSession(server)
    values = ["61", "62", "63"]
    queued = [_submit(session, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": v}) for v in values]
    again = _submit(session, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "61"}, idempotency_key="k")
    same = _submit(session, "ChangeConfiguration", {"key": "HeartbeatInterval", "value": "61"}, idempotency_key="k")
    assert again["id"] == same["id"]

    async def run() -> list[str]:
        received = []
        async with connect(server, CHARGER) as ws:
            for _ in range(4):
                call = json.loads(await asyncio.wait_for(ws.recv(), 10))
                received.append(call[3]["value"])
                await ws.send(json.dumps([3, call[1], {"status": "Accepted"}]))
            with pytest.raises(TimeoutError):  # nothing more: the duplicate was sent once
                await asyncio.wait_for(ws.recv(), 1)
        return received

    assert asyncio.run(run()) == [*values, "61"]
    assert [_result(session, c["id"])["status"] for c in [*queued, again]] == ["accepted"] * 4


def test_timeouts_and_expired_commands(tmp_path):
    with live_server(tmp_path, OCPP_CALL_TIMEOUT="0.5", OCPP_COMMAND_EXPIRY_DEFAULT="1") as server:
        session = AdminSession(server)
        # Queued while the charger is offline, expired before it returns: never sent.
        expired = _submit(session, "GetLocalListVersion", {})
        time.sleep(1.5)

        async def run() -> dict:
            async with connect(server, CHARGER) as ws:
                with pytest.raises(TimeoutError):
                    await asyncio.wait_for(ws.recv(), 1)
                unanswered = await asyncio.to_thread(_submit, session, "UnlockConnector", {"connectorId": 1})
                await asyncio.wait_for(ws.recv(), 10)  # the charger never answers
                return await asyncio.to_thread(_result, session, unanswered["id"])

        assert asyncio.run(run())["status"] == "timed_out"
        assert _result(session, expired["id"])["status"] == "expired"


SECRET = "0123456789abcdef0123456789abcdef01234567"
# What issue 15 found answered 202 (items 2, 6a, 6c): each must be 400 and reach nothing.
REFUSED_COMMANDS = [
    ("ChangeConfiguration", {"key": "AuthorizationKey", "value": SECRET}),
    ("ChangeConfiguration", {"key": "authorizationkey", "value": SECRET}),
    ("GetDiagnostics", {"location": "file:///etc/passwd"}),
    (
        "UpdateFirmware",
        {"location": "http://169.254.169.254/latest/meta-data/", "retrieveDate": "2026-01-01T00:00:00Z"},
    ),
    ("GetDiagnostics", {"location": "http://10.0.0.1/"}),
    ("GetDiagnostics", {"location": "http://[::1]/"}),
    ("UpdateFirmware", {"location": "http://2130706433/fw.bin", "retrieveDate": "2026-01-01T00:00:00Z"}),
    ("GetDiagnostics", {"location": "ftp://localhost/"}),
    ("UnlockConnector", {"connectorId": 99}),
    ("ChangeAvailability", {"connectorId": 3, "type": "Inoperative"}),
    ("RemoteStopTransaction", {"transactionId": 999999}),
]


def test_commands_unfit_for_the_charger_are_refused_and_its_key_keeps_working(server):
    session = AdminSession(server)
    commands = "SELECT COUNT(*) FROM sites_command"
    before = server.query(commands)

    async def run() -> tuple[list, list]:
        async with connect(server, CHARGER) as ws:  # online: anything accepted would be sent at once
            answers = [
                await asyncio.to_thread(
                    session.api, "POST", f"/api/v1/chargers/{CHARGER}/commands", {"action": a, "payload": p}
                )
                for a, p in REFUSED_COMMANDS
            ]
            with pytest.raises(TimeoutError):  # the charger was sent nothing
                await asyncio.wait_for(ws.recv(), 1)
        async with connect(server, CHARGER) as ws:  # the key in force still opens the door
            heartbeat = await call(ws, "hb", "Heartbeat", {})
        return answers, heartbeat

    answers, heartbeat = asyncio.run(run())
    for (action, payload), (status, body) in zip(REFUSED_COMMANDS, answers, strict=True):
        assert status == 400, (action, payload, body)
        assert body["errors"]["payload"], body
        assert SECRET not in json.dumps(body)
    assert heartbeat[0] == 3
    assert server.query(commands) == before
    time.sleep(1)  # the message log is written behind
    leaked = "SELECT COUNT(*) FROM ocpp_gateway_messagelog WHERE CAST(payload AS TEXT) LIKE %s"
    assert server.query(leaked, (f"%{SECRET}%",)) == [(0,)]
