"""API rate limits and the login lockout against a real server process (S19, S24): the client's
address comes from X-Forwarded-For only when the peer is one of TRUSTED_PROXIES."""

import json
import urllib.error
import urllib.request
from email.message import Message

from common.live_server import live_server


def _login(server, password: str, forwarded_for: str) -> tuple[int, Message]:
    request = urllib.request.Request(
        f"{server.base_url}/api/v1/auth/token",
        data=json.dumps({"email": "admin@example.com", "password": password}).encode(),
        headers={"Content-Type": "application/json", "X-Forwarded-For": forwarded_for},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers
    except urllib.error.HTTPError as error:
        return error.code, error.headers


def test_login_rate_is_per_address_and_a_spoofed_x_forwarded_for_does_not_dodge_it(tmp_path):
    # 127.0.0.1 is not a trusted proxy here: its X-Forwarded-For is ignored.
    with live_server(tmp_path, API_THROTTLE_LOGIN="3/minute", TRUSTED_PROXIES="192.0.2.1") as server:
        answers = [_login(server, "wrong", f"198.51.100.{n}") for n in range(4)]
        assert [status for status, _ in answers] == [401, 401, 401, 429]
        assert int(answers[-1][1]["Retry-After"]) > 0


def test_lockout_follows_the_client_address_given_by_a_trusted_proxy(tmp_path):
    # 127.0.0.1 is a trusted proxy (the default): X-Forwarded-For names the client.
    with live_server(tmp_path, API_THROTTLE_LOGIN="100/minute") as server:
        # The failure that reaches the limit is answered as the lockout it starts.
        assert [_login(server, "wrong", "198.51.100.1")[0] for _ in range(5)] == [401] * 4 + [429]
        assert _login(server, server.admin_password(), "198.51.100.1")[0] == 429  # that client is locked out
        assert _login(server, server.admin_password(), "198.51.100.2")[0] == 200  # another client is not
