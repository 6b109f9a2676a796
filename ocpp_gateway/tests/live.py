"""A real server process for end-to-end tests: `manage.py serve` on 127.0.0.1 with its own
database (a SQLite file, or a fresh PostgreSQL database when DATABASE_URL points at one)."""

import base64
import contextlib
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import environ
import psycopg

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class LiveServer:
    port: int
    data_dir: Path
    database_url: str
    process: subprocess.Popen | None = None
    charger_keys: dict[str, str] = field(default_factory=dict)

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ocpp"

    def basic_auth(self, charge_point_id: str) -> dict[str, str]:
        token = base64.b64encode(f"{charge_point_id}:{self.charger_keys[charge_point_id]}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the server's database directly (placeholders written as %s)."""
        if self.database_url.startswith("sqlite"):
            path = environ.Env.db_url_config(self.database_url)["NAME"]
            with contextlib.closing(sqlite3.connect(path)) as connection:
                return connection.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(self.database_url) as connection:
            return connection.execute(sql, params).fetchall()

    def execute(self, sql: str, params: tuple = ()) -> None:
        if self.database_url.startswith("sqlite"):
            path = environ.Env.db_url_config(self.database_url)["NAME"]
            with contextlib.closing(sqlite3.connect(path)) as connection, connection:
                connection.execute(sql.replace("%s", "?"), params)
            return
        with psycopg.connect(self.database_url) as connection:
            connection.execute(sql, params)

    def wait_for(self, sql: str, expected, params: tuple = (), timeout: float = 10.0):
        deadline = time.monotonic() + timeout
        while True:
            rows = self.query(sql, params)
            value = rows[0][0] if rows else None
            if value == expected or time.monotonic() > deadline:
                return value
            time.sleep(0.1)

    def stop(self) -> int | None:
        """Stop like a process manager would (SIGTERM); returns the exit code."""
        if self.process is None or self.process.poll() is not None:
            return self.process and self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def _database_for(data_dir: Path) -> tuple[str, str | None]:
    """A database of its own for the server: (url, name of a PostgreSQL database to drop)."""
    base = os.environ.get("DATABASE_URL", "")
    if not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{data_dir / 'live.sqlite3'}", None
    name = f"csms_live_{uuid.uuid4().hex[:12]}"
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}", name


def _drop_database(name: str) -> None:
    admin_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextlib.contextmanager
def live_server(data_dir: Path, **settings_env: str):
    """Migrate, seed the demo fleet, serve; yield a LiveServer; stop and clean up."""
    database_url, pg_name = _database_for(data_dir)
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **settings_env,
    }
    server = LiveServer(port=free_port(), data_dir=data_dir, database_url=database_url)
    manage = [sys.executable, "manage.py"]
    try:
        subprocess.run([*manage, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        subprocess.run([*manage, "seed_demo"], cwd=REPO, env=env, check=True, capture_output=True)
        server.charger_keys = json.loads((data_dir / "demo-credentials.json").read_text())["charger_keys"]
        log = (data_dir / "server.log").open("w")
        server.process = subprocess.Popen(
            [*manage, "serve", "--port", str(server.port)], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        _wait_until_healthy(server)
        yield server
    finally:
        server.stop()
        if pg_name:
            _drop_database(pg_name)


def _wait_until_healthy(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError((server.data_dir / "server.log").read_text())
        url = f"http://127.0.0.1:{server.port}/api/health"
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy:\n" + (server.data_dir / "server.log").read_text())
