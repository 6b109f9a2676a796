"""Simulated chargers for the benchmark: OCPP 1.6J chargers, or OCPP 2.0.1 stations
(`--ocpp 2.0.1`: TransactionEvent instead of Start/StopTransaction).

asyncio + `websockets` sending raw OCPP-J frames (json only, no `ocpp` library), so the client
is cheap and independent of the server's library. One task per charger: a charger has at most
one CALL outstanding (OCPP-J 1.6 sec. 4.1.1), so it sends, then reads until the matching
CALLRESULT, and no reader task is needed. Every charger stops by itself at the scenario's end
and is cancelled at its hard deadline.

A worker process runs a stride of the chargers (`run_worker`); the orchestrator in
`bench.scenarios` merges the workers' `ClientResult`s.
"""

import asyncio
import base64
import contextlib
import datetime as dt
import gc
import heapq
import itertools
import json
import random
import resource
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus
from websockets.protocol import State

CALL, CALLRESULT, CALLERROR = 2, 3, 4
SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
ID_TAGS = tuple(f"BENCH-TAG-{number:04d}" for number in range(1, 101))
# One source address per this many chargers: each charger may hold two ports at once while it
# reconnects (the old socket in TIME_WAIT), and the ephemeral range here is about 28,000 ports.
CHARGERS_PER_SOURCE_ADDRESS = 10_000
MAX_ERROR_EXAMPLES = 10
# What a failed opening handshake raises (refused, reset, rejected, too slow).
CONNECT_FAILURES = (OSError, InvalidHandshake, TimeoutError, EOFError, ConnectionClosed)


def charge_point_id(number: int) -> str:
    return f"BENCH-{number:05d}"


def connector_count(number: int) -> int:
    """Every other charger has two connectors (the seed creates the same)."""
    return 2 if number % 2 == 0 else 1


def source_address(number: int) -> str:
    return f"127.0.0.{1 + (number - 1) // CHARGERS_PER_SOURCE_ADDRESS}"


def raise_open_file_limit() -> None:
    """Up to the hard limit: every connection is a file descriptor on both sides."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def quiet_garbage_collector() -> None:
    """A fleet is thousands of separate devices, none of which stops for another's garbage; the
    process simulating them must not either. With CPython's defaults it ran a full collection
    over its 10,000 connections every few seconds, 0.6-0.7 s each (measured with a gc callback),
    and even young collections took up to 0.3 s: every CALL in flight was timed with the pause
    in it, as if the server had been slow. So the collector is off for the run, as `timeit`
    turns it off while it times; reference counting still frees nearly everything, and the
    few cycles wait for the process's end, minutes away."""
    gc.collect()
    gc.freeze()
    gc.disable()


def ocpp_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ClientConfig:
    """What every worker needs; times are time.monotonic() values (system-wide on Linux, so
    the orchestrator and its workers share one clock)."""

    scenario: str  # fleet | throughput | storm
    url: str  # ws://127.0.0.1:PORT/ocpp
    key: str | None  # HTTP Basic password of every charger; None: no auth (baseline)
    chargers: int
    t0: float
    ramp_rate: float  # new connections per second, all workers together
    steady_until: float  # no new work after this
    hard_deadline: float  # everything is cancelled here
    heartbeat: float
    meter_interval: float
    charging_share: float  # share of connectors in a session (fleet, storm)
    session_seconds: float
    call_timeout: float
    reconnect_spread: float  # storm: reconnect within this many seconds of losing the socket
    seed: int = 7
    ocpp: str = "1.6"  # the version the simulated chargers speak (SUBPROTOCOLS)


@dataclass
class ClientResult:
    # action -> [(sent_at, latency)], both in seconds
    samples: dict[str, list[tuple[float, float]]] = field(default_factory=lambda: defaultdict(list))
    errors: Counter = field(default_factory=Counter)
    error_examples: list[str] = field(default_factory=list)
    ready_at: list[float] = field(default_factory=list)  # connected and set up, one per charger
    opened: list[tuple[int, float]] = field(default_factory=list)  # (charger number, when), every handshake
    # Failed handshakes retried in the storm (refused while the server restarts): not errors
    # unless the charger never gets in.
    handshake_failures: Counter = field(default_factory=Counter)
    disconnects: int = 0
    held_at_end: int = 0
    # What the server acknowledged, to be found in its database afterwards.
    # (charge point id, transaction id as text: ours in 1.6, the station's own in 2.0.1)
    started: list[tuple[str, str]] = field(default_factory=list)
    stopped: list[tuple[str, str]] = field(default_factory=list)
    meter_values: list[tuple[str, int, str]] = field(default_factory=list)  # (cp id, connector, value)

    def error(self, kind: str, detail: str = "", count: int = 1) -> None:
        self.errors[kind] += count
        if len(self.error_examples) < MAX_ERROR_EXAMPLES:
            self.error_examples.append(f"{kind}: {detail}"[:300])

    def merge(self, other: "ClientResult") -> None:
        for action, samples in other.samples.items():
            self.samples[action].extend(samples)
        self.errors.update(other.errors)
        self.error_examples.extend(other.error_examples[: MAX_ERROR_EXAMPLES - len(self.error_examples)])
        self.ready_at += other.ready_at
        self.opened += other.opened
        self.handshake_failures.update(other.handshake_failures)
        self.disconnects += other.disconnects
        self.held_at_end += other.held_at_end
        self.started += other.started
        self.stopped += other.stopped
        self.meter_values += other.meter_values

    def plain(self) -> "ClientResult":
        """Without defaultdict (its lambda does not pickle back to the orchestrator)."""
        self.samples = dict(self.samples)
        return self


def describe(failure: BaseException) -> str:
    if isinstance(failure, InvalidStatus):
        return f"HTTP {failure.response.status_code}"
    return type(failure).__name__


class Stopped(Exception):
    """The charger lost its socket and may not (or could not) get it back."""


class CallFailed(Exception):
    """CALLERROR or no answer in time: counted as an error; the charger goes on."""


@dataclass(order=True)
class Event:
    due: float
    kind: str = field(compare=False)
    connector: int = field(default=0, compare=False)


class Charger:
    """An OCPP 1.6J charger."""

    def __init__(self, number: int, config: ClientConfig, result: ClientResult) -> None:
        self.number = number
        self.id = charge_point_id(number)
        self.config = config
        self.result = result
        # Reproducible jitter, not security.
        self.rng = random.Random(config.seed * 1_000_003 + number)  # noqa: S311
        self.connectors = connector_count(number)
        self.id_tag = ID_TAGS[number % len(ID_TAGS)]
        self.ws: ClientConnection | None = None
        self.message_ids = itertools.count(1)
        # Energy register per connector (Wh): strictly increasing, so every acknowledged
        # MeterValues sample is one distinct (charger, connector, value) row to look for.
        self.register = dict.fromkeys(range(1, self.connectors + 1), 0)
        self.transaction: dict[int, int | str | None] = dict.fromkeys(range(1, self.connectors + 1))
        self.events: list[Event] = []

    # --- Connection ---------------------------------------------------------------------

    async def open(self) -> None:
        headers = {}
        if self.config.key is not None:
            token = base64.b64encode(f"{self.id}:{self.config.key}".encode()).decode()
            headers["Authorization"] = f"Basic {token}"
        self.ws = await connect(
            f"{self.config.url}/{self.id}",
            subprotocols=[SUBPROTOCOLS[self.config.ocpp]],
            additional_headers=headers,
            user_agent_header=None,
            compression=None,  # chargers rarely negotiate it; it costs memory on both sides
            ping_interval=None,  # the server pings; answering is automatic
            open_timeout=self.config.call_timeout,
            close_timeout=2,
            max_queue=4,
            local_addr=(source_address(self.number), 0),
        )
        self.result.opened.append((self.number, time.monotonic()))

    async def open_with_retries(self) -> bool:
        """Storm: keep trying until the server takes us or the scenario ends."""
        while time.monotonic() < self.config.steady_until:
            try:
                await self.open()
            except CONNECT_FAILURES as failure:
                self.result.handshake_failures[describe(failure)] += 1
                await asyncio.sleep(self.rng.uniform(0.25, 0.75))
            else:
                return True
        return False

    async def reconnect(self) -> None:
        """Storm: back as soon as the server accepts us, without BootNotification, and say so
        with a Heartbeat right away. Raises Stopped when the scenario is over."""
        self.result.disconnects += 1
        await asyncio.sleep(self.rng.uniform(0, self.config.reconnect_spread))
        if not await self.open_with_retries():
            self.result.error("not reconnected before the end", self.id)
            raise Stopped
        with contextlib.suppress(CallFailed):  # counted; the interrupted CALL is retried anyway
            await self.call("Heartbeat", {})

    # --- Calls --------------------------------------------------------------------------

    async def call(self, action: str, payload: dict) -> dict:
        """Send a CALL and wait for its CALLRESULT. A lost socket is retried on the next one
        with the same message id (as chargers retry transaction messages); raises CallFailed
        on CALLERROR or timeout, Stopped when the socket is gone for good."""
        message_id = str(next(self.message_ids))
        frame = json.dumps([CALL, message_id, action, payload], separators=(",", ":"))
        while True:
            try:
                return await self._exchange(message_id, action, frame)
            except ConnectionClosed as closed:
                if self.config.scenario != "storm" or time.monotonic() >= self.config.steady_until:
                    self.result.error(f"connection closed ({action})", str(closed))
                    raise Stopped from closed
                await self.reconnect()

    async def _exchange(self, message_id: str, action: str, frame: str) -> dict:
        sent = time.monotonic()
        await self.ws.send(frame)
        try:
            async with asyncio.timeout(self.config.call_timeout):
                while True:
                    message = json.loads(await self.ws.recv())
                    if message[0] == CALL:
                        await self.answer_call(message, time.monotonic())
                    elif message[1] == message_id:
                        break
                    # Otherwise the late answer to a CALL that already timed out: dropped.
        except TimeoutError as timeout:
            self.result.error(f"timeout {action}")
            raise CallFailed(action) from timeout
        if message[0] == CALLERROR:
            self.result.error(f"CALLERROR {action}", json.dumps(message[2:]))
            raise CallFailed(action)
        self.result.samples[action].append((sent, time.monotonic() - sent))
        return message[2]

    async def answer_call(self, message: list, received_at: float) -> None:
        """A CALL from the central system. Nothing is asked of these chargers: answer at once so
        the server does not wait (the commands scenario's chargers answer for real)."""
        await self.ws.send(json.dumps([CALLERROR, message[1], "NotImplemented", "", {}]))

    async def status(self, connector: int, status: str) -> None:
        await self.call(
            "StatusNotification",
            {"connectorId": connector, "errorCode": "NoError", "status": status, "timestamp": ocpp_now()},
        )

    async def meter_values(self, connector: int) -> None:
        self.register[connector] += self.rng.randint(50, 500)
        value = str(self.register[connector])
        payload = {
            "connectorId": connector,
            "transactionId": self.transaction[connector],
            "meterValue": [
                {
                    "timestamp": ocpp_now(),
                    "sampledValue": [{"value": value, "measurand": "Energy.Active.Import.Register", "unit": "Wh"}],
                }
            ],
        }
        await self.call("MeterValues", payload)
        self.result.meter_values.append((self.id, connector, value))

    async def start_session(self, connector: int) -> None:
        await self.status(connector, "Preparing")
        await self.call("Authorize", {"idTag": self.id_tag})
        self.register[connector] += 1  # a new meterStart: a retransmitted start is recognised by it (R2)
        answer = await self.call(
            "StartTransaction",
            {
                "connectorId": connector,
                "idTag": self.id_tag,
                "meterStart": self.register[connector],
                "timestamp": ocpp_now(),
            },
        )
        self.transaction[connector] = answer["transactionId"]
        self.result.started.append((self.id, str(answer["transactionId"])))
        await self.status(connector, "Charging")

    async def stop_session(self, connector: int) -> None:
        transaction_id = self.transaction[connector]
        self.register[connector] += 1
        await self.call(
            "StopTransaction",
            {
                "transactionId": transaction_id,
                "idTag": self.id_tag,
                "meterStop": self.register[connector],
                "timestamp": ocpp_now(),
                "reason": "Local",
            },
        )
        self.transaction[connector] = None
        self.result.stopped.append((self.id, str(transaction_id)))
        await self.status(connector, "Finishing")
        await self.status(connector, "Available")

    # --- Behaviour ----------------------------------------------------------------------

    async def run(self, slot: int) -> None:
        config = self.config
        await asyncio.sleep(max(0.0, config.t0 + slot / config.ramp_rate - time.monotonic()))
        try:
            await self.open()
        except CONNECT_FAILURES as refused:
            if config.scenario != "storm":
                self.result.error(f"connect: {describe(refused)}", f"{self.id}: {refused!r}")
                return
            # Caught by the restart in the middle of its handshake: try again, as chargers do.
            self.result.handshake_failures[describe(refused)] += 1
            if not await self.open_with_retries():
                self.result.error("never connected", self.id)
                return
        try:
            await self.boot()
            await self.behave()
        except (Stopped, CallFailed):
            pass
        finally:
            await self.close()

    async def boot(self) -> None:
        await self.call("BootNotification", {"chargePointVendor": "Bench", "chargePointModel": "Sim"})

    async def close(self) -> None:
        if self.ws is None:
            return
        if self.ws.state is State.OPEN and time.monotonic() < self.config.hard_deadline:
            self.result.held_at_end += 1
        elif self.ws.state is not State.OPEN:
            self.result.error("closed by the server", f"{self.id}: {self.ws.close_code} {self.ws.close_reason}")
        with contextlib.suppress(Exception):
            await self.ws.close()

    async def behave(self) -> None:
        """What the charger does once booted, until the scenario's end."""
        if self.config.scenario == "throughput":
            await self.run_throughput()
        else:
            await self.run_fleet()

    async def run_throughput(self) -> None:
        """Back to back: MeterValues, StatusNotification, Heartbeat, on a session of connector 1."""
        await self.start_session(1)
        self.result.ready_at.append(time.monotonic())
        while time.monotonic() < self.config.steady_until:
            with contextlib.suppress(CallFailed):
                await self.meter_values(1)
                await self.status(1, "Charging")
                await self.call("Heartbeat", {})

    async def run_fleet(self) -> None:
        """Heartbeats every H s (jittered); a share of the connectors in sessions: Authorize,
        StartTransaction, MeterValues every M s, StopTransaction, StatusNotification around them."""
        config = self.config
        for connector in range(1, self.connectors + 1):
            await self.status(connector, "Available")
        self.result.ready_at.append(time.monotonic())
        now = time.monotonic()
        # Spread over one interval, so that heartbeats do not come in waves after the ramp.
        self.schedule(now + self.rng.uniform(0, config.heartbeat), "heartbeat")
        for connector in range(1, self.connectors + 1):
            if self.rng.random() < config.charging_share:
                self.schedule(now + self.rng.uniform(0, config.session_seconds / 2), "start", connector)
        while self.events:
            event = heapq.heappop(self.events)
            if event.due >= config.steady_until:
                # Hold the connection (and keep watching it) until the end.
                await self.idle(config.steady_until - time.monotonic())
                return
            await self.idle(event.due - time.monotonic())
            with contextlib.suppress(CallFailed):  # counted; the charger goes on with its schedule
                await self.handle(event)

    async def idle(self, seconds: float) -> None:
        """Wait, but notice a closed socket at once, as a charger does (it always reads):
        in the storm, the reconnection starts when the server goes away, not at the next
        heartbeat."""
        try:
            await asyncio.wait_for(self.ws.wait_closed(), max(0.0, seconds))
        except TimeoutError:
            return
        if self.config.scenario != "storm" or time.monotonic() >= self.config.steady_until:
            self.result.error("connection closed (idle)", self.id)
            raise Stopped
        await self.reconnect()

    def schedule(self, due: float, kind: str, connector: int = 0) -> None:
        heapq.heappush(self.events, Event(due, kind, connector))

    async def handle(self, event: Event) -> None:
        config, connector = self.config, event.connector
        if event.kind == "heartbeat":
            self.schedule(event.due + config.heartbeat * self.rng.uniform(0.9, 1.1), "heartbeat")
            await self.call("Heartbeat", {})
        elif event.kind == "start":
            await self.start_session(connector)
            started = time.monotonic()
            self.schedule(started + self.rng.uniform(0.1, 1.0) * config.meter_interval, "meter", connector)
            self.schedule(started + config.session_seconds * self.rng.uniform(0.5, 1.5), "stop", connector)
        elif event.kind == "meter" and self.transaction[connector] is not None:
            self.schedule(event.due + config.meter_interval, "meter", connector)
            await self.meter_values(connector)
        elif event.kind == "stop" and self.transaction[connector] is not None:
            await self.stop_session(connector)
            self.schedule(time.monotonic() + self.rng.uniform(1, 5), "start", connector)


class Station201(Charger):
    """An OCPP 2.0.1 station: one connector per EVSE (EVSE n, connector 1), sessions as
    TransactionEvent Started / Updated / Ended with a transaction id of its own and a seqNo
    counting every TransactionEvent it sends (2.0.1 E01-E07, J02)."""

    def __init__(self, number: int, config: ClientConfig, result: ClientResult) -> None:
        super().__init__(number, config, result)
        self.seq_no = itertools.count(0)
        self.sessions = itertools.count(1)

    async def boot(self) -> None:
        await self.call(
            "BootNotification", {"reason": "PowerUp", "chargingStation": {"vendorName": "Bench", "model": "Sim"}}
        )

    async def status(self, connector: int, status: str) -> None:
        # 2.0.1 connector states are fewer: in a session the connector is Occupied.
        wire = {"Preparing": "Occupied", "Charging": "Occupied", "Finishing": "Occupied"}.get(status, status)
        await self.call(
            "StatusNotification",
            {"timestamp": ocpp_now(), "connectorStatus": wire, "evseId": connector, "connectorId": 1},
        )

    def energy(self, connector: int, context: str = "Sample.Periodic") -> list[dict]:
        return [
            {
                "timestamp": ocpp_now(),
                "sampledValue": [{"value": self.register[connector], "context": context,
                                  "measurand": "Energy.Active.Import.Register", "unitOfMeasure": {"unit": "Wh"}}],
            }
        ]  # fmt: skip

    async def transaction_event(self, connector: int, event_type: str, trigger: str, **fields) -> dict:
        payload = {
            "eventType": event_type,
            "timestamp": ocpp_now(),
            "triggerReason": trigger,
            "seqNo": next(self.seq_no),
            "transactionInfo": {"transactionId": self.transaction[connector], **fields.pop("info", {})},
            "evse": {"id": connector, "connectorId": 1},
            **fields,
        }
        return await self.call("TransactionEvent", payload)

    async def meter_values(self, connector: int) -> None:
        self.register[connector] += self.rng.randint(50, 500)
        value = str(self.register[connector])
        await self.transaction_event(connector, "Updated", "MeterValuePeriodic", meterValue=self.energy(connector))
        self.result.meter_values.append((self.id, connector, value))

    async def start_session(self, connector: int) -> None:
        await self.status(connector, "Occupied")
        await self.call("Authorize", {"idToken": {"idToken": self.id_tag, "type": "ISO14443"}})
        self.register[connector] += 1
        self.transaction[connector] = f"{self.id}-{connector}-{next(self.sessions)}"
        await self.transaction_event(
            connector,
            "Started",
            "Authorized",
            idToken={"idToken": self.id_tag, "type": "ISO14443"},
            meterValue=self.energy(connector, "Transaction.Begin"),
            info={"chargingState": "Charging"},
        )
        self.result.started.append((self.id, self.transaction[connector]))

    async def stop_session(self, connector: int) -> None:
        transaction_id = self.transaction[connector]
        self.register[connector] += 1
        await self.transaction_event(
            connector,
            "Ended",
            "StopAuthorized",
            idToken={"idToken": self.id_tag, "type": "ISO14443"},
            meterValue=self.energy(connector, "Transaction.End"),
            info={"stoppedReason": "Local"},
        )
        self.transaction[connector] = None
        self.result.stopped.append((self.id, str(transaction_id)))
        await self.status(connector, "Available")


def charger_for(number: int, config: ClientConfig, result: ClientResult) -> Charger:
    return Station201(number, config, result) if config.ocpp == "2.0.1" else Charger(number, config, result)


async def run_chargers(config: ClientConfig, worker: int, workers: int) -> ClientResult:
    """Chargers worker+1, worker+1+workers, ...: a stride, so that every worker ramps up at
    the same pace."""
    result = ClientResult()
    numbers = range(worker + 1, config.chargers + 1, workers)
    tasks = [asyncio.create_task(charger_for(number, config, result).run(number - 1)) for number in numbers]
    _done, pending = await asyncio.wait(tasks, timeout=max(0.0, config.hard_deadline - time.monotonic()))
    for task in pending:
        task.cancel()
    if pending:
        result.error("cancelled at the hard deadline", f"{len(pending)} chargers", len(pending))
        await asyncio.wait(pending, timeout=5)
    for task in tasks:
        if task.done() and not task.cancelled() and task.exception() is not None:
            result.error("client bug", repr(task.exception()))
    return result.plain()


def run_worker(config: ClientConfig, worker: int, workers: int) -> ClientResult:
    """Entry point of a client process."""
    raise_open_file_limit()
    quiet_garbage_collector()
    try:
        import uvloop
    except ImportError:  # the client works without it, just slower
        return asyncio.run(run_chargers(config, worker, workers))
    return uvloop.run(run_chargers(config, worker, workers))
