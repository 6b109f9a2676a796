"""End to end (issue 20), as in production: a real `manage.py serve` and a Celery worker on a
private Redis (broker, channel layer and event stream), a real charger speaking OCPP-J 1.6, a
consumer group reading what happened from the organization's stream, and an API client on
/ws/events. The server hands its facts to the worker, which builds and sends the events."""

import asyncio
import datetime as dt
import json
import time
import uuid

import pytest
import redis
import websockets

from common.live_server import AdminSession, celery_worker, free_port, live_server
from common.tests.redis_server import needs_redis_server, redis_server
from ocpp_gateway.tests.live_chargers import call, connect

pytestmark = needs_redis_server

CHARGER = "DEMO-CP-001"


@pytest.fixture(scope="module")
def stream(tmp_path_factory):
    port = free_port()
    with redis_server(port, tmp_path_factory.mktemp("redis")):
        redis_url = f"redis://127.0.0.1:{port}"
        with (
            live_server(
                tmp_path_factory.mktemp("liveevents"),
                INTEGRATIONS_EVENT_STREAM_URL=f"{redis_url}/0",
                CELERY_BROKER_URL=f"{redis_url}/1",
                REDIS_URL=f"{redis_url}/2",
                INTEGRATIONS_EVENT_STREAM_PREFIX="csms:events",
                INTEGRATIONS_EVENT_SOCKET="1",
            ) as server,
            celery_worker(server),
        ):
            yield server, redis.Redis.from_url(f"{redis_url}/0", decode_responses=True)


def _id() -> str:
    """A fresh message id: a CALL id the server saw lately from the same charger is answered
    again from memory, not applied again (a retransmission), and these tests reconnect."""
    return uuid.uuid4().hex


def _read(client, key: str, until_types: set[str], timeout: float = 15.0, group: str = "cms") -> list[dict]:
    """What a consumer group new to the stream reads, until it has seen each of `until_types`."""
    client.xgroup_create(key, group, id="0", mkstream=True)
    events: list[dict] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not until_types <= {event["type"] for event in events}:
        for _, entries in client.xreadgroup(group, "reader", {key: ">"}, block=500) or []:
            for entry_id, fields in entries:
                events.append(json.loads(fields["event"]))
                client.xack(key, group, entry_id)
    return events


def test_a_chargers_connection_and_status_reach_the_organizations_stream(stream):
    server, client = stream
    [(organization,)] = server.query(
        "SELECT s.organization_id FROM sites_charger c JOIN sites_site s ON s.id = c.site_id "
        "WHERE c.charge_point_id = %s",
        (CHARGER,),
    )
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")

    async def run() -> None:
        async with connect(server, CHARGER) as ws:
            boot = await call(ws, _id(), "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
            assert boot[2]["status"] == "Accepted"
            status = {"connectorId": 1, "status": "Preparing", "errorCode": "NoError", "timestamp": now}
            assert (await call(ws, _id(), "StatusNotification", status))[2] == {}
            await asyncio.sleep(1.5)  # the events leave every 0.5 s

    asyncio.run(run())
    events = _read(client, f"csms:events:{organization}", {"charger.connected", "connector.status_changed"})
    by_type = {event["type"]: event for event in events}
    assert by_type["charger.connected"]["data"]["charge_point_id"] == CHARGER
    status_event = by_type["connector.status_changed"]
    assert (status_event["organization"], status_event["data"]["status"]) == (organization, "Preparing")
    assert status_event["data"]["connector_id"] == 1


def test_a_session_from_boot_to_price_reaches_the_stream(stream):
    """What a CMS follows a session by: the boot, the start, its energy while it runs, the end,
    the price (a tariff made through the partner API), and a security event the charger reports."""
    server, client = stream
    [(organization,)] = server.query(
        "SELECT s.organization_id FROM sites_charger c JOIN sites_site s ON s.id = c.site_id "
        "WHERE c.charge_point_id = %s",
        (CHARGER,),
    )
    admin = AdminSession(server)
    code, tariff = admin.api(
        "POST", "/api/v1/tariffs", {"organization": organization, "name": "Live", "price_per_kwh": "0.50"}
    )
    assert code == 201, tariff
    since = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()
    code, body = admin.api(
        "POST",
        "/api/v1/tariff-assignments",
        {"tariff": tariff["id"], "organization": organization, "valid_from": since},
    )
    assert code == 201, body

    def at(seconds: int) -> str:
        return (dt.datetime.now(dt.UTC) + dt.timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")

    async def run() -> int:
        async with connect(server, CHARGER) as ws:
            boot = await call(ws, _id(), "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
            assert boot[2]["status"] == "Accepted"
            start = {"connectorId": 2, "idTag": "DEMO-TAG-001", "meterStart": 1_000, "timestamp": at(0)}
            transaction_id = (await call(ws, _id(), "StartTransaction", start))[2]["transactionId"]
            reading = {
                "timestamp": at(1),
                "sampledValue": [{"value": "3000", "measurand": "Energy.Active.Import.Register"}],
            }
            meter = {"connectorId": 2, "transactionId": transaction_id, "meterValue": [reading]}
            assert (await call(ws, _id(), "MeterValues", meter))[2] == {}
            stop = {"transactionId": transaction_id, "meterStop": 5_000, "timestamp": at(2), "reason": "EVDisconnected"}
            await call(ws, _id(), "StopTransaction", stop)
            security = {"type": "SettingSystemTime", "timestamp": at(2)}
            assert (await call(ws, _id(), "SecurityEventNotification", security))[2] == {}
            await asyncio.sleep(1.5)  # the events leave every 0.5 s
            return transaction_id

    asyncio.run(run())
    wanted = {"charger.booted", "session.started", "session.updated", "session.ended", "session.priced",
              "security_event.recorded"}  # fmt: skip
    events = _read(client, f"csms:events:{organization}", wanted, group="session-follower")
    by_type = {event["type"]: event["data"] for event in events}
    assert wanted <= set(by_type), sorted(by_type)
    assert by_type["charger.booted"]["registration_status"] == "Accepted"
    assert by_type["session.updated"]["energy_wh"] == 2_000
    assert by_type["session.ended"]["energy_wh"] == 4_000
    assert (by_type["session.priced"]["total"], by_type["session.priced"]["tariff"]) == ("2.00", "Live")
    assert by_type["security_event.recorded"]["kind"] == "SettingSystemTime"
    session_id = by_type["session.started"]["session_id"]
    assert by_type["session.updated"]["session_id"] == by_type["session.priced"]["session_id"] == session_id


def test_an_api_client_hears_them_on_the_event_socket_filtered(stream):
    server, _ = stream
    token = server.access_token()
    now = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")

    async def run() -> list[dict]:
        url = f"{server.ws_url.rsplit('/', 1)[0]}/ws/events?types=connector.status_changed&charger={CHARGER}"
        bearer = {"Authorization": f"Bearer {token}"}
        async with websockets.connect(url, additional_headers=bearer) as events, connect(server, CHARGER) as ws:
            await call(ws, _id(), "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
            status = {"connectorId": 1, "status": "Charging", "errorCode": "NoError", "timestamp": now}
            await call(ws, _id(), "StatusNotification", status)
            return [json.loads(await asyncio.wait_for(events.recv(), 10))]

    [event] = asyncio.run(run())
    assert event["type"] == "connector.status_changed"  # the connection itself was filtered out
    assert (event["data"]["charge_point_id"], event["data"]["status"]) == (CHARGER, "Charging")


def test_the_event_socket_wants_a_token(stream):
    server, _ = stream

    async def run() -> None:
        url = f"{server.ws_url.rsplit('/', 1)[0]}/ws/events"
        async with websockets.connect(url, additional_headers={"Authorization": "Bearer not-a-token"}):
            pass

    with pytest.raises(websockets.InvalidStatus) as refused:
        asyncio.run(run())
    assert refused.value.response.status_code == 403
