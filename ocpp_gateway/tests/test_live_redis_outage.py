"""R26 / issue 15.4: while Redis (the channel layer) is down, commands are accepted (202: the
row is the truth) and chargers still answered; once it is back, every queued command reaches
its charger, oldest first. A real server, a real Redis stopped and started again, a real charger."""

import asyncio
import json
import time

import websockets

from common.live_server import AdminSession, free_port, live_server
from common.tests.redis_server import needs_redis_server, redis_server

CHARGER = "DEMO-CP-001"

# .ci/run installs redis-server and requires this test to run in both of its stages.
pytestmark = needs_redis_server


class AnsweringCharger:
    """Boots, then answers every CALL of the central system with Accepted and records it."""

    def __init__(self, server) -> None:
        self.server = server
        self.received: list[tuple[str, dict]] = []

    async def run(self, stop: asyncio.Event, booted: asyncio.Event) -> None:
        async with websockets.connect(
            f"{self.server.ws_url}/{CHARGER}",
            subprotocols=["ocpp1.6"],
            additional_headers=self.server.basic_auth(CHARGER),
        ) as ws:
            boot = {"chargePointVendor": "V", "chargePointModel": "M"}
            await ws.send(json.dumps([2, "boot", "BootNotification", boot]))
            while not stop.is_set():
                try:
                    frame = json.loads(await asyncio.wait_for(ws.recv(), 0.2))
                except TimeoutError:
                    continue
                if frame[0] == 3 and frame[1] == "boot":
                    booted.set()
                elif frame[0] == 2:
                    self.received.append((frame[2], frame[3]))
                    await ws.send(json.dumps([3, frame[1], {"status": "Accepted"}]))
            # Still answered while Redis is down or back.
            await ws.send(json.dumps([2, "hb", "Heartbeat", {}]))
            reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert reply[0] == 3


def test_commands_during_a_redis_outage_are_accepted_and_delivered_in_order_after_it(tmp_path):
    port = free_port()
    with (
        redis_server(port, tmp_path) as redis,
        live_server(
            tmp_path,
            REDIS_URL=f"redis://127.0.0.1:{port}/0",
            CELERY_BROKER_URL="",  # the embedded beat runs the dispatcher in the server
            OCPP_COMMAND_DISPATCH_SECONDS="1",
            OCPP_COMMAND_REDISPATCH_AFTER="1",
            OCPP_NOTIFY_TIMEOUT="1",
        ) as server,
    ):
        admin = AdminSession(server)
        charger = AnsweringCharger(server)

        def command(value: int) -> tuple[int, dict]:
            payload = {"key": "HeartbeatInterval", "value": str(value)}
            return admin.api(
                "POST", f"/api/v1/chargers/{CHARGER}/commands", {"action": "ChangeConfiguration", "payload": payload}
            )

        async def scenario() -> None:
            stop, booted = asyncio.Event(), asyncio.Event()
            running = asyncio.create_task(charger.run(stop, booted))
            await asyncio.wait_for(booted.wait(), 10)
            assert (await asyncio.to_thread(command, 100))[0] == 202
            await _until(lambda: len(charger.received) == 1)

            redis.kill()
            redis.wait()
            during = [await asyncio.to_thread(command, value) for value in (1, 2, 3)]
            assert [status for status, _ in during] == [202, 202, 202], during
            with redis_server(port, tmp_path):
                await asyncio.sleep(1.5)  # the layer reconnects
                assert (await asyncio.to_thread(command, 4))[0] == 202
                await _until(lambda: len(charger.received) == 5, seconds=20)
                stop.set()
                await running

        asyncio.run(scenario())
        values = [payload["value"] for action, payload in charger.received]
        assert values == ["100", "1", "2", "3", "4"]
        statuses = server.query("SELECT status FROM sites_command ORDER BY id")
        assert [status for (status,) in statuses] == ["accepted"] * 5
        assert "Traceback" not in server.log()


async def _until(condition, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)
