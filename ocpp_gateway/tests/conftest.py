"""Helpers for the consumer tests: registered chargers with a known key, and a small OCPP-J
client over Channels' `WebsocketCommunicator` talking to the real ASGI application
(`csms.asgi.application`, which routes /ocpp/<charge point id>).

The consumer does its database work with `database_sync_to_async`, i.e. in another thread,
so consumer tests use `@pytest.mark.django_db(transaction=True)`: rows created by fixtures
must be committed to be visible there. ORM reads from an async test go through `db()`,
which runs them on the same thread as the consumer's queries (asgiref's single
thread-sensitive executor), so test reads and consumer writes never interleave.
"""

import asyncio
import base64
import datetime as dt
import itertools
import json
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import pytest
import pytest_asyncio
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.db import OperationalError, connection, connections
from django.utils import timezone

from csms.asgi import application
from ocpp_gateway import fault_log, group_commit, handshake
from ocpp_gateway.consumer import _recent_calls
from ocpp_gateway.message_log import discard_buffered_frames, stop_message_log_writer
from sites.models import Charger, RegistrationStatus, SecurityProfile, Site
from sites.services import issue_charger_key, register_charger
from sites.tests.factories import SiteFactory

OCPP16 = "ocpp1.6"
CALL, CALLRESULT, CALLERROR = 2, 3, 4
CLIENT_ADDRESS = ("192.0.2.10", 50123)  # TEST-NET-1


def db(function: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """Run ORM code from an async test, on the thread the consumer's queries use."""
    return sync_to_async(function, thread_sensitive=True)


async def until(condition: Callable[[], Any]) -> None:
    """Poll a condition that a timer of the gateway makes true (within 5 s)."""
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 (nothing to wait on: a timer changes it)
            await asyncio.sleep(0.01)


@pytest.fixture(autouse=True)
def _reset_gateway_state():
    """Process-wide state of the gateway must not leak from one test into the next."""
    _reset_process_state()
    yield
    _reset_process_state()


def _reset_process_state() -> None:
    _recent_calls.clear()
    discard_buffered_frames()
    fault_log.reset()  # a line suppressed in one test must not be missing from the next one's log
    # The handshake's in-memory throttle of unknown-charger inbox writes (S1, S11).
    throttle = getattr(handshake, "_unknown_attempts", None)
    if throttle is not None and hasattr(throttle, "_seen"):
        throttle._seen.clear()
    # The handshake limits (S11): every test starts with full buckets.
    for limiter in (handshake.HANDSHAKES_BY_ADDRESS, handshake.FAILURES_BY_ADDRESS, handshake.FAILURES_BY_ID):
        limiter.clear()


# --- Chargers ---------------------------------------------------------------------------


@dataclass
class RegisteredCharger:
    charger: Charger
    key: str | None  # the HTTP Basic password in clear; None when no key was issued

    @property
    def charge_point_id(self) -> str:
        return self.charger.charge_point_id

    @property
    def pk(self) -> int:
        return self.charger.pk


@pytest.fixture
def make_charger(transactional_db) -> Callable[..., RegisteredCharger]:
    numbers = itertools.count(1)

    def make(
        charge_point_id: str | None = None,
        *,
        site: Site | None = None,
        registration_status: str = RegistrationStatus.ACCEPTED,
        security_profile: int = SecurityProfile.BASIC,
        connector_count: int = 2,
        with_key: bool = True,
        **fields,
    ) -> RegisteredCharger:
        charger = register_charger(
            site=site or SiteFactory(),
            charge_point_id=charge_point_id or f"CP-TEST-{next(numbers):03d}",
            connector_count=connector_count,
            registration_status=registration_status,
            security_profile=security_profile,
            **fields,
        )
        key = issue_charger_key(charger=charger) if with_key else None
        return RegisteredCharger(charger, key)

    return make


@pytest.fixture
def charger(make_charger) -> RegisteredCharger:
    """An Accepted charger (security profile 1) with two connectors and a known key."""
    return make_charger("CP-ACCEPTED-1")


# --- The client ------------------------------------------------------------------------


def basic_authorization(username: str, password: str) -> tuple[bytes, bytes]:
    token = base64.b64encode(f"{username}:{password}".encode()).decode()
    return (b"authorization", f"Basic {token}".encode())


class OcppClient:
    """One charger's WebSocket as seen by the test: raw OCPP-J frames in and out.

    Message ids default to random UUIDs: the consumer remembers recent ids per charge point
    id across connections (R1), so a counter restarting on each connection would collide.
    """

    def __init__(
        self,
        charge_point_id: str,
        key: str | None = None,
        *,
        subprotocols: list[str] | None = None,
        username: str | None = None,
        headers: list[tuple[bytes, bytes]] | None = None,
        scheme: str | None = None,
        http_response: bool = False,
        path: str | None = None,
    ) -> None:
        self.charge_point_id = charge_point_id
        all_headers = list(headers or [])
        if key is not None:
            all_headers.append(basic_authorization(charge_point_id if username is None else username, key))
        self.communicator = WebsocketCommunicator(
            application,
            path or f"/ocpp/{charge_point_id}",
            headers=all_headers,
            subprotocols=[OCPP16] if subprotocols is None else subprotocols,
        )
        # The scope is built in the constructor and used when the application starts, so
        # what a real server adds can be set here.
        scope = self.communicator.scope
        scope["client"] = CLIENT_ADDRESS
        if scheme is not None:
            scope["scheme"] = scheme
        if http_response:
            # Advertise the ASGI "WebSocket Denial Response" extension, so a refusal arrives
            # as an HTTP response with its status instead of a bare close.
            scope["extensions"] = {"websocket.http.response": {}}
        self.accepted: bool | None = None
        self.subprotocol: str | None = None
        self.refusal_close_code: int | None = None
        self._finished = False

    # Handshake

    async def connect(self) -> bool:
        self.accepted, detail = await self.communicator.connect(timeout=5)
        if self.accepted:
            self.subprotocol = detail
        else:
            self.refusal_close_code = detail
        return self.accepted

    async def connect_expecting_http_response(self) -> tuple[int, dict[bytes, bytes], bytes]:
        """For a client built with http_response=True that is refused: (status, headers, body)."""
        await self.communicator.send_input({"type": "websocket.connect"})
        start = await self.communicator.receive_output(timeout=5)
        assert start["type"] == "websocket.http.response.start", start
        body = await self.communicator.receive_output(timeout=5)
        assert body["type"] == "websocket.http.response.body", body
        self.accepted = False
        return start["status"], dict(start["headers"]), body.get("body", b"")

    # Frames

    async def send_raw(self, text: str) -> None:
        await self.communicator.send_to(text_data=text)

    async def send_bytes(self, data: bytes) -> None:
        await self.communicator.send_to(bytes_data=data)

    async def send_call(self, action: str, payload: Any, message_id: str | None = None) -> str:
        message_id = message_id or uuid.uuid4().hex
        await self.communicator.send_json_to([CALL, message_id, action, payload])
        return message_id

    async def receive(self, wait: float = 5) -> list:
        return await self.communicator.receive_json_from(timeout=wait)

    async def call(self, action: str, payload: Any, message_id: str | None = None) -> list:
        """Send a CALL and return the reply frame (CALLRESULT or CALLERROR) for it."""
        message_id = await self.send_call(action, payload, message_id)
        reply = await self.receive()
        assert reply[1] == message_id, f"reply to {message_id} expected, got {reply}"
        return reply

    async def result(self, action: str, payload: Any, message_id: str | None = None) -> dict:
        """Send a CALL that must succeed; return the CALLRESULT payload."""
        reply = await self.call(action, payload, message_id)
        assert reply[0] == CALLRESULT, f"{action}: CALLRESULT expected, got {reply}"
        return reply[2]

    async def error(self, action: str, payload: Any, message_id: str | None = None) -> tuple[str, str]:
        """Send a CALL that must fail; return (error code, description)."""
        reply = await self.call(action, payload, message_id)
        assert reply[0] == CALLERROR, f"{action}: CALLERROR expected, got {reply}"
        assert len(reply) == 5, reply
        return reply[2], reply[3]

    async def receive_close(self, wait: float = 5) -> int | None:
        """The next message from the server must be a close; return its code."""
        message = await self.communicator.receive_output(timeout=wait)
        assert message["type"] == "websocket.close", message
        return message.get("code", 1000)

    async def nothing_more(self, wait: float = 0.1) -> bool:
        """True if the server sends nothing more within `wait` seconds."""
        return await self.communicator.receive_nothing(timeout=wait)

    async def disconnect(self, code: int = 1000) -> None:
        """Close from the charger's side and wait for the consumer to finish (idempotent)."""
        if self._finished:
            return
        self._finished = True
        await self.communicator.disconnect(code=code, timeout=5)


async def boot(client: OcppClient, **extra) -> dict:
    payload = {"chargePointVendor": "TestVendor", "chargePointModel": "TestModel", **extra}
    return await client.result("BootNotification", payload)


@pytest_asyncio.fixture
async def open_client(transactional_db):
    """Factory: `await open_client(charger_or_id, **OcppClient options)` returns a connected
    client (connect=False to leave the handshake to the test). Every client is disconnected,
    the message-log writer stopped and the worker threads' connections closed at teardown
    (before the database is flushed)."""
    clients: list[OcppClient] = []

    async def open_(target: RegisteredCharger | str, *, connect: bool = True, **options) -> OcppClient:
        if isinstance(target, RegisteredCharger):
            options.setdefault("key", target.key)
            charge_point_id = target.charge_point_id
        else:
            charge_point_id = target
        client = OcppClient(charge_point_id, **options)
        clients.append(client)
        if connect:
            assert await client.connect(), f"{charge_point_id} was refused"
            assert client.subprotocol == OCPP16
        return client

    yield open_

    for client in reversed(clients):
        await client.disconnect()
    discard_buffered_frames()
    await stop_message_log_writer()
    await db(connections.close_all)()


@pytest_asyncio.fixture
async def connected(charger, open_client) -> OcppClient:
    """The Accepted `charger`, connected (no BootNotification sent: it is Accepted already)."""
    return await open_client(charger)


def frame(*items) -> str:
    return json.dumps(list(items))


# --- Payloads -----------------------------------------------------------------------------


def now_s() -> dt.datetime:
    """Now, to the second (so a time survives the round trip through an OCPP string)."""
    return timezone.now().replace(microsecond=0)


def iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def start_payload(
    *, connector_id: int = 1, id_tag: str = "TAG-OK", meter_start: int = 1000, at: dt.datetime | None = None, **extra
) -> dict:
    return {
        "connectorId": connector_id,
        "idTag": id_tag,
        "meterStart": meter_start,
        "timestamp": iso(at or now_s()),
        **extra,
    }


def stop_payload(transaction_id: int, *, meter_stop: int = 5000, at: dt.datetime | None = None, **extra) -> dict:
    return {"transactionId": transaction_id, "meterStop": meter_stop, "timestamp": iso(at or now_s()), **extra}


def sampled(value: str, **fields) -> dict:
    return {"value": value, **fields}


def meter_values_payload(
    *samples: dict, connector_id: int = 1, transaction_id: int | None = None, at: dt.datetime | None = None
) -> dict:
    payload: dict = {
        "connectorId": connector_id,
        "meterValue": [{"timestamp": iso(at or now_s()), "sampledValue": list(samples)}],
    }
    if transaction_id is not None:
        payload["transactionId"] = transaction_id
    return payload


# --- A database outage ------------------------------------------------------------------


class DatabaseOutage:
    """An execute wrapper (Django's hook around every SQL statement, i.e. the database
    boundary) that makes the database refuse statements with OperationalError, as a dropped
    server connection would, while `down` is set: every data statement, or only those
    containing `only` (e.g. 'INSERT INTO "charging_chargingsession"', to fail in the middle of
    a transaction). Transaction control (BEGIN, SAVEPOINT, ROLLBACK) still goes through, so
    Django's atomic blocks unwind exactly as after a real failed statement.

    Patching the database boundary rather than a service function tests what matters: that
    the service's transaction leaves nothing behind and the consumer answers InternalError."""

    DATA_STATEMENTS = ("SELECT", "INSERT", "UPDATE", "DELETE", "WITH", "COPY")

    def __init__(self) -> None:
        self.down = False
        self.only: str | None = None
        self.refused: list[str] = []
        # What the database raises: OperationalError is an outage; DataError/IntegrityError
        # mean the data itself cannot be stored.
        self.error: type[Exception] = OperationalError

    def _refuses(self, sql: str) -> bool:
        if not self.down:
            return False
        if self.only is not None:
            return self.only in sql
        return sql.lstrip().upper().startswith(self.DATA_STATEMENTS)

    def __call__(self, execute, sql, params, many, context):
        if self._refuses(sql):
            self.refused.append(sql)
            raise self.error("could not reach the database (simulated outage)")
        return execute(sql, params, many, context)


@pytest_asyncio.fixture
async def database_outage(open_client) -> DatabaseOutage:
    """Installed on the connections of the thread that runs the consumer's
    `database_sync_to_async` calls (asgiref's single thread-sensitive executor) and of the
    group-commit writer. Requests
    `open_client` so it is removed before the clients disconnect at teardown."""
    outage = DatabaseOutage()

    def install() -> None:
        connection.execute_wrappers.append(outage)

    def remove() -> None:
        connection.execute_wrappers.remove(outage)

    # And on the group-commit writers' connections, which store what chargers send.
    await db(install)()
    await sync_to_async(group_commit.run_in_every_writer)(install)
    yield outage
    outage.down = False
    await db(remove)()
    await sync_to_async(group_commit.run_in_every_writer)(remove)
