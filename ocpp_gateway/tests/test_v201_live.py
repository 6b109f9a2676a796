"""End to end, OCPP 2.0.1: the `ocpp` library's 2.0.1 charging-station role and raw-frame
clients against a real `manage.py serve` (common/live_server.py)."""

import asyncio
import contextlib
import json

import pytest
from ocpp.v201 import ChargePoint, call
from ocpp.v201.datatypes import ChargingStationType, ModemType

from common.live_server import live_server
from ocpp_gateway.tests.live_chargers import call as raw_call
from ocpp_gateway.tests.live_chargers import connect

STATION = "DEMO-CS-201"
BOTH = ("ocpp1.6", "ocpp2.0.1")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live201")) as running:
        yield running


@contextlib.asynccontextmanager
async def station(server, charge_point_id: str = STATION, subprotocols=("ocpp2.0.1",)):
    """The library's 2.0.1 station role on a live socket, its receive loop running."""
    async with connect(server, charge_point_id, subprotocols=subprotocols) as ws:
        role = ChargePoint(charge_point_id, ws, response_timeout=5)
        listening = asyncio.create_task(role.start())
        try:
            yield role
        finally:
            listening.cancel()


def _boot() -> call.BootNotification:
    station = ChargingStationType(
        vendor_name="ACME",
        model="X2",
        serial_number="SN-201",
        firmware_version="2.0.7",
        modem=ModemType(iccid="8931000000000000001", imsi="204080000000001"),
    )
    return call.BootNotification(charging_station=station, reason="PowerUp")


def test_a_station_offering_both_gets_its_preferred_201_boots_and_reports_status(server):
    async def run() -> tuple[str, dict, dict]:
        async with station(server, subprotocols=BOTH) as role:
            subprotocol = role._connection.subprotocol
            boot = await role.call(_boot())
            heartbeat = await role.call(call.Heartbeat())
            await role.call(
                call.StatusNotification(
                    timestamp="2026-12-04T10:00:00Z", connector_status="Occupied", evse_id=1, connector_id=1
                )
            )
            return subprotocol, boot, heartbeat

    subprotocol, boot, heartbeat = asyncio.run(run())
    assert subprotocol == "ocpp2.0.1"
    assert boot.status == "Accepted"
    assert boot.interval > 0
    assert heartbeat.current_time.endswith("Z")
    assert server.query(
        "SELECT ocpp_version, vendor, model, serial_number, firmware_version, boot_reason, iccid, imsi "
        "FROM sites_charger WHERE charge_point_id = %s",
        (STATION,),
    ) == [("2.0.1", "ACME", "X2", "SN-201", "2.0.7", "PowerUp", "8931000000000000001", "204080000000001")]
    # G01: the connector is numbered within its EVSE.
    status = server.wait_for(
        "SELECT c.status FROM sites_connector c JOIN sites_charger ch ON ch.id = c.charger_id "
        "WHERE ch.charge_point_id = %s AND c.evse_id = 1 AND c.connector_id = 1",
        "Occupied",
        (STATION,),
        timeout=5,
    )
    assert status == "Occupied"


def test_a_station_preferring_16_gets_16_when_it_offers_both(server):
    server.execute("UPDATE sites_charger SET preferred_ocpp_version = '1.6' WHERE charge_point_id = %s", (STATION,))
    try:

        async def run() -> str | None:
            async with connect(server, STATION, subprotocols=BOTH) as ws:
                return ws.subprotocol

        assert asyncio.run(run()) == "ocpp1.6"
        assert server.query("SELECT ocpp_version FROM sites_charger WHERE charge_point_id = %s", (STATION,)) == [
            ("1.6",)
        ]
    finally:
        server.execute(
            "UPDATE sites_charger SET preferred_ocpp_version = '2.0.1' WHERE charge_point_id = %s", (STATION,)
        )


def test_201_callerror_codes_and_nothing_before_the_boot(server):
    async def run() -> list[list]:
        async with connect(server, "DEMO-CP-001", subprotocols=("ocpp2.0.1",)) as ws:
            answers = [
                # Part 4 sec. 4.3: 2.0.1 spells it FormatViolation (1.6: FormationViolation).
                await raw_call(ws, "f1", "Heartbeat", {"unexpected": 1}),
                await raw_call(ws, "n1", "NoSuchAction", {}),
                # NotSupported: a CSMS-initiated action sent by the station.
                await raw_call(
                    ws,
                    "r1",
                    "RequestStartTransaction",
                    {"idToken": {"idToken": "X", "type": "Central"}, "remoteStartId": 1},
                ),
            ]
            await ws.send('[9, "m1", "Heartbeat", {}]')
            answers.append(await _next(ws))
            await ws.send("not json at all")
            answers.append(await _next(ws))
            return answers

    answers = asyncio.run(run())
    assert [answer[2] for answer in answers] == [
        "FormatViolation",
        "NotImplemented",
        "NotSupported",
        "MessageTypeNotSupported",
        "RpcFrameworkError",  # part 4 sec. 4.3, answered with message id "-1"
    ]
    assert answers[-1][1] == "-1"


def test_before_accepted_only_the_boot_and_asked_for_reports(server):
    charge_point_id = "DEMO-CP-002"
    server.execute("UPDATE sites_charger SET registration_status = 'Pending' WHERE charge_point_id = %s",
                   (charge_point_id,))  # fmt: skip

    async def run() -> tuple[str, str]:
        async with connect(server, charge_point_id, subprotocols=("ocpp2.0.1",)) as ws:
            heartbeat = await raw_call(ws, "h1", "Heartbeat", {})
            boot = await raw_call(ws, "b1", "BootNotification", {"reason": "PowerUp",
                                  "chargingStation": {"vendorName": "ACME", "model": "X2"}})  # fmt: skip
            return heartbeat[2], boot[2]["status"]

    heartbeat_error, boot_status = asyncio.run(run())
    assert heartbeat_error == "SecurityError"  # B02.FR.09
    assert boot_status == "Pending"


async def _next(ws) -> list:
    return json.loads(await asyncio.wait_for(ws.recv(), 5))
