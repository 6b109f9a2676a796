"""Across processes (issue 4): two ASGI server processes, a Celery worker, PostgreSQL and
Redis on 127.0.0.1. Runs where REDIS_URL and a PostgreSQL DATABASE_URL are set (CI's second
stage); the in-memory channel layer cannot cross processes."""

import asyncio
import json
import os
import signal

import pytest
import websockets

from common.live_server import AdminSession, another_server, celery_worker, live_server

pytestmark = pytest.mark.skipif(
    not os.environ.get("REDIS_URL") or not os.environ.get("DATABASE_URL", "").startswith("postgres"),
    reason="needs PostgreSQL and Redis (CI starts them)",
)
CHARGER = "DEMO-CP-001"


async def _answer_next_call(ws, answer: dict) -> list:
    call = json.loads(await asyncio.wait_for(ws.recv(), 10))
    assert call[0] == 2, call
    await ws.send(json.dumps([3, call[1], answer]))
    return call


def test_commands_reach_the_charger_whichever_process_holds_its_socket(tmp_path):
    with live_server(tmp_path) as process_a, another_server(process_a) as process_b, celery_worker(process_a):
        operator_on_b = AdminSession(process_b)

        def submit(action: str, payload: dict) -> dict:
            status, body = operator_on_b.api(
                "POST", f"/api/v1/chargers/{CHARGER}/commands", {"action": action, "payload": payload}
            )
            assert status == 202, body
            return body

        def outcome(command_id: int) -> dict:
            return operator_on_b.api("GET", f"/api/v1/commands/{command_id}?wait=10")[1]

        async def scenario() -> tuple[dict, dict]:
            # 1. The charger is connected to process A; the command is submitted to process B.
            async with websockets.connect(
                f"{process_a.ws_url}/{CHARGER}",
                subprotocols=["ocpp1.6"],
                additional_headers=process_a.basic_auth(CHARGER),
            ) as ws:
                command = await asyncio.to_thread(submit, "GetConfiguration", {"key": ["HeartbeatInterval"]})
                call = await _answer_next_call(
                    ws, {"configurationKey": [{"key": "HeartbeatInterval", "readonly": False, "value": "300"}]}
                )
                assert call[2] == "GetConfiguration"
                first = await asyncio.to_thread(outcome, command["id"])

                # 2. Process A dies (no clean shutdown); a command is submitted meanwhile.
                process_a.process.send_signal(signal.SIGKILL)
                process_a.process.wait(timeout=10)
                queued = await asyncio.to_thread(submit, "ClearCache", {})

            # 3. The charger reconnects, to process B, without BootNotification: the queued
            # command reaches it.
            async with websockets.connect(
                f"{process_b.ws_url}/{CHARGER}",
                subprotocols=["ocpp1.6"],
                additional_headers=process_b.basic_auth(CHARGER),
            ) as ws:
                call = await _answer_next_call(ws, {"status": "Accepted"})
                assert call[2] == "ClearCache"
                second = await asyncio.to_thread(outcome, queued["id"])
            return first, second

        first, second = asyncio.run(scenario())
        assert first["status"] == "accepted"
        assert first["result"]["configurationKey"][0]["value"] == "300"
        assert (second["status"], second["attempts"]) == ("accepted", 1)


def test_the_celery_worker_runs_the_command_expiry_sweep(tmp_path):
    from csms.celery import app

    with live_server(tmp_path) as server, celery_worker(server):
        server.execute(
            "INSERT INTO sites_command (charger_id, intent, fields, action, payload, requested_via, idempotency_key, "
            "status, message_id, sealed_secret, error_code, error_description, attempts, created_at, expires_at) "
            "SELECT id, 'reset', '{\"hard\": false}', '', '{}', 'system', '', 'queued', '', '', '', '', 0, now(), "
            "now() - interval '1 minute' "
            "FROM sites_charger WHERE charge_point_id = %s",
            (CHARGER,),
        )
        # No result backend: the outcome is read from the database the worker wrote to.
        app.send_task("sites.tasks.expire_commands_task")
        assert server.wait_for("SELECT status FROM sites_command", "expired", timeout=30) == "expired"
