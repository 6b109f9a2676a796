"""End to end, raising a 1.6 charger's security profile (security whitepaper A05) through the
API: the charger gets ChangeConfiguration of SecurityProfile, accepts, is still let in with its
old profile until it reconnects with the new one, and from then on never with the old one. A
real `manage.py serve` and the `ocpp` library's 1.6 charge point role."""

import asyncio
import contextlib

import pytest
import websockets
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import connect

CHARGER = "DEMO-CP-002"


class ChargePointWithProfiles(ChargePoint):
    """Keeps the SecurityProfile it is given, as whitepaper sec. 7.6 asks."""

    profile = 0

    @on("ChangeConfiguration")
    async def on_change_configuration(self, key: str, value: str, **_):
        if key != "SecurityProfile" or int(value) <= self.profile:  # A05.FR.01
            return call_result.ChangeConfiguration(status="Rejected")
        self.profile = int(value)
        return call_result.ChangeConfiguration(status="Accepted")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("liveprofile")) as running:
        running.execute("UPDATE sites_charger SET security_profile = 0 WHERE charge_point_id = %s", (CHARGER,))
        yield running


async def _opens(server, *, with_key: bool) -> bool:
    """Whether the handshake succeeds, with the charger's HTTP Basic key or with nothing."""
    if with_key:
        opening = connect(server, CHARGER)
    else:
        opening = websockets.connect(f"{server.ws_url}/{CHARGER}", subprotocols=["ocpp1.6"], open_timeout=5)
    try:
        async with opening:
            return True
    except websockets.InvalidStatus:
        return False


def _profile(server) -> tuple:
    [row] = server.query(
        "SELECT security_profile, security_profile_target FROM sites_charger WHERE charge_point_id = %s", (CHARGER,)
    )
    return row


def test_a_raised_profile_is_used_once_the_charger_comes_back_with_it(server):
    session = AdminSession(server)

    async def run() -> dict:
        async with websockets.connect(f"{server.ws_url}/{CHARGER}", subprotocols=["ocpp1.6"], open_timeout=5) as ws:
            role = ChargePointWithProfiles(CHARGER, ws, response_timeout=10)
            listening = asyncio.create_task(role.start())
            try:
                boot = call.BootNotification(charge_point_vendor="ACME", charge_point_model="X1")
                assert (await role.call(boot)).status == "Accepted"
                status, command = await asyncio.to_thread(
                    session.api, "POST", f"/api/v1/chargers/{CHARGER}/commands",
                    {"intent": "raise_security_profile", "profile": 1},
                )  # fmt: skip
                assert status in (200, 201, 202), command
                await asyncio.to_thread(
                    server.wait_for, "SELECT status FROM sites_command WHERE id = %s", "accepted", (command["id"],)
                )
                return command
            finally:
                listening.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await listening

    asyncio.run(run())
    assert _profile(server) == (0, 1)
    # A05.FR.08: a charger that could not use the new profile falls back to the old one: let in.
    assert asyncio.run(_opens(server, with_key=False))
    assert _profile(server) == (0, 1)
    # It comes back with HTTP Basic (profile 1): that is its profile now (A05.FR.09) ...
    assert asyncio.run(_opens(server, with_key=True))
    assert _profile(server) == (1, None)
    # ... and without credentials it is refused, a failed login the operator sees.
    assert not asyncio.run(_opens(server, with_key=False))
    status, events = session.api("GET", f"/api/v1/chargers/{CHARGER}/security-events")
    assert status == 200
    assert {"SecurityProfileRaised", "InvalidChargerCredentials"} <= {event["type"] for event in events["results"]}
    # Asking for the same profile again is refused before anything is sent.
    status, body = session.api(
        "POST", f"/api/v1/chargers/{CHARGER}/commands", {"intent": "raise_security_profile", "profile": 1}
    )
    assert status == 400
    assert "can only be raised" in str(body)
