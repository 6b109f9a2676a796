"""A private redis-server on loopback for a test (CI installs redis-server for both stages):
started on the given port, no persistence, killed when the block ends."""

import contextlib
import os
import shutil
import socket
import subprocess
import time

import pytest

# A test module that needs one: `pytestmark = needs_redis_server`.
needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None and not os.environ.get("CSMS_REQUIRE_REDIS_SERVER"),
    reason="needs redis-server",
)


@contextlib.contextmanager
def redis_server(port: int, directory):
    options = ["--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no", "--dir", str(directory)]
    process = subprocess.Popen(["redis-server", *options], stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                break
            time.sleep(0.05)
        yield process
    finally:
        process.kill()
        process.wait()
