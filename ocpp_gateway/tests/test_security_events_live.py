"""The central system's own security events against a real `manage.py serve` (ACCEPTANCE S13):
a charger's failed HTTP Basic logins leave one row per charger and address with a count (never the
password tried, S3), and a profile-2 charger connecting without TLS (a downgrade, whitepaper
sec. 2.1, A00.FR.323: "log a security event") is refused and recorded as critical. Both are listed
by the API beside what chargers report.

OCPP_SECURITY_EVENT_RECORD_INTERVAL is 0 here, so every refusal reaches the database (merged into
its row) and the count is exact; with the default the attempts in between are counted in memory."""

import asyncio
import base64
import json

import pytest
import websockets

from common.live_server import AdminSession, live_server

CHARGER = "DEMO-CP-001"
DOWNGRADED = "DEMO-CP-002"
WRONG_KEY = "NotTheKey-0123456789abcdef"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("secevents"), OCPP_SECURITY_EVENT_RECORD_INTERVAL="0") as running:
        yield running


async def _handshake_status(server, charge_point_id: str, headers: dict[str, str]) -> int:
    """The HTTP status of one handshake (101 when accepted)."""
    try:
        async with websockets.connect(
            f"{server.ws_url}/{charge_point_id}", subprotocols=["ocpp1.6"], additional_headers=headers, open_timeout=10
        ):
            return 101
    except websockets.InvalidStatus as refused:
        return refused.response.status_code


def _wrong_login(address: str) -> dict[str, str]:
    token = base64.b64encode(f"{CHARGER}:{WRONG_KEY}".encode()).decode()
    # The server trusts 127.0.0.1 as a proxy (TRUSTED_PROXIES' default): the address is this one.
    return {"Authorization": f"Basic {token}", "X-Forwarded-For": address}


def _failed_logins(server) -> list[tuple]:
    return server.query(
        "SELECT charge_point_id, source, repeats, CAST(detail AS TEXT) FROM sites_securityevent "
        "WHERE kind = 'InvalidChargerCredentials' ORDER BY id"
    )


def test_wrong_passwords_leave_one_counted_row_per_charger_and_address(server):
    async def attempts() -> list[int]:
        statuses = [await _handshake_status(server, CHARGER, _wrong_login("198.51.100.7")) for _ in range(4)]
        return [*statuses, await _handshake_status(server, CHARGER, _wrong_login("198.51.100.8"))]

    assert asyncio.run(attempts()) == [401] * 5
    rows = _failed_logins(server)
    assert [(cp, source, repeats, json.loads(detail)["address"]) for cp, source, repeats, detail in rows] == [
        (CHARGER, "csms", 4, "198.51.100.7"),
        (CHARGER, "csms", 1, "198.51.100.8"),
    ]
    assert WRONG_KEY not in str(rows)
    assert WRONG_KEY not in server.log()
    # The right key still gets in: the refusals counted against this id did not lock it out.
    assert asyncio.run(_handshake_status(server, CHARGER, server.basic_auth(CHARGER))) == 101

    status, listed = AdminSession(server).api(
        "GET", f"/api/v1/chargers/{CHARGER}/security-events?type=InvalidChargerCredentials&source=csms"
    )
    assert status == 200
    assert sorted(event["repeats"] for event in listed["results"]) == [1, 4]


def test_a_tls_charger_connecting_without_tls_is_refused_and_a_critical_event(server):
    server.execute("UPDATE sites_charger SET security_profile = 2 WHERE charge_point_id = %s", (DOWNGRADED,))
    status = asyncio.run(_handshake_status(server, DOWNGRADED, server.basic_auth(DOWNGRADED)))
    assert status == 403
    [(source, severity, critical)] = server.query(
        "SELECT source, severity, critical FROM sites_securityevent "
        "WHERE kind = 'SecurityProfileDowngrade' AND charge_point_id = %s",
        (DOWNGRADED,),
    )
    assert (source, severity, bool(critical)) == ("csms", "critical", True)
    status, listed = AdminSession(server).api("GET", "/api/v1/security-events?critical=true&source=csms")
    assert status == 200
    assert DOWNGRADED in {event["charge_point_id"] for event in listed["results"]}
