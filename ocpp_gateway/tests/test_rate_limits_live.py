"""Rate limits at the charger boundary (S11, R21, S24) against a real server process: the
floods of issue 15 (300 wrong-key handshakes for one id in 2 s, 300 unknown ids, 5,000 CALLs at
1,000/s from one charger) are refused, and everyone else is served.

The server trusts 127.0.0.1 as a proxy (TRUSTED_PROXIES' default), so X-Forwarded-For gives
each test a client address of its own."""

import asyncio
import base64
import json
import time

import pytest
import websockets

from common.live_server import live_server
from ocpp_gateway.tests import live_chargers

CHARGER = "DEMO-CP-001"
OTHER_CHARGER = "DEMO-CP-002"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("limits")) as running:
        yield running


def _headers(address: str, auth: dict[str, str] | None = None) -> dict[str, str]:
    return {"X-Forwarded-For": address, **(auth or {})}


async def _handshake(server, charge_point_id: str, headers: dict[str, str]) -> int:
    """The HTTP status of one handshake (101 when accepted)."""
    try:
        async with websockets.connect(
            f"{server.ws_url}/{charge_point_id}", subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=10
        ):
            return 101
    except websockets.InvalidStatus as refused:
        return refused.value.response.status_code if hasattr(refused, "value") else refused.response.status_code


async def _statuses(
    server, attempts: list[tuple[str, dict[str, str]]], within: float = 2.0, at_once: int = 30
) -> list[int]:
    """Run the handshakes spread over `within` seconds, `at_once` at a time."""
    statuses: list[int] = []
    pause = within / max(1, len(attempts) / at_once)
    for start in range(0, len(attempts), at_once):
        batch = attempts[start : start + at_once]
        statuses += await asyncio.gather(*(_handshake(server, cp, headers) for cp, headers in batch))
        await asyncio.sleep(pause)
    return statuses


def test_wrong_key_flood_for_one_id_gets_429_and_a_security_event(server):
    wrong = {"Authorization": "Basic " + base64.b64encode(f"{CHARGER}:wrong-key-123456".encode()).decode()}
    statuses = asyncio.run(_statuses(server, [(CHARGER, _headers("198.51.100.1", wrong))] * 300))
    assert statuses.count(401) <= 12  # the per-id allowance (10/minute), plus what refilled
    assert statuses.count(429) >= 288
    assert set(statuses) == {401, 429}
    events = server.query(
        "SELECT charge_point_id, kind FROM sites_securityevent WHERE kind = 'HandshakeFailuresThrottled'"
    )
    assert (CHARGER, "HandshakeFailuresThrottled") in events
    assert len(events) <= 2  # once when the limit tripped, not per refused attempt
    # Another charger from the same address is unaffected (the 429s were not counted as failures).
    assert (
        asyncio.run(_handshake(server, OTHER_CHARGER, _headers("198.51.100.1", server.basic_auth(OTHER_CHARGER))))
        == 101
    )


def test_unknown_id_flood_from_one_address_gets_429(server):
    attempts = [(f"STRANGER-{n}", _headers("198.51.100.2")) for n in range(300)]
    statuses = asyncio.run(_statuses(server, attempts))
    assert statuses.count(404) <= 63  # the per-address allowance (60/minute), plus what refilled
    assert statuses.count(429) >= 237
    # The inbox saw only the attempts that got through.
    assert (
        server.query("SELECT count(*) FROM sites_unknowncharger WHERE charge_point_id LIKE 'STRANGER-%%'")[0][0] <= 63
    )
    # Everyone else is served: a charger from another address, and an unknown id elsewhere still gets 404.
    assert (
        asyncio.run(_handshake(server, OTHER_CHARGER, _headers("198.51.100.3", server.basic_auth(OTHER_CHARGER))))
        == 101
    )
    assert asyncio.run(_handshake(server, "STRANGER-X", _headers("198.51.100.3"))) == 404


def test_a_handshake_flood_from_one_address_is_shed(tmp_path):
    with live_server(tmp_path, OCPP_HANDSHAKES_PER_ADDRESS="20/minute") as server:
        auth = _headers("203.0.113.5", server.basic_auth(CHARGER))
        statuses = asyncio.run(_statuses(server, [(CHARGER, auth)] * 40, within=1.0, at_once=5))
        assert statuses.count(101) in (20, 21)
        assert statuses.count(429) == 40 - statuses.count(101)
        # Another address is not affected.
        assert asyncio.run(_handshake(server, CHARGER, _headers("203.0.113.6", server.basic_auth(CHARGER)))) == 101


def connect(server, charge_point_id: str):
    """A flooding charger: a longer handshake wait, and no limit on the answers it queues."""
    return live_chargers.connect(server, charge_point_id, open_timeout=10, max_queue=None)


def test_call_flood_is_answered_generic_error_then_closed_and_others_are_served(server):
    """5,000 Heartbeats at 1,000/s from one charger (R21): past the burst they are answered
    with CALLERROR GenericError, the sustained flood is closed with 1008, and another charger's
    CALLs are answered promptly meanwhile."""

    async def flood() -> tuple[dict[str, int], int | None, float]:
        kinds: dict[str, int] = {}
        slowest = 0.0
        async with connect(server, OTHER_CHARGER) as bystander, connect(server, CHARGER) as ws:

            async def read() -> int | None:
                try:
                    async for text in ws:
                        frame = json.loads(text)
                        kind = "result" if frame[0] == 3 else frame[2]
                        kinds[kind] = kinds.get(kind, 0) + 1
                except websockets.ConnectionClosed as closed:
                    return closed.rcvd.code if closed.rcvd else None
                return ws.close_code

            async def send() -> None:
                for batch in range(500):
                    for n in range(10):
                        await ws.send(json.dumps([2, f"f{batch}-{n}", "Heartbeat", {}]))
                    await asyncio.sleep(0.01)

            reader = asyncio.create_task(read())
            sender = asyncio.create_task(send())
            for n in range(20):
                started = time.monotonic()
                await bystander.send(json.dumps([2, f"b{n}", "Heartbeat", {}]))
                reply = json.loads(await asyncio.wait_for(bystander.recv(), 5))
                assert reply[0] == 3
                slowest = max(slowest, time.monotonic() - started)
                await asyncio.sleep(0.1)
            code = await asyncio.wait_for(reader, 30)
            sender.cancel()
            await asyncio.gather(sender, return_exceptions=True)
        return kinds, code, slowest

    kinds, code, slowest = asyncio.run(flood())
    assert code == 1008
    assert 500 <= kinds["result"] < 1000  # the burst and what refilled while the flood lasted
    assert kinds["GenericError"] >= 400
    assert set(kinds) == {"result", "GenericError"}
    assert slowest < 1.0


def test_a_boot_and_an_offline_replay_are_not_throttled(server):
    """What a real charger sends quickly: a StatusNotification per connector at boot, then a
    replay of 400 messages, each sent when the previous one was answered."""

    async def replay() -> set[int]:
        kinds = set()
        async with connect(server, OTHER_CHARGER) as ws:
            await ws.send(
                json.dumps([2, "boot", "BootNotification", {"chargePointVendor": "V", "chargePointModel": "M"}])
            )
            kinds.add(json.loads(await ws.recv())[0])
            for connector in range(0, 11):
                status = {"connectorId": connector, "errorCode": "NoError", "status": "Available"}
                await ws.send(json.dumps([2, f"s{connector}", "StatusNotification", status]))
                kinds.add(json.loads(await ws.recv())[0])
            for n in range(400):
                await ws.send(json.dumps([2, f"h{n}", "Heartbeat", {}]))
                kinds.add(json.loads(await ws.recv())[0])
        return kinds

    assert asyncio.run(replay()) == {3}
