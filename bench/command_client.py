"""The client side of the commands scenario, in one worker process: simulated chargers that
answer every CALL from the central system at once, and an API client that submits commands
to them at a fixed rate and reads each result back through the API.

Every command is a GetConfiguration whose one key names it (`BenchCommand-<n>`): the charger
finds in the CALL which command it is (the CALL's message id is the server's), so a CALL
received twice for one command is seen, and every command is timed from the API call to the
charger and from the charger's answer to the result readable through `GET /commands/<id>`.
GetConfiguration is a read (safe to repeat, R16's retry of a timed-out command included) and
an unknown key is a valid answer, so the server's settlement path is the ordinary one.

Both sides share time.monotonic() (one clock system-wide on Linux) with the orchestrator.
"""

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field

import h11
from websockets.exceptions import ConnectionClosed

from bench.chargers import (
    CALL,
    CALLRESULT,
    Charger,
    ClientConfig,
    ClientResult,
    Stopped,
    charge_point_id,
    quiet_garbage_collector,
    raise_open_file_limit,
)
from bench.http_client import HttpPool
from bench.seed import API_USER

ACTION = "GetConfiguration"
TAG_PREFIX = "BenchCommand-"
FINISHED = {"accepted", "rejected", "failed", "timed_out", "expired"}
# Per kind of request: submissions and reads have a pool each, so that the reads of commands
# already answered never wait behind a backlog of submissions (an API slower than the rate).
# 16 is twice the API process's request threads (HTTP_SYNC_THREADS); requests beyond the pool
# wait in the client, which shows as `client_wait`, not as the server's latency.
HTTP_CONNECTIONS = 16
# Resolution of "result readable": a poll every 10 ms after the charger has answered. The
# API's own `?wait=` re-reads the row every 200 ms, too coarse for this figure.
POLL_INTERVAL = 0.01
SWEEP_INTERVAL = 0.2  # the same, for the commands still unsettled after the run


@dataclass(frozen=True)
class CommandClientConfig:
    ws_url: str  # the process holding the chargers' sockets
    key: str  # every charger's HTTP Basic password
    api_host: str  # the process serving the API
    api_port: int
    api_password: str
    chargers: int
    rate: float  # commands per second, all chargers together
    duration: float  # s of submission
    ramp_rate: float  # charger connections per second
    call_timeout: float  # s a charger or a command may take before it counts as lost
    t0: float  # time.monotonic() of the first connection


@dataclass
class Trace:
    """One command, as the client saw it (time.monotonic() values)."""

    number: int
    charger: int
    planned_at: float
    sent_at: float | None = None  # the POST written on its connection
    accepted_at: float | None = None  # its 202 read
    command_id: int | None = None
    received_at: list[float] = field(default_factory=list)  # each CALL carrying this command
    answered_at: float | None = None  # the charger's first answer sent
    readable_at: float | None = None  # a GET answered with the command finished
    final_status: str = ""
    polls: int = 0
    settled_late: bool = False  # found finished only by the final sweep: not timed
    error: str = ""


@dataclass
class CommandClientResult:
    chargers: ClientResult
    traces: list[Trace]
    untagged_calls: int  # CALLs that were none of the bench's commands
    submit_started_at: float
    submit_ended_at: float
    cpu_percent: float  # the client process, over the submission, % of one core


def tag(number: int) -> str:
    return f"{TAG_PREFIX}{number}"


def answer_for(action: str, payload: dict) -> dict:
    """A valid confirmation, given at once."""
    if action == "GetConfiguration":
        return {"configurationKey": [], "unknownKey": payload.get("key", [])}
    if action == "UnlockConnector":
        return {"status": "Unlocked"}
    return {"status": "Accepted"}


class Ledger:
    """Every command of the run, written by the submitter and by the chargers."""

    def __init__(self) -> None:
        self.traces: dict[int, Trace] = {}
        self.answered: dict[int, asyncio.Event] = {}
        self.untagged_calls = 0

    def add(self, trace: Trace) -> None:
        self.traces[trace.number] = trace
        self.answered[trace.number] = asyncio.Event()

    def commands_in(self, payload: dict) -> list[Trace]:
        keys = payload.get("key") if isinstance(payload, dict) else None
        numbers = [int(key.removeprefix(TAG_PREFIX)) for key in keys or [] if key.startswith(TAG_PREFIX)]
        return [self.traces[number] for number in numbers if number in self.traces]

    def received(self, payload: dict, at: float) -> list[Trace]:
        traces = self.commands_in(payload)
        if not traces:
            self.untagged_calls += 1
        for trace in traces:
            trace.received_at.append(at)
        return traces

    def answered_call(self, traces: list[Trace], at: float) -> None:
        for trace in traces:
            if trace.answered_at is None:
                trace.answered_at = at
                self.answered[trace.number].set()


class CommandCharger(Charger):
    """Boots, then only listens: every CALL is answered with a confirmation at once."""

    def __init__(self, number: int, config: ClientConfig, result: ClientResult, ledger: Ledger) -> None:
        super().__init__(number, config, result)
        self.ledger = ledger

    async def answer_call(self, message: list, received_at: float) -> None:
        _call, message_id, action, payload = message
        traces = self.ledger.received(payload, received_at)
        frame = json.dumps([CALLRESULT, message_id, answer_for(action, payload)], separators=(",", ":"))
        answered_at = time.monotonic()
        await self.ws.send(frame)
        self.ledger.answered_call(traces, answered_at)

    async def behave(self) -> None:
        self.result.ready_at.append(time.monotonic())
        try:
            while True:
                frame = await self.ws.recv()
                received_at = time.monotonic()
                message = json.loads(frame)
                if message[0] == CALL:
                    await self.answer_call(message, received_at)
        except ConnectionClosed as closed:
            self.result.error("connection closed (listening)", f"{self.id}: {closed}")
            raise Stopped from closed


# --- The API side ---------------------------------------------------------------------------


async def log_in(pool: HttpPool, password: str) -> str:
    answer = await pool.request("POST", "/api/v1/auth/token", {"email": API_USER, "password": password})
    if answer.status != 200:
        raise RuntimeError(f"login failed: HTTP {answer.status} {answer.body[:300]!r}")
    return answer.json()["access"]


@dataclass
class Pools:
    submissions: HttpPool
    reads: HttpPool

    def close(self) -> None:
        self.submissions.close()
        self.reads.close()


async def submit(pools: Pools, ledger: Ledger, trace: Trace, patience: float) -> None:
    """POST the command, wait for its charger's answer, then poll until the API shows it
    finished. What does not happen within `patience` s (each) is left unset: lost."""
    body = {"action": ACTION, "payload": {"key": [tag(trace.number)]}}
    try:
        target = f"/api/v1/chargers/{charge_point_id(trace.charger)}/commands"
        answer = await pools.submissions.request("POST", target, body)
    except (OSError, ConnectionError, h11.ProtocolError) as failure:
        trace.error = f"POST failed: {type(failure).__name__}"
        return
    trace.sent_at = answer.sent_at
    if answer.status != 202:
        trace.error = f"POST answered HTTP {answer.status}: {answer.body[:200]!r}"
        return
    trace.accepted_at, trace.command_id = answer.answered_at, answer.json()["id"]
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ledger.answered[trace.number].wait(), patience)
        await poll_until_finished(pools.reads, trace, time.monotonic() + patience)


async def poll_until_finished(pool: HttpPool, trace: Trace, deadline: float, interval: float = POLL_INTERVAL) -> None:
    while time.monotonic() < deadline:
        try:
            answer = await pool.request("GET", f"/api/v1/commands/{trace.command_id}")
        except (OSError, ConnectionError, h11.ProtocolError) as failure:
            trace.error = f"GET failed: {type(failure).__name__}"
        else:
            trace.polls += 1
            status = (answer.json() or {}).get("status") if answer.status == 200 else None
            if answer.status != 200:
                trace.error = f"GET answered HTTP {answer.status}"
            elif status in FINISHED:
                trace.readable_at, trace.final_status = answer.answered_at, status
                return
        await asyncio.sleep(interval)


async def settle_late(pools: Pools, ledger: Ledger, trace: Trace, deadline: float) -> None:
    """After the run: a command accepted but not yet seen finished (its submission was cut
    short, or the API was too slow to show it in time) is lost only if it does not reach its
    charger and finish by the deadline either. Not timed: the poll is coarser."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ledger.answered[trace.number].wait(), max(0.0, deadline - time.monotonic()))
        await poll_until_finished(pools.reads, trace, deadline, interval=SWEEP_INTERVAL)
    trace.settled_late, trace.readable_at = bool(trace.final_status), None


async def sweep_unsettled(pools: Pools, ledger: Ledger, patience: float) -> None:
    deadline = time.monotonic() + patience
    unsettled = [t for t in ledger.traces.values() if t.command_id is not None and not t.final_status]
    await asyncio.gather(*(settle_late(pools, ledger, trace, deadline) for trace in unsettled))


async def submit_at_rate(pools: Pools, ledger: Ledger, config: CommandClientConfig) -> list[asyncio.Task]:
    """Open loop: command n is due at start + n / rate whatever the answers so far, to charger
    n mod N + 1 (round robin: each charger gets rate / N commands a second, and the server
    keeps them in order, one in flight per charger: R16)."""
    start = time.monotonic()
    count = int(config.duration * config.rate)
    tasks = []
    for number in range(count):
        planned_at = start + number / config.rate
        await asyncio.sleep(max(0.0, planned_at - time.monotonic()))
        trace = Trace(number=number, charger=number % config.chargers + 1, planned_at=planned_at)
        ledger.add(trace)
        tasks.append(asyncio.create_task(submit(pools, ledger, trace, config.call_timeout)))
    return tasks


async def wait_until_connected(result: ClientResult, chargers: int, deadline: float) -> None:
    while len(result.ready_at) < chargers and time.monotonic() < deadline:  # noqa: ASYNC110 - a count, not an event
        await asyncio.sleep(0.05)


async def run_command_client(config: CommandClientConfig) -> CommandClientResult:
    ledger, result = Ledger(), ClientResult()
    connected_by = config.t0 + config.chargers / config.ramp_rate + config.call_timeout
    end = connected_by + config.duration + 3 * config.call_timeout + 20  # the latest the run may last
    charger_config = ClientConfig(
        scenario="commands",
        url=config.ws_url,
        key=config.key,
        chargers=config.chargers,
        t0=config.t0,
        ramp_rate=config.ramp_rate,
        steady_until=end,
        hard_deadline=end + 10,
        heartbeat=0,
        meter_interval=0,
        charging_share=0,
        session_seconds=0,
        call_timeout=config.call_timeout,
        reconnect_spread=0,
    )
    chargers = [
        asyncio.create_task(CommandCharger(number, charger_config, result, ledger).run(number - 1))
        for number in range(1, config.chargers + 1)
    ]
    await wait_until_connected(result, config.chargers, connected_by)
    pools = Pools(*(HttpPool(config.api_host, config.api_port, HTTP_CONNECTIONS) for _ in range(2)))
    try:
        token = await log_in(pools.submissions, config.api_password)
        for pool in (pools.submissions, pools.reads):
            pool.headers.append(("Authorization", f"Bearer {token}"))
        started, cpu_started = time.monotonic(), time.process_time()
        submissions = await submit_at_rate(pools, ledger, config)
        ended, cpu_ended = time.monotonic(), time.process_time()
        # Each submission ends by itself within 2 timeouts (answer, then readable); those still
        # waiting for a connection then are never sent (an API slower than the rate).
        await asyncio.wait(submissions, timeout=2 * config.call_timeout + 5)
        for submission in submissions:
            submission.cancel()
        await asyncio.wait(submissions)
        for submission in submissions:
            if not submission.cancelled() and submission.exception() is not None:
                result.error("client bug", repr(submission.exception()))
        await sweep_unsettled(pools, ledger, config.call_timeout)
    finally:
        pools.close()
        for charger in chargers:
            charger.cancel()  # each counts its socket as held while it is still open
        await asyncio.wait(chargers, timeout=10)
    cpu_percent = round((cpu_ended - cpu_started) / (ended - started) * 100, 1)
    return CommandClientResult(
        result.plain(), list(ledger.traces.values()), ledger.untagged_calls, started, ended, cpu_percent
    )


def run_command_worker(config: CommandClientConfig) -> CommandClientResult:
    """Entry point of the client process."""
    raise_open_file_limit()
    quiet_garbage_collector()
    try:
        import uvloop
    except ImportError:  # the client works without it, just slower
        return asyncio.run(run_command_client(config))
    return uvloop.run(run_command_client(config))
