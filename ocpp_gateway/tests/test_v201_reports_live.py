"""End to end, OCPP 2.0.1 station notifications: the `ocpp` library's 2.0.1 charging-station role
against a real `manage.py serve` (common/live_server.py): the device model in parts (B07/B08),
also while Pending when asked for (B02.FR.09), events and problems (N07), security events (A04), firmware and
log statuses (L01, N01), DataTransfer (P02) and the notifications kept as sent."""

import asyncio
import json

import pytest
from ocpp.v201 import call

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import call as raw_call
from ocpp_gateway.tests.live_chargers import connect
from ocpp_gateway.tests.test_v201_live import _boot, station

STATION = "DEMO-CS-201"
GENERATED = "2026-12-04T10:00:00Z"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live201reports")) as running:
        yield running


def report_data(component: str, variable: str, value: str, *, evse: int | None = None, **attribute) -> dict:
    component_type: dict = {"name": component}
    if evse is not None:
        component_type["evse"] = {"id": evse}
    return {
        "component": component_type,
        "variable": {"name": variable},
        "variable_attribute": [{"type": "Actual", "value": value, **attribute}],
        "variable_characteristics": {"data_type": "integer", "supports_monitoring": True, "unit": "W"},
    }


def rows(server, sql: str, charge_point_id: str = STATION) -> list[tuple]:
    return server.query(
        sql.replace("{charger}", "(SELECT id FROM sites_charger WHERE charge_point_id = %s)"), (charge_point_id,)
    )


def test_a_report_in_several_parts_is_stored_part_by_part(server):
    async def run() -> list:
        async with station(server) as role:
            await role.call(_boot())
            answers = [
                await role.call(
                    call.NotifyReport(
                        request_id=41,
                        generated_at=GENERATED,
                        seq_no=0,
                        tbc=True,
                        report_data=[
                            report_data("OCPPCommCtrlr", "HeartbeatInterval", "300", mutability="ReadWrite"),
                        ],
                    )
                )
            ]
            # Part 0 is stored before part 1 arrives.
            answers.append(
                rows(server, "SELECT complete, parts_received FROM sites_devicereport WHERE charger_id = {charger}")
            )
            answers.append(
                await role.call(
                    call.NotifyReport(
                        request_id=41,
                        generated_at=GENERATED,
                        seq_no=1,
                        tbc=False,
                        report_data=[
                            report_data("EVSE", "Power", "22000", evse=1, mutability="ReadOnly"),
                            report_data("EVSE", "Power", "11000", evse=2, mutability="ReadOnly"),
                        ],
                    )
                )
            )
            return answers

    first, after_part_0, last = asyncio.run(run())
    assert first is not None  # the empty NotifyReportResponse
    assert last is not None
    assert after_part_0 == [(0, 1)]
    assert rows(
        server,
        "SELECT request_id, complete, parts_received, items FROM sites_devicereport WHERE charger_id = {charger}",
    ) == [(41, 1, 2, 3)]
    assert sorted(
        rows(
            server,
            "SELECT component_name, evse_id, variable_name, value, mutability, unit FROM sites_devicevariable "
            "WHERE charger_id = {charger}",
        )
    ) == [
        ("EVSE", 1, "Power", "22000", "ReadOnly", "W"),
        ("EVSE", 2, "Power", "11000", "ReadOnly", "W"),
        ("OCPPCommCtrlr", 0, "HeartbeatInterval", "300", "ReadWrite", "W"),
    ]


def test_while_pending_a_report_asked_for_is_accepted_but_a_heartbeat_is_refused(server):
    """B02.FR.01: the CSMS may ask a Pending station for a report; B02.FR.09: the station may send
    its parts, by the request's id, and nothing it was not asked for."""
    charge_point_id = "DEMO-CP-001"
    server.execute(
        "UPDATE sites_charger SET registration_status = 'Pending' WHERE charge_point_id = %s", (charge_point_id,)
    )

    def notify_report(request_id: int) -> dict:
        return {
            "requestId": request_id,
            "generatedAt": GENERATED,
            "seqNo": 0,
            "reportData": [
                {
                    "component": {"name": "SecurityCtrlr"},
                    "variable": {"name": "SecurityProfile"},
                    "variableAttribute": [{"value": "1", "mutability": "ReadOnly"}],
                }
            ],
        }

    async def run() -> tuple:
        async with connect(server, charge_point_id, subprotocols=("ocpp2.0.1",)) as ws:
            boot = await raw_call(
                ws,
                "b1",
                "BootNotification",
                {"reason": "PowerUp", "chargingStation": {"vendorName": "ACME", "model": "X2"}},
            )
            # B07.FR.14: its first connection, so the CSMS asks for the full device model
            # (B02.FR.01 allows GetBaseReport while Pending). Until the station has accepted
            # that request, no report may come (B02.FR.09).
            request = json.loads(await asyncio.wait_for(ws.recv(), 5))
            assert request[2] == "GetBaseReport", request
            unasked = await raw_call(ws, "r0", "NotifyReport", notify_report(request[3]["requestId"]))
            await ws.send(json.dumps([3, request[1], {"status": "Accepted"}]))
            report = await raw_call(ws, "r1", "NotifyReport", notify_report(request[3]["requestId"]))
            heartbeat = await raw_call(ws, "h1", "Heartbeat", {})
            return boot, request, unasked, report, heartbeat

    boot, request, unasked, report, heartbeat = asyncio.run(run())
    assert boot[2]["status"] == "Pending"
    assert request[3] == {"requestId": request[3]["requestId"], "reportBase": "FullInventory"}
    assert unasked[0:3:2] == [4, "SecurityError"]  # the request not accepted yet
    assert report[0:3:2] == [3, {}]  # a CALLRESULT, for the report asked for
    assert heartbeat[0:3:2] == [4, "SecurityError"]
    assert rows(
        server, "SELECT variable_name, value FROM sites_devicevariable WHERE charger_id = {charger}", charge_point_id
    ) == [("SecurityProfile", "1")]


def test_events_are_stored_and_a_problem_reaches_the_dashboard(server):
    async def run() -> None:
        async with station(server) as role:
            await role.call(_boot())
            await role.call(
                call.NotifyEvent(
                    generated_at=GENERATED,
                    seq_no=0,
                    event_data=[
                        {
                            "event_id": 1,
                            "timestamp": GENERATED,
                            "trigger": "Delta",
                            "actual_value": "true",
                            "event_notification_type": "HardWiredNotification",
                            "tech_code": "FAN-E42",
                            "tech_info": "fan blocked",
                            "component": {"name": "ChargingStation"},
                            "variable": {"name": "Problem"},
                        },
                        {
                            "event_id": 2,
                            "timestamp": GENERATED,
                            "trigger": "Periodic",
                            "actual_value": "7400",
                            "event_notification_type": "CustomMonitor",
                            "variable_monitoring_id": 3,
                            "component": {"name": "EVSE", "evse": {"id": 1}},
                            "variable": {"name": "Power"},
                        },
                    ],
                )
            )

    asyncio.run(run())
    assert sorted(
        rows(
            server,
            "SELECT event_id, variable_name, actual_value, tech_code, problem FROM sites_deviceevent "
            "WHERE charger_id = {charger}",
        )
    ) == [
        (1, "Problem", "true", "FAN-E42", 1),
        (2, "Power", "7400", "", 0),
    ]
    dashboard = AdminSession(server).opener.open(f"{server.base_url}/admin/").read().decode()
    assert "FAN-E42" in dashboard  # among the recent faults, status "Problem"


def test_security_firmware_log_and_other_notifications_are_stored(server):
    async def run() -> tuple:
        async with station(server) as role:
            await role.call(_boot())
            await role.call(
                call.SecurityEventNotification(
                    type="TamperDetectionActivated", timestamp=GENERATED, tech_info="door opened"
                )
            )
            await role.call(call.FirmwareStatusNotification(status="Downloading", request_id=12))
            await role.call(call.LogStatusNotification(status="Uploaded", request_id=13))
            await role.call(call.ClearedChargingLimit(charging_limit_source="EMS", evse_id=1))
            await role.call(call.ReservationStatusUpdate(reservation_id=999, reservation_update_status="Expired"))
            return await role.call(call.DataTransfer(vendor_id="com.example.unknown", data={"any": ["json", 1]}))

    transfer = asyncio.run(run())
    assert transfer.status == "UnknownVendorId"  # P02: no handler registered for that vendor
    [(kind, severity, critical, source, tech_info, occurred_at)] = rows(
        server,
        "SELECT kind, severity, critical, source, tech_info, occurred_at FROM sites_securityevent "
        "WHERE charger_id = {charger}",
    )
    assert (kind, severity, bool(critical), source, tech_info) == (
        "TamperDetectionActivated", "critical", True, "charger", "door opened",
    )  # fmt: skip
    assert occurred_at is not None  # the station's time, beside ours
    reports = rows(server, "SELECT kind, status, request_id FROM sites_chargerreport WHERE charger_id = {charger}")
    assert sorted(reports, key=str) == [
        ("charging_limit", "EMS limit cleared", None),
        ("firmware", "Downloading", 12),
        ("log", "Uploaded", 13),
    ]
