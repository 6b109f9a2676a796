"""End to end, security profiles 1 and 2 on OCPP 2.0.1 (A01): an operator rotates a station's
HTTP Basic password from the admin; the station gets it as SetVariables of
SecurityCtrlr.BasicAuthPassword, accepts it, and from then on only the new password opens a
connection. The new password is shown nowhere (ACCEPTANCE S7). A real `manage.py serve` and
the `ocpp` library's 2.0.1 station role."""

import asyncio
import base64
import time

import pytest
import websockets
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.datatypes import ChargingStationType

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import connect

STATION = "DEMO-CS-201"


class Station(ChargePoint):
    """Keeps the password it is given, as a station stores BasicAuthPassword (A01.FR.04)."""

    new_password = ""

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data: list, **_):
        results = []
        for item in set_variable_data:
            if (item["component"]["name"], item["variable"]["name"]) == ("SecurityCtrlr", "BasicAuthPassword"):
                self.new_password = item["attribute_value"]
            results.append(
                {"attributeStatus": "Accepted", "component": item["component"], "variable": item["variable"]}
            )
        return call_result.SetVariables(set_variable_result=results)


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live201key")) as running:
        yield running


async def _opens(server, password: str) -> bool:
    token = base64.b64encode(f"{STATION}:{password}".encode()).decode()
    try:
        async with websockets.connect(
            f"{server.ws_url}/{STATION}", subprotocols=["ocpp2.0.1"],
            additional_headers={"Authorization": f"Basic {token}"}, open_timeout=5,
        ):  # fmt: skip
            return True
    except websockets.InvalidStatus:
        return False


def test_a_rotated_password_reaches_the_station_and_replaces_the_old_one(server):
    old_password = server.charger_keys[STATION]
    [(charger_id,)] = server.query("SELECT id FROM sites_charger WHERE charge_point_id = %s", (STATION,))
    operator = AdminSession(server)

    async def run() -> str:
        async with connect(server, STATION, subprotocols=("ocpp2.0.1",)) as ws:
            role = Station(STATION, ws, response_timeout=10)
            listening = asyncio.create_task(role.start())
            try:
                boot = call.BootNotification(
                    charging_station=ChargingStationType(vendor_name="ACME", model="X2"), reason="PowerUp"
                )
                assert (await role.call(boot)).status == "Accepted"
                await asyncio.to_thread(
                    operator._post_form,
                    "/admin/sites/charger/",
                    {"action": "rotate_auth_key", "_selected_action": str(charger_id)},
                )
                status = await asyncio.to_thread(
                    server.wait_for, "SELECT status FROM sites_command WHERE intent = 'rotate_key'", "accepted"
                )
                assert status == "accepted"
                return role.new_password
            finally:
                listening.cancel()

    new_password = asyncio.run(run())
    assert 16 <= len(new_password) <= 40  # A01: passwordString, 16 to 40 characters
    assert new_password != old_password
    assert not asyncio.run(_opens(server, old_password))
    assert asyncio.run(_opens(server, new_password))
    # Shown nowhere: the command keeps a mask, the message log too.
    [(payload,)] = server.query("SELECT CAST(payload AS TEXT) FROM sites_command WHERE intent = 'rotate_key'")
    assert new_password not in payload
    assert "BasicAuthPassword" in payload
    time.sleep(1)  # the message log is written behind, every 0.5 s
    logged = server.query("SELECT CAST(payload AS TEXT) FROM ocpp_gateway_messagelog WHERE action = 'SetVariables'")
    assert logged
    assert not any(new_password in text for (text,) in logged)
