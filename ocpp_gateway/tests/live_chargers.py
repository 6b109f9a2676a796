"""A charger's side of the live tests (a real server process, common/live_server.py): opening
its WebSocket and making a CALL, shared by every live test that plays a known charger."""

import asyncio
import json
from typing import Any

import websockets

from common.live_server import LiveServer


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
