"""A charger's side of the live tests (a real server process, common/live_server.py): opening
its WebSocket and making a CALL, shared by every live test that plays a known charger."""

import asyncio
import contextlib
import json
from typing import Any

import websockets
from ocpp.v16 import call as call16
from ocpp.v201 import call as call201
from ocpp.v201.datatypes import ChargingStationType

from common.live_server import AdminSession, LiveServer


def connect(
    server: LiveServer,
    charge_point_id: str,
    *,
    open_timeout: float = 5.0,
    subprotocols: tuple[str, ...] = ("ocpp1.6",),
    **options: Any,
):
    """Connect as `charge_point_id` with its demo key (HTTP Basic), offering OCPP 1.6 unless told
    otherwise; `options` go to websockets.connect as they are (a test that floods lifts max_queue,
    one that sends huge frames lifts max_size)."""
    return websockets.connect(
        f"{server.ws_url}/{charge_point_id}",
        subprotocols=list(subprotocols),
        additional_headers=server.basic_auth(charge_point_id),
        open_timeout=open_timeout,
        **options,
    )


async def call(ws, message_id: str, action: str, payload: dict) -> list:
    """Send one OCPP-J CALL and return the next frame, parsed (its answer, in these tests)."""
    await ws.send(json.dumps([2, message_id, action, payload]))
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


@contextlib.asynccontextmanager
async def booted(server: LiveServer, charge_point_id: str, role_class: type, version: str = "1.6"):
    """An `ocpp` library charge point role (`role_class`, of OCPP `version` 1.6 or 2.0.1)
    connected with the charger's key, answering the server's CALLs, its boot Accepted."""
    subprotocol = "ocpp1.6" if version == "1.6" else "ocpp2.0.1"
    async with connect(server, charge_point_id, subprotocols=(subprotocol,)) as ws:
        role = role_class(charge_point_id, ws, response_timeout=10)
        listening = asyncio.create_task(role.start())
        try:
            if version == "1.6":
                boot = call16.BootNotification(charge_point_vendor="ACME", charge_point_model="X1")
            else:
                station = ChargingStationType(vendor_name="ACME", model="X2")
                boot = call201.BootNotification(charging_station=station, reason="PowerUp")
            assert (await role.call(boot)).status == "Accepted"
            yield role
        finally:
            listening.cancel()


async def settled_command(session: AdminSession, charge_point_id: str, body: dict) -> dict:
    """Queue a command through the API and wait (up to 10 s) for how it settled."""
    status, queued = await asyncio.to_thread(session.api, "POST", f"/api/v1/chargers/{charge_point_id}/commands", body)
    assert status == 202, queued
    _, settled = await asyncio.to_thread(session.api, "GET", f"/api/v1/commands/{queued['id']}?wait=10")
    return settled
