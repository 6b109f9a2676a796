"""A real server process for end-to-end tests and the benchmark: `manage.py serve` on 127.0.0.1
with its own database (a SQLite file, or a fresh PostgreSQL database when DATABASE_URL points at
one). Not test code, so that the benchmark need not import tests; it drives the project only from
outside (processes, HTTP, SQL), so it imports no app."""

import base64
import contextlib
import http.cookiejar
import json
import os
import signal
import socket
import sqlite3
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import environ
import psycopg

REPO = Path(__file__).resolve().parents[1]


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
    env: dict[str, str] = field(default_factory=dict)

    @property
    def tls(self) -> bool:
        """Whether the server terminates TLS itself (OCPP_TLS_CERT_FILE in its settings)."""
        return bool(self.env.get("OCPP_TLS_CERT_FILE"))

    @property
    def ws_url(self) -> str:
        return f"{'wss' if self.tls else 'ws'}://127.0.0.1:{self.port}/ocpp"

    @property
    def base_url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def admin_password(self) -> str:
        """The demo administrator's password, as seed_demo wrote it."""
        return json.loads((self.data_dir / "demo-credentials.json").read_text())["admin_password"]

    def access_token(self, timeout: float = 30.0) -> str:
        """A JWT access token for the demo administrator, from the API's login."""
        request = urllib.request.Request(
            f"{self.base_url}/api/v1/auth/token",
            data=json.dumps({"email": "admin@example.com", "password": self.admin_password()}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return json.loads(response.read())["access"]

    def basic_auth(self, charge_point_id: str) -> dict[str, str]:
        token = base64.b64encode(f"{charge_point_id}:{self.charger_keys[charge_point_id]}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        """Read the server's database directly (placeholders written as %s)."""
        if self.database_url.startswith("sqlite"):
            path = environ.Env.db_url_config(self.database_url)["NAME"]
            with contextlib.closing(sqlite3.connect(path)) as connection:
                return connection.execute(sql.replace("%s", "?"), params).fetchall()
        with psycopg.connect(self.database_url) as pg_connection:
            return pg_connection.execute(sql, params).fetchall()

    def log(self) -> str:
        return (self.data_dir / f"server-{self.port}.log").read_text()

    def execute(self, sql: str, params: tuple = ()) -> None:
        if self.database_url.startswith("sqlite"):
            path = environ.Env.db_url_config(self.database_url)["NAME"]
            with contextlib.closing(sqlite3.connect(path)) as connection, connection:
                connection.execute(sql.replace("%s", "?"), params)
            return
        with psycopg.connect(self.database_url) as pg_connection:
            pg_connection.execute(sql, params)

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
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()


def database_for(data_dir: Path, base: str | None = None) -> tuple[str, str | None]:
    """A database of its own for the server: (url, name of a PostgreSQL database to drop).
    `base` defaults to DATABASE_URL: PostgreSQL there means a fresh database on that server."""
    base = os.environ.get("DATABASE_URL", "") if base is None else base
    if not base.startswith(("postgres://", "postgresql://")):
        return f"sqlite:///{data_dir / 'live.sqlite3'}", None
    name = f"csms_live_{uuid.uuid4().hex[:12]}"
    admin_url = base.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    return base.rsplit("/", 1)[0] + f"/{name}", name


def drop_database(name: str, base: str | None = None) -> None:
    admin_url = (base or os.environ["DATABASE_URL"]).rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


MANAGE = [sys.executable, "manage.py"]


def _serve(server: LiveServer) -> subprocess.Popen:
    log = (server.data_dir / f"server-{server.port}.log").open("w")
    return subprocess.Popen(
        [*MANAGE, "serve", "--port", str(server.port)], cwd=REPO, env=server.env, stdout=log, stderr=subprocess.STDOUT
    )


@contextlib.contextmanager
def another_server(first: LiveServer):
    """A second server process on the same database (and channel layer, if REDIS_URL is set)."""
    server = LiveServer(
        port=free_port(),
        data_dir=first.data_dir,
        database_url=first.database_url,
        charger_keys=first.charger_keys,
        env=first.env,
    )
    server.process = _serve(server)
    try:
        wait_until_healthy(server)
        yield server
    finally:
        server.stop()


@contextlib.contextmanager
def celery_worker(server: LiveServer):
    """A Celery worker on the server's database and broker."""
    log = (server.data_dir / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "csms", "worker", "--pool", "solo", "--loglevel", "INFO"],
        cwd=REPO,
        env=server.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


@contextlib.contextmanager
def live_server(data_dir: Path, **settings_env: str):
    """Migrate, seed the demo fleet, serve; yield a LiveServer; stop and clean up."""
    database_url, pg_name = database_for(data_dir)
    env = {
        **os.environ,
        "DATA_DIR": str(data_dir),
        "DATABASE_URL": database_url,
        "LOG_LEVEL": "WARNING",
        **settings_env,
    }
    server = LiveServer(port=free_port(), data_dir=data_dir, database_url=database_url, env=env)
    try:
        subprocess.run([*MANAGE, "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True)
        subprocess.run([*MANAGE, "seed_demo"], cwd=REPO, env=env, check=True, capture_output=True)
        server.charger_keys = json.loads((data_dir / "demo-credentials.json").read_text())["charger_keys"]
        server.process = _serve(server)
        wait_until_healthy(server)
        yield server
    finally:
        server.stop()
        if pg_name:
            drop_database(pg_name)


def wait_until_healthy(server: LiveServer, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process is None or server.process.poll() is not None:
            raise RuntimeError(server.log())
        url = f"{server.base_url}/api/health"
        # Whether it answers, not who it is: the test's own certificate is not checked here.
        context = ssl._create_unverified_context() if server.tls else None  # noqa: S323 (loopback probe)
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2, context=context) as response:
            if response.status == 200:
                return
        time.sleep(0.2)
    raise RuntimeError("server did not become healthy:\n" + server.log())


class AdminSession:
    """An operator logged in through the admin's login form (session cookie + CSRF token)."""

    def __init__(self, server: LiveServer) -> None:
        self.base = server.base_url
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.opener.open(f"{self.base}/admin/login/")
        self._post_form(
            "/admin/login/", {"username": "admin@example.com", "password": server.admin_password(), "next": "/admin/"}
        )

    def _csrf(self) -> str:
        return next(cookie.value or "" for cookie in self.jar if cookie.name == "csrftoken")

    def _post_form(self, path: str, fields: dict) -> None:
        data = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self._csrf()}).encode()
        self.opener.open(urllib.request.Request(self.base + path, data=data))

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        request = urllib.request.Request(
            self.base + path,
            data=json.dumps(body).encode() if body is not None else None,
            method=method,
            headers={"Content-Type": "application/json", "X-CSRFToken": self._csrf()},
        )
        try:
            with self.opener.open(request, timeout=40) as response:
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")
