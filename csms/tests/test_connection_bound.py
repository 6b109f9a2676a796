"""S24 / issue 15.1: no request pattern makes a server process open more database connections
than its configuration allows, and idle ones are closed. Against a real `manage.py serve`."""

import json
import os
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import environ
import pytest

from common.live_server import LiveServer, live_server

PARALLEL_CLIENTS = 16
REQUESTS_EACH_KIND = 1000
HTTP_THREADS = 4
IDLE_SECONDS = 2.0
# The server's background threads that hold a connection (settings.BACKGROUND_DATABASE_THREADS),
# and its group-commit writers (one on SQLite).
BACKGROUND = 7


def open_connections(server: LiveServer) -> int:
    """Connections the server process holds to its database, as the database (PostgreSQL) or
    the kernel (the SQLite file's descriptors) sees them."""
    if server.database_url.startswith("sqlite"):
        path = Path(environ.Env.db_url_config(server.database_url)["NAME"]).resolve()
        descriptors = Path(f"/proc/{server.process.pid}/fd")
        return sum(1 for fd in descriptors.iterdir() if _target(fd) == path)
    name = server.database_url.rsplit("/", 1)[1]
    rows = server.query("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
    return rows[0][0]


def _target(fd: Path) -> Path | None:
    try:
        return Path(os.readlink(fd))
    except OSError:  # closed meanwhile
        return None


def http(server: LiveServer, method: str, path: str, body: dict | None = None, token: str = "") -> int:
    request = urllib.request.Request(
        f"{server.base_url}{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json", **({"Authorization": f"Bearer {token}"} if token else {})},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            return response.status
    except urllib.error.HTTPError as error:
        error.read()
        return error.code


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(
        tmp_path_factory.mktemp("bound"),
        HTTP_SYNC_THREADS=str(HTTP_THREADS),
        HTTP_SYNC_IDLE_SECONDS=str(IDLE_SECONDS),
        # This test counts connections, not throttling: let every request through to the database.
        API_THROTTLE_ANON="1000000/minute",
        API_THROTTLE_USER="1000000/minute",
        API_THROTTLE_LOGIN="1000000/minute",
    ) as running:
        yield running


def test_failed_logins_and_reads_stay_within_the_connection_bound(server):
    writers = 1 if server.database_url.startswith("sqlite") else int(server.env.get("OCPP_GROUP_COMMIT_WRITERS", 2))
    bound = HTTP_THREADS + writers + BACKGROUND
    token = server.access_token()

    def failed_login(n: int) -> int:
        # A few accounts, so django-axes locks them and most attempts cost no password hash.
        body = {"email": f"nobody-{n % PARALLEL_CLIENTS}@example.com", "password": "wrong"}
        return http(server, "POST", "/api/v1/auth/token", body)

    def read(n: int) -> int:
        return http(server, "GET", "/api/v1/chargers?page_size=5", token=token)

    with ThreadPoolExecutor(PARALLEL_CLIENTS) as clients:
        statuses = list(clients.map(failed_login, range(REQUESTS_EACH_KIND)))
        statuses += list(clients.map(read, range(REQUESTS_EACH_KIND)))
        held = open_connections(server)

    assert all(status < 500 for status in statuses), sorted(set(statuses))
    assert statuses.count(200) == REQUESTS_EACH_KIND
    assert held <= bound, f"{held} connections open, configured bound {bound}"
    # Health (another process's view of the database) is still fine.
    assert http(server, "GET", "/api/health") == 200


def test_idle_request_threads_close_their_connections(server):
    token = server.access_token()
    with ThreadPoolExecutor(HTTP_THREADS) as clients:
        list(clients.map(lambda _: http(server, "GET", "/api/v1/sites", token=token), range(50)))
    writers = 1 if server.database_url.startswith("sqlite") else int(server.env.get("OCPP_GROUP_COMMIT_WRITERS", 2))
    deadline = time.monotonic() + IDLE_SECONDS * 5
    while open_connections(server) > BACKGROUND + writers and time.monotonic() < deadline:
        time.sleep(0.2)
    assert open_connections(server) <= BACKGROUND + writers
