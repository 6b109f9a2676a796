"""End to end (issue 20): a trusted system drives a live charger through inbound events. An API
client (made as an organization admin makes one) gets a token with client credentials, asks
`session.start` and `session.stop` through `POST /api/v1/integrations/events` of a real
`manage.py serve`; the `ocpp` library's 1.6 charge point role receives RemoteStart and
RemoteStop, answers them and charges; the commands settle and the session is complete."""

import asyncio
import base64
import datetime as dt
import json
import subprocess
import sys
import urllib.error
import urllib.request
import uuid

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from common.live_server import REPO, LiveServer, live_server
from ocpp_gateway.tests.live_chargers import booted

CHARGER = "DEMO-CP-001"

MAKE_CLIENT = """
import json
from accounts.api_clients import create_api_client
from sites.models import Charger
organization = Charger.objects.get(charge_point_id="{charger}").site.organization
client, secret = create_api_client(organization=organization, name="Laravel CMS", scopes=["commands"], by=None)
print(json.dumps({{"client_id": client.client_id, "secret": secret}}))
"""


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("inbound")) as running:
        yield running


def _client_credentials(server: LiveServer) -> tuple[str, str]:
    made = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", MAKE_CLIENT.format(charger=CHARGER)],
        cwd=REPO, env=server.env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    credentials = json.loads(made.stdout.strip().splitlines()[-1])
    return credentials["client_id"], credentials["secret"]


def _request(server: LiveServer, method: str, path: str, body: dict | None, headers: dict) -> tuple[int, dict]:
    request = urllib.request.Request(
        server.base_url + path,
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **headers},
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def _client_token(server: LiveServer, client_id: str, secret: str) -> str:
    basic = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    status, body = _request(
        server,
        "POST",
        "/api/v1/auth/client-token",
        {"grant_type": "client_credentials"},
        {"Authorization": f"Basic {basic}"},
    )
    assert status == 200, body
    return body["access_token"]


class RemoteControlledCharger(ChargePoint):
    """Accepts RemoteStart and RemoteStop and says which it got."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: asyncio.Queue = asyncio.Queue()

    @on("RemoteStartTransaction")
    async def on_remote_start(
        self, id_tag: str, connector_id: int | None = None, **_
    ) -> call_result.RemoteStartTransaction:
        self.asked.put_nowait(("start", id_tag, connector_id))
        return call_result.RemoteStartTransaction(status="Accepted")

    @on("RemoteStopTransaction")
    async def on_remote_stop(self, transaction_id: int, **_) -> call_result.RemoteStopTransaction:
        self.asked.put_nowait(("stop", transaction_id, None))
        return call_result.RemoteStopTransaction(status="Accepted")


def test_a_cms_starts_and_stops_a_session_on_a_live_charger(server):
    client_id, secret = _client_credentials(server)
    bearer = {"Authorization": f"Bearer {_client_token(server, client_id, secret)}"}

    def event(kind: str, data: dict, key: str) -> tuple[int, dict]:
        body = {"type": kind, "data": data}
        return _request(server, "POST", "/api/v1/integrations/events", body, {**bearer, "Idempotency-Key": key})

    def settled(command_id: int) -> dict:
        status, command = _request(server, "GET", f"/api/v1/commands/{command_id}?wait=10", None, bearer)
        assert status == 200, command
        return command

    def now() -> str:
        return dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")

    async def run() -> tuple[dict, dict, int]:
        async with booted(server, CHARGER, RemoteControlledCharger) as charger:
            start_key = f"start-{uuid.uuid4()}"
            start_data = {"charge_point_id": CHARGER, "id_tag": "DEMO-TAG-001", "connector_id": 1}
            code, started = await asyncio.to_thread(event, "session.start", start_data, start_key)
            assert code == 202, started
            assert await asyncio.wait_for(charger.asked.get(), 10) == ("start", "DEMO-TAG-001", 1)
            start_command = await asyncio.to_thread(settled, started["command"]["id"])
            # The same request again (the CMS's retry): the same answer, nothing sent twice.
            code, again = await asyncio.to_thread(event, "session.start", start_data, start_key)
            assert (code, again["command"]["id"]) == (202, started["command"]["id"])
            # The charger starts the transaction the remote start asked for, as a real one would.
            answer = await charger.call(
                call.StartTransaction(connector_id=1, id_tag="DEMO-TAG-001", meter_start=100, timestamp=now())
            )
            session_id = await asyncio.to_thread(_session_of, server, answer.transaction_id)
            code, stopped = await asyncio.to_thread(
                event, "session.stop", {"session_id": session_id, "reason": "Customer ended it in the app"},
                f"stop-{uuid.uuid4()}",
            )  # fmt: skip
            assert code == 202, stopped
            assert await asyncio.wait_for(charger.asked.get(), 10) == ("stop", answer.transaction_id, None)
            stop_command = await asyncio.to_thread(settled, stopped["command"]["id"])
            await charger.call(
                call.StopTransaction(
                    meter_stop=2_100, timestamp=now(), transaction_id=answer.transaction_id, reason="Remote"
                )
            )
            return start_command, stop_command, session_id

    start_command, stop_command, session_id = asyncio.run(run())
    assert (start_command["intent"], start_command["status"], start_command["requested_via"]) == (
        "remote_start", "accepted", "api",
    )  # fmt: skip
    assert (stop_command["intent"], stop_command["status"]) == ("remote_stop", "accepted")
    [(state, energy)] = server.query(
        "SELECT state, energy_wh FROM charging_chargingsession WHERE id = %s", (session_id,)
    )
    assert (state, energy) == ("completed", 2_000)


def _session_of(server: LiveServer, transaction_id: int) -> int:
    [(session_id,)] = server.query(
        "SELECT id FROM charging_chargingsession WHERE transaction_id = %s", (transaction_id,)
    )
    return session_id
