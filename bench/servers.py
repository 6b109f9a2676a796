"""The server under test, ours (`manage.py serve`) or the baseline, as a process of its own
with a fresh database; its RSS and CPU read from /proc; what it stored, read back directly
from its database once it has stopped."""

import contextlib
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from common.live_server import REPO, LiveServer, database_for, drop_database, free_port, wait_until_healthy

OURS, BASELINE = "ours", "baseline"
STOP_TIMEOUT = 30.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

# What each server stored of what the chargers were told was acknowledged.
FOUND_QUERIES = {
    OURS: {
        # Our integer id (1.6) or the station's own (2.0.1), as text either way.
        "started": "SELECT ch.charge_point_id, COALESCE(s.transaction_uid, CAST(s.transaction_id AS TEXT))"
        " FROM charging_chargingsession s JOIN sites_charger ch ON ch.id = s.charger_id",
        "stopped": "SELECT ch.charge_point_id, COALESCE(s.transaction_uid, CAST(s.transaction_id AS TEXT))"
        " FROM charging_chargingsession s JOIN sites_charger ch ON ch.id = s.charger_id WHERE s.state = 'completed'",
        # A 2.0.1 station's connector is connector 1 of its EVSE: the client counts EVSEs.
        "meter_values": "SELECT ch.charge_point_id, COALESCE(co.evse_id, co.connector_id), mv.raw_value"
        " FROM charging_metervalue mv JOIN sites_charger ch ON ch.id = mv.charger_id"
        " JOIN sites_connector co ON co.id = mv.connector_id",
    },
    BASELINE: {
        "started": "SELECT charge_point_id, CAST(id AS TEXT) FROM baseline_session",
        "stopped": "SELECT charge_point_id, CAST(id AS TEXT) FROM baseline_session WHERE stopped_at IS NOT NULL",
        "meter_values": "SELECT charge_point_id, connector_id, value FROM baseline_meter_value",
    },
}


def database_base(database: str) -> str:
    """The server to create fresh databases on: '' for SQLite files, else DATABASE_URL."""
    if database == "sqlite":
        return ""
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("--database postgres needs DATABASE_URL=postgres://... (see .ci/services.sh)")
    return url


@dataclass
class Server:
    kind: str
    live: LiveServer  # port, data dir, database url, env, process; its query() reads the database
    pg_name: str | None
    base_url: str
    key: str | None = None
    started_at: list[float] = field(default_factory=list)  # monotonic, one per process start

    @property
    def url(self) -> str:
        return self.live.ws_url

    @property
    def pid(self) -> int | None:
        process = self.live.process
        return process.pid if process is not None and process.poll() is None else None

    def command(self) -> list[str]:
        if self.kind == OURS:
            return [sys.executable, "manage.py", "serve", "--port", str(self.live.port)]
        return [
            sys.executable,
            "-m",
            "bench.baseline_server",
            "--port",
            str(self.live.port),
            "--database-url",
            self.live.database_url,
        ]

    def start(self) -> None:
        log = (self.live.data_dir / f"server-{self.live.port}.log").open("a")
        self.started_at.append(time.monotonic())
        self.live.process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            self.command(),
            cwd=REPO,
            env=self.live.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            # The open-file limit is inherited: the orchestrator raised its own (no preexec_fn,
            # which is unsafe while the sampler thread runs).
        )
        log.close()
        self.wait_ready()

    def wait_ready(self, timeout: float = 60.0) -> None:
        if self.kind == OURS:
            wait_until_healthy(self.live, timeout)
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.live.process.poll() is not None:
                raise RuntimeError(self.live.log())
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", self.live.port), timeout=1):
                return
            time.sleep(0.1)
        raise RuntimeError("baseline server did not start:\n" + self.live.log())

    def stop(self) -> int | None:
        """SIGTERM, as a process manager would: our server flushes what it holds."""
        process = self.live.process
        if process is None or process.poll() is not None:
            return process and process.returncode
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
            return None  # did not stop by itself

    def found(self) -> dict[str, set[tuple]]:
        return {name: set(self.live.query(sql)) for name, sql in FOUND_QUERIES[self.kind].items()}

    def drop(self) -> None:
        if self.pg_name:
            drop_database(self.pg_name, self.base_url)


def provision(
    kind: str,
    data_dir: Path,
    database: str,
    redis: bool,
    chargers: int,
    heartbeat: int,
    api_password: str = "",
    *,
    integrations: bool = False,
) -> Server:
    """A fresh database (seeded with the chargers for ours, and the API user `bench.seed.API_USER`
    with `api_password` if given); the server is not started yet. With `integrations`, outbound
    events go to a Redis stream and to a webhook subscription to every event type."""
    data_dir.mkdir(parents=True, exist_ok=True)
    base_url = database_base(database)
    database_url, pg_name = database_for(data_dir, base_url)
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        # The whole simulated fleet connects from 127.0.0.1 (10,000 at 250/s; a storm of 5,000 in
        # 30 s): no per-address handshake limit, which is meant for one site, not a fleet.
        "OCPP_HANDSHAKES_PER_ADDRESS": "0/1",
        # The throughput scenario measures capacity: its chargers send back to back as fast as
        # they are answered (with 5 chargers in the smoke run, hundreds of CALLs/s each).
        "OCPP_CALLS_PER_SECOND": "0",
        # The commands scenario submits hundreds of API requests a second as one user. The
        # throttle still counts them (in Redis, as deployed) but never refuses; per second, not
        # per minute, because DRF keeps every request time of the period in one cache entry.
        "API_THROTTLE_USER": "1000000/second",
        # One login for the whole run, however long.
        "JWT_ACCESS_MINUTES": "1440",
    }
    if redis:
        if not os.environ.get("REDIS_URL"):
            raise SystemExit("--redis needs REDIS_URL=redis://... (see .ci/services.sh)")
        # As deployed: Celery tasks (pricing a completed session) go to the broker for a
        # worker instead of running inside the server process.
        env.setdefault("CELERY_BROKER_URL", os.environ["REDIS_URL"])
    else:
        # The embedded default: in-memory channel layer, Celery in-process.
        env.pop("REDIS_URL", None)
        env.pop("CELERY_BROKER_URL", None)
    if integrations:
        if not redis:
            raise SystemExit("--integrations needs --redis: the event stream is a Redis stream")
        env["INTEGRATIONS_EVENT_STREAM_URL"] = os.environ["REDIS_URL"]
        env["INTEGRATIONS_WEBHOOKS"] = "true"
    live = LiveServer(port=free_port(), data_dir=data_dir, database_url=database_url, env=env)
    server = Server(kind=kind, live=live, pg_name=pg_name, base_url=base_url)
    if kind == OURS:
        server.key = secrets.token_hex(20)
        seeded = subprocess.run(  # noqa: S603
            [sys.executable, "-m", "bench.seed", "--chargers", str(chargers), "--key", server.key]
            # One argument: a password may start with "-".
            + ([f"--api-password={api_password}"] if api_password else [])
            + (["--webhook"] if integrations else []),
            cwd=REPO,
            env={**env, "DJANGO_SETTINGS_MODULE": "csms.settings"},
            capture_output=True,
            text=True,
            check=False,
        )
        if seeded.returncode:
            server.drop()
            raise RuntimeError(f"seeding failed:\n{seeded.stdout}{seeded.stderr}")
    return server


def another_process(server: Server) -> Server:
    """A second server process on the same database and channel layer, on a port of its own
    (not started yet). It drops nothing: the first one owns the database."""
    live = LiveServer(
        port=free_port(), data_dir=server.live.data_dir, database_url=server.live.database_url, env=server.live.env
    )
    return Server(kind=server.kind, live=live, pg_name=None, base_url=server.base_url, key=server.key)


# --- Process metrics -------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    with contextlib.suppress(OSError):
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as children:
                found += [int(child) for child in children.read().split()]
    return found


def process_usage(pid: int) -> tuple[int, float]:
    """(RSS in KiB, CPU seconds) of the process and its children."""
    rss, cpu = 0, 0.0
    for member in [pid, *_children(pid)]:
        # A process exiting has no VmRSS line any more (StopIteration).
        with contextlib.suppress(OSError, ValueError, StopIteration):
            with open(f"/proc/{member}/status") as status:
                rss += next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            with open(f"/proc/{member}/stat") as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
                cpu += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime
    return rss, cpu


@dataclass(frozen=True)
class Sample:
    at: float
    pid: int
    rss_kib: int
    cpu_seconds: float


class Sampler(threading.Thread):
    """Samples the server's RSS and CPU time every `interval` seconds; follows a restart."""

    def __init__(self, server: Server, interval: float = 0.5) -> None:
        super().__init__(daemon=True)
        self.server, self.interval = server, interval
        self.samples: list[Sample] = []
        self._stop_event = threading.Event()

    def sample(self) -> Sample | None:
        pid = self.server.pid
        if pid is None:
            return None
        rss, cpu = process_usage(pid)
        sample = Sample(time.monotonic(), pid, rss, cpu)
        self.samples.append(sample)
        return sample

    def run(self) -> None:
        while not self._stop_event.wait(self.interval):
            self.sample()

    def stop(self) -> None:
        self._stop_event.set()
