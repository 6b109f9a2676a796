"""One scenario against one server: provision and start the server, run the chargers in
worker processes, restart the server in the middle for the storm, stop it with SIGTERM, and
count what it stored of what it acknowledged. The commands scenario: two server processes,
one holding the chargers' sockets and one serving the API."""

import multiprocessing
import secrets
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

from bench.chargers import ClientConfig, ClientResult, run_worker
from bench.command_client import CommandClientConfig, CommandClientResult, run_command_worker
from bench.report import summarize, summarize_commands
from bench.servers import OURS, Sampler, Server, another_process, provision

SPAWN_ALLOWANCE = 2.0  # s for the worker processes to start before the first connection
WRITE_BEHIND_GRACE = 2.0  # s for write-behind buffers to flush before the server is stopped
IDLE_SETTLE = 1.0  # s between the server being healthy and the idle RSS sample


@dataclass(frozen=True)
class ScenarioSettings:
    name: str  # fleet | throughput | storm
    chargers: int
    duration: float  # fleet, throughput: after the ramp-up; storm: after the restart
    heartbeat: float
    meter_interval: float
    charging_share: float
    session_seconds: float
    ramp_rate: float
    call_timeout: float
    settle: float  # storm: seconds connected before the restart
    reconnect_spread: float
    client_processes: int
    ocpp: str = "1.6"  # what the simulated chargers speak
    # Ours with outbound events on: every event XADDed to a Redis stream and queued as a webhook
    # delivery (bench.seed's subscription to every type).
    integrations: bool = False


@dataclass(frozen=True)
class CommandSettings:
    name: str  # commands
    chargers: int
    duration: float  # s of submission, once every charger is connected
    rate: float  # commands per second
    ramp_rate: float
    call_timeout: float  # s for a command to reach its charger, and again to be readable


@dataclass
class Timeline:
    t0: float
    ramped_at: float  # planned end of the ramp-up
    restart_at: float | None
    steady_until: float
    hard_deadline: float


def timeline(settings: ScenarioSettings) -> Timeline:
    t0 = time.monotonic() + SPAWN_ALLOWANCE
    connected = t0 + settings.chargers / settings.ramp_rate
    if settings.name == "storm":
        restart_at = connected + settings.settle
        steady_until = restart_at + settings.duration
    else:
        restart_at, steady_until = None, connected + settings.duration
    # Time for the last CALLs to be answered or time out, then for the sockets to close.
    return Timeline(t0, connected, restart_at, steady_until, steady_until + settings.call_timeout + 10)


def client_config(settings: ScenarioSettings, server: Server, times: Timeline) -> ClientConfig:
    return ClientConfig(
        scenario=settings.name,
        url=server.url,
        key=server.key,
        chargers=settings.chargers,
        t0=times.t0,
        ramp_rate=settings.ramp_rate,
        steady_until=times.steady_until,
        hard_deadline=times.hard_deadline,
        heartbeat=settings.heartbeat,
        meter_interval=settings.meter_interval,
        charging_share=settings.charging_share,
        session_seconds=settings.session_seconds,
        call_timeout=settings.call_timeout,
        reconnect_spread=settings.reconnect_spread,
        ocpp=settings.ocpp,
    )


def restart(server: Server) -> dict[str, float]:
    """Storm: SIGTERM, wait for the exit, start again on the same port and database."""
    stopping = time.monotonic()
    exit_code = server.stop()
    stopped = time.monotonic()
    server.start()
    return {
        "sigterm_at": stopping,
        "exit_code": exit_code,
        "stopped_after_s": stopped - stopping,
        "started_at": server.started_at[-1],
        "healthy_after_s": time.monotonic() - server.started_at[-1],
    }


def run_clients(settings: ScenarioSettings, server: Server, times: Timeline) -> tuple[ClientResult, dict | None]:
    config = client_config(settings, server, times)
    workers = settings.client_processes
    restart_info = None
    # spawn, not fork: the orchestrator has a sampler thread running.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        futures = [pool.submit(run_worker, config, worker, workers) for worker in range(workers)]
        if times.restart_at is not None:
            time.sleep(max(0.0, times.restart_at - time.monotonic()))
            restart_info = restart(server)
        merged = ClientResult()
        for future in futures:
            merged.merge(future.result(timeout=max(1.0, times.hard_deadline - time.monotonic()) + 30))
    return merged, restart_info


def steady_window(
    result: ClientResult, times: Timeline, restart_info: dict | None, chargers: int
) -> tuple[float, float]:
    """Storm: from the new server process to the end. Otherwise from the moment every charger
    was set up; from the planned end of the ramp-up if some never were (an overloaded server)."""
    if restart_info is not None:
        return restart_info["started_at"], times.steady_until
    if len(result.ready_at) < chargers or max(result.ready_at) >= times.steady_until - 1:
        return times.ramped_at, times.steady_until
    return max(result.ready_at), times.steady_until


def run_scenario(settings: ScenarioSettings, kind: str, database: str, redis: bool, run_dir: Path) -> dict:
    """The figures of one scenario against one server (ours or the baseline)."""
    server = provision(
        kind,
        run_dir / f"{settings.name}-{kind}",
        database,
        redis and kind == OURS,
        settings.chargers,
        300,
        integrations=settings.integrations and kind == OURS,
    )
    sampler = Sampler(server)
    try:
        server.start()
        time.sleep(IDLE_SETTLE)
        idle = sampler.sample()
        sampler.start()
        times = timeline(settings)
        result, restart_info = run_clients(settings, server, times)
        time.sleep(WRITE_BEHIND_GRACE)
        sampler.sample()
        sampler.stop()
        exit_code = server.stop()
        found = server.found()
    finally:
        sampler.stop()
        server.stop()
        server.drop()
    return summarize(
        settings=asdict(settings),
        result=result,
        samples=sampler.samples,
        idle=idle,
        window=steady_window(result, times, restart_info, settings.chargers),
        restart=restart_info,
        found=found,
        exit_code=exit_code,
    )


# --- The commands scenario ------------------------------------------------------------------


def require_postgres_and_redis(database: str, redis: bool) -> None:
    if database != "postgres" or not redis:
        raise SystemExit(
            "the commands scenario needs --database postgres --redis: the API and the chargers are served"
            " by two processes, which share PostgreSQL and reach each other through Redis' channel layer"
            " (DATABASE_URL and REDIS_URL; .ci/services.sh starts both on 127.0.0.1)"
        )


def run_command_client(settings: CommandSettings, gateway: Server, api: Server, password: str) -> CommandClientResult:
    config = CommandClientConfig(
        ws_url=gateway.url,
        key=gateway.key,
        api_host="127.0.0.1",
        api_port=api.live.port,
        api_password=password,
        chargers=settings.chargers,
        rate=settings.rate,
        duration=settings.duration,
        ramp_rate=settings.ramp_rate,
        call_timeout=settings.call_timeout,
        t0=time.monotonic() + SPAWN_ALLOWANCE,
    )
    longest = settings.chargers / settings.ramp_rate + 4 * settings.call_timeout + settings.duration + 60
    # spawn, not fork: the orchestrator has sampler threads running.
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(run_command_worker, config).result(timeout=longest)


def run_commands_scenario(settings: CommandSettings, database: str, redis: bool, run_dir: Path) -> dict:
    """Chargers on one server process, commands through the API of a second one."""
    require_postgres_and_redis(database, redis)
    password = secrets.token_urlsafe(16)
    gateway = provision(OURS, run_dir / f"{settings.name}-{OURS}", database, redis, settings.chargers, 300, password)
    api = another_process(gateway)
    samplers = {"gateway": Sampler(gateway), "API": Sampler(api)}
    try:
        gateway.start()
        api.start()
        for sampler in samplers.values():
            sampler.start()
        client = run_command_client(settings, gateway, api, password)
        for sampler in samplers.values():
            sampler.stop()
        exit_codes = {"API": api.stop(), "gateway": gateway.stop()}
    finally:
        for sampler in samplers.values():
            sampler.stop()
        api.stop()
        gateway.stop()
        gateway.drop()
    return summarize_commands(
        settings=asdict(settings),
        client=client,
        samples={name: sampler.samples for name, sampler in samplers.items()},
        exit_codes=exit_codes,
    )
