"""End to end, every CSMS-initiated OCPP 2.0.1 operation (issue 17): each is asked through the
partner API (the neutral intent, or the API of its domain: reservations, the local list,
charging-profile assignments), reaches the `ocpp` library's 2.0.1 station role over a real
`manage.py serve` (the role checks our CALLs against the 2.0.1 request schemas, so a payload the
schema refuses fails the test), and is answered twice: as asked, and refused (the operation's
negative status, or a CALLERROR where it has none). The command settles accordingly, the
station's reason shows in its result, and the domain acts on an acceptance only (a reservation,
an assignment, the local list and its version, a job's status, the station's follow-up
notifications), never on a refusal."""

import asyncio
import contextlib
import datetime as dt
import json
from typing import Any

import pytest
from ocpp.exceptions import InternalError
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from common.live_server import AdminSession, LiveServer, live_server
from ocpp_gateway.tests.live_chargers import booted, settled_command

STATION = "DEMO-CS-201"
# The station's EVSEs, one connector each (2.0.1 numbers connectors per EVSE).
EVSES = ((1, 1), (2, 1))
TOKEN = "DEMO-TAG-001"
ANSWERS = ("accept", "refuse")
# Every operation the station answers; a test refusing them all refuses these.
OPERATIONS = frozenset(
    {
        "Reset", "ChangeAvailability", "TriggerMessage", "ClearCache", "ReserveNow", "CancelReservation",
        "SendLocalList", "SetChargingProfile", "ClearChargingProfile", "GetChargingProfiles", "GetCompositeSchedule",
        "UpdateFirmware", "GetLog", "DataTransfer", "SetNetworkProfile", "CustomerInformation",
        "SetVariableMonitoring", "ClearVariableMonitoring", "GetMonitoringReport", "SetMonitoringBase",
    }
)  # fmt: skip
# Operations whose answer has no negative status: refused with a CALLERROR.
WITHOUT_STATUS = frozenset({"GetLocalListVersion", "GetTransactionStatus", "CostUpdated"})


def _now(offset: dt.timedelta = dt.timedelta(), *, seconds: bool = False) -> str:
    moment = dt.datetime.now(dt.UTC) + offset
    return moment.isoformat(timespec="seconds" if seconds else "milliseconds").replace("+00:00", "Z")


def _reason(code: str) -> dict[str, str]:
    """StatusInfoType (reasonCode: CiString20)."""
    return {"reason_code": code}


class Station(ChargePoint):
    """A 2.0.1 station that answers every operation the CSMS may send it: as asked, or, for the
    actions in `refuse`, with the operation's negative status (the reason in statusInfo), and for
    those in `fail` with a CALLERROR. What it does later (a triggered message, a report, a job's
    progress) it sends after its answer, as a station does."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.refuse: set[str] = set()
        self.fail: set[str] = set()
        self.asked: list[tuple[str, dict]] = []
        self.local_list_version = 7
        self.profiles: dict[int, list[dict]] = {}
        self.monitors: dict[int, dict] = {}
        self._later: set[asyncio.Task] = set()

    def _refused(self, action: str, fields: dict) -> bool:
        """Note the call; a CALLERROR for an action in `fail`; True for one to refuse."""
        self.asked.append((action, fields))
        if action in self.fail:
            raise InternalError(description=f"{action}: the station failed")
        return action in self.refuse

    def later(self, *messages) -> None:
        """Send these CALLs one by one, after our answer has gone out."""
        task = asyncio.get_running_loop().create_task(self._one_by_one(messages))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    async def _one_by_one(self, messages) -> None:
        for message in messages:
            await asyncio.sleep(0.2)
            await self.call(message)

    # --- Provisioning and availability (B11/B12, G03/G04, F06, C11) ---

    @on("Reset")
    async def on_reset(self, **fields):
        if self._refused("Reset", fields):
            return call_result.Reset(status="Rejected", status_info=_reason("FwUpdateInProgress"))
        # B12.FR.01: OnIdle waits for the transactions to end.
        return call_result.Reset(status="Scheduled" if fields["type"] == "OnIdle" else "Accepted")

    @on("ChangeAvailability")
    async def on_change_availability(self, **fields):
        if self._refused("ChangeAvailability", fields):
            return call_result.ChangeAvailability(status="Rejected", status_info=_reason("UnknownEvse"))
        return call_result.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    async def on_trigger_message(self, **fields):
        if self._refused("TriggerMessage", fields):
            return call_result.TriggerMessage(status="Rejected", status_info=_reason("NotNow"))
        evse = fields.get("evse") or {}
        if fields["requested_message"] == "StatusNotification":  # F06.FR.12: of the connector asked for
            status = call.StatusNotification(
                timestamp=_now(), connector_status="Unavailable", evse_id=evse["id"], connector_id=evse["connector_id"]
            )
            self.later(status)
        return call_result.TriggerMessage(status="Accepted")

    @on("ClearCache")
    async def on_clear_cache(self, **fields):
        if self._refused("ClearCache", fields):
            return call_result.ClearCache(status="Rejected", status_info=_reason("CacheDisabled"))
        return call_result.ClearCache(status="Accepted")

    # --- Reservations (H01, H02) ---

    @on("ReserveNow")
    async def on_reserve_now(self, **fields):
        if self._refused("ReserveNow", fields):
            return call_result.ReserveNow(status="Occupied", status_info=_reason("EvseInUse"))
        return call_result.ReserveNow(status="Accepted")

    @on("CancelReservation")
    async def on_cancel_reservation(self, **fields):
        if self._refused("CancelReservation", fields):
            return call_result.CancelReservation(status="Rejected", status_info=_reason("UnknownReservation"))
        return call_result.CancelReservation(status="Accepted")

    # --- Local authorization list (D01, D02) ---

    @on("SendLocalList")
    async def on_send_local_list(self, **fields):
        if self._refused("SendLocalList", fields):
            return call_result.SendLocalList(status="VersionMismatch", status_info=_reason("OlderVersion"))
        self.local_list_version = fields["version_number"]
        return call_result.SendLocalList(status="Accepted")

    @on("GetLocalListVersion")
    async def on_get_local_list_version(self, **fields):
        self._refused("GetLocalListVersion", fields)
        return call_result.GetLocalListVersion(version_number=self.local_list_version)

    # --- Smart charging (K01, K08, K09, K10) ---

    @on("SetChargingProfile")
    async def on_set_charging_profile(self, evse_id: int, charging_profile: dict, **fields):
        if self._refused("SetChargingProfile", {"evse_id": evse_id, "charging_profile": charging_profile, **fields}):
            return call_result.SetChargingProfile(status="Rejected", status_info=_reason("InvalidSchedule"))
        self.profiles.setdefault(evse_id, []).append(charging_profile)
        return call_result.SetChargingProfile(status="Accepted")

    @on("ClearChargingProfile")
    async def on_clear_charging_profile(self, **fields):
        if self._refused("ClearChargingProfile", fields):
            return call_result.ClearChargingProfile(status="Unknown")
        cleared = fields.get("charging_profile_id")
        for evse_id, profiles in self.profiles.items():
            self.profiles[evse_id] = [profile for profile in profiles if profile["id"] != cleared]
        return call_result.ClearChargingProfile(status="Accepted")

    @on("GetChargingProfiles")
    async def on_get_charging_profiles(self, request_id: int, **fields):
        if self._refused("GetChargingProfiles", {"request_id": request_id, **fields}):
            return call_result.GetChargingProfiles(status="NoProfiles")
        evse_id = fields.get("evse_id", 0)
        report = call.ReportChargingProfiles(
            request_id=request_id,
            charging_limit_source="CSO",
            charging_profile=self.profiles.get(evse_id, []),
            evse_id=evse_id,
        )
        self.later(report)  # K09.FR.01: with the requestId asked for
        return call_result.GetChargingProfiles(status="Accepted")

    @on("GetCompositeSchedule")
    async def on_get_composite_schedule(self, duration: int, evse_id: int, **fields):
        if self._refused("GetCompositeSchedule", {"duration": duration, "evse_id": evse_id, **fields}):
            return call_result.GetCompositeSchedule(status="Rejected", status_info=_reason("UnknownEvse"))
        schedule = {
            "evse_id": evse_id, "duration": duration, "schedule_start": _now(),
            "charging_rate_unit": fields.get("charging_rate_unit", "W"),
            "charging_schedule_period": [{"start_period": 0, "limit": 11000.0}],
        }  # fmt: skip
        return call_result.GetCompositeSchedule(status="Accepted", schedule=schedule)

    # --- Firmware, logs and the rest (L01, N01, P01, E14, I06, B09, N09) ---

    @on("UpdateFirmware")
    async def on_update_firmware(self, request_id: int, **fields):
        if self._refused("UpdateFirmware", {"request_id": request_id, **fields}):
            return call_result.UpdateFirmware(status="Rejected", status_info=_reason("BadLocation"))
        steps = ("Downloading", "Downloaded", "Installing", "Installed")
        self.later(*(call.FirmwareStatusNotification(status=step, request_id=request_id) for step in steps))
        return call_result.UpdateFirmware(status="Accepted")

    @on("GetLog")
    async def on_get_log(self, request_id: int, log_type: str, **fields):
        if self._refused("GetLog", {"request_id": request_id, "log_type": log_type, **fields}):
            return call_result.GetLog(status="Rejected", status_info=_reason("UploadBusy"))
        self.later(
            *(call.LogStatusNotification(status=step, request_id=request_id) for step in ("Uploading", "Uploaded"))
        )
        return call_result.GetLog(status="Accepted", filename=f"{log_type}-{request_id}.log")

    @on("DataTransfer")
    async def on_data_transfer(self, **fields):
        if self._refused("DataTransfer", fields):
            return call_result.DataTransfer(status="UnknownVendorId", status_info=_reason("NoSuchVendor"))
        return call_result.DataTransfer(status="Accepted", data={"echo": fields.get("data")})

    @on("GetTransactionStatus")
    async def on_get_transaction_status(self, **fields):
        self._refused("GetTransactionStatus", fields)
        return call_result.GetTransactionStatus(messages_in_queue=False, ongoing_indicator=True)

    @on("CostUpdated")
    async def on_cost_updated(self, **fields):
        self._refused("CostUpdated", fields)
        return call_result.CostUpdated()

    @on("SetNetworkProfile")
    async def on_set_network_profile(self, **fields):
        if self._refused("SetNetworkProfile", fields):
            return call_result.SetNetworkProfile(status="Rejected", status_info=_reason("SlotInUse"))
        return call_result.SetNetworkProfile(status="Accepted")

    @on("CustomerInformation")
    async def on_customer_information(self, request_id: int, **fields):
        if self._refused("CustomerInformation", {"request_id": request_id, **fields}):
            return call_result.CustomerInformation(status="Rejected", status_info=_reason("UnknownCustomer"))
        parts = ("3 sessions", "last on EVSE 2")
        self.later(
            *(
                call.NotifyCustomerInformation(
                    data=data, seq_no=seq_no, generated_at=_now(), request_id=request_id, tbc=seq_no < len(parts) - 1
                )
                for seq_no, data in enumerate(parts)
            )
        )
        return call_result.CustomerInformation(status="Accepted")

    # --- Monitoring (N02, N03, N04, N06) ---

    @on("SetVariableMonitoring")
    async def on_set_variable_monitoring(self, set_monitoring_data: list, **fields):
        refused = self._refused("SetVariableMonitoring", {"set_monitoring_data": set_monitoring_data, **fields})
        results = []
        for item in set_monitoring_data:
            monitor_id = 101 + len(self.monitors)
            if not refused:
                self.monitors[monitor_id] = item
            result = {key: item[key] for key in ("type", "severity", "component", "variable")}
            status = (
                {"status": "Rejected", "status_info": _reason("TooManyMonitors")} if refused else {"status": "Accepted"}
            )
            results.append({**result, **status, **({} if refused else {"id": monitor_id})})
        return call_result.SetVariableMonitoring(set_monitoring_result=results)

    @on("ClearVariableMonitoring")
    async def on_clear_variable_monitoring(self, id: list, **fields):
        refused = self._refused("ClearVariableMonitoring", {"id": id, **fields})
        results = []
        for monitor_id in id:
            cleared = not refused and self.monitors.pop(monitor_id, None) is not None
            results.append({"id": monitor_id, "status": "Accepted" if cleared else "NotFound"})
        return call_result.ClearVariableMonitoring(clear_monitoring_result=results)

    @on("GetMonitoringReport")
    async def on_get_monitoring_report(self, request_id: int, **fields):
        if self._refused("GetMonitoringReport", {"request_id": request_id, **fields}):
            return call_result.GetMonitoringReport(status="Rejected", status_info=_reason("ReportBusy"))
        monitor = [
            {
                "component": item["component"],
                "variable": item["variable"],
                "variable_monitoring": [
                    {
                        "id": monitor_id,
                        "transaction": bool(item.get("transaction")),
                        "value": item["value"],
                        "type": item["type"],
                        "severity": item["severity"],
                    }
                ],
            }
            for monitor_id, item in self.monitors.items()
        ]
        report = call.NotifyMonitoringReport(request_id=request_id, seq_no=0, generated_at=_now(), monitor=monitor)
        self.later(report)  # N02.FR.04: with the requestId asked for
        return call_result.GetMonitoringReport(status="Accepted")

    @on("SetMonitoringBase")
    async def on_set_monitoring_base(self, **fields):
        if self._refused("SetMonitoringBase", fields):
            return call_result.SetMonitoringBase(status="Rejected", status_info=_reason("NotAllowed"))
        return call_result.SetMonitoringBase(status="Accepted")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live201ops")) as running:
        yield running


def _connectors_sql(status: str) -> tuple[str, tuple]:
    sql = (
        "SELECT COUNT(*) FROM sites_connector n JOIN sites_charger c ON c.id = n.charger_id "
        "WHERE c.charge_point_id = %s AND n.status = %s"
    )
    return sql, (STATION, status)


@contextlib.asynccontextmanager
async def station(server: LiveServer, answer: str = "accept"):
    """The station, booted, its EVSEs Available (so the central system knows its connectors);
    refusing every operation when `answer` is "refuse"."""
    async with booted(server, STATION, Station, version="2.0.1") as role:
        for evse_id, connector_id in EVSES:
            status = call.StatusNotification(
                timestamp=_now(), connector_status="Available", evse_id=evse_id, connector_id=connector_id
            )
            await role.call(status)
        sql, params = _connectors_sql("Available")
        assert await asyncio.to_thread(server.wait_for, sql, len(EVSES), params) == len(EVSES)
        if answer == "refuse":
            role.refuse, role.fail = set(OPERATIONS), set(WITHOUT_STATUS)
        yield role


async def _api(session: AdminSession, method: str, path: str, body: dict | None = None) -> tuple[int, Any]:
    return await asyncio.to_thread(session.api, method, path, body)


async def _settled(session: AdminSession, command_id: int) -> dict:
    _, settled = await _api(session, "GET", f"/api/v1/commands/{command_id}?wait=10")
    return settled


async def _value(server: LiveServer, sql: str, params: tuple, expected: Any = None) -> Any:
    """The first column of the first row, once it is `expected` (or after 10 s, whatever it is);
    with nothing expected (after a refusal, which changes nothing), as it is a moment later."""
    if expected is None:
        await asyncio.sleep(0.5)
        rows = await asyncio.to_thread(server.query, sql, params)
        return rows[0][0] if rows else None
    return await asyncio.to_thread(server.wait_for, sql, expected, params)


async def _job_status(session: AdminSession, command_id: int, expected: str | None) -> dict | None:
    """The command's job status once the station has reported `expected` (or the last one seen);
    with nothing expected, as it is a moment later."""
    shown = None
    for _ in range(30 if expected else 1):
        await asyncio.sleep(0.1 if expected else 0.5)
        _, body = await _api(session, "GET", f"/api/v1/commands/{command_id}")
        shown = body["job_status"]
        if shown and shown["status"] == expected:
            break
    return shown


async def _rows(server: LiveServer, sql: str, params: tuple, expected: bool, count: int = 1) -> list[tuple]:
    """The rows, once there are `count` of them (or after 3 s); with none expected (after a
    refusal), as they are a moment later."""
    rows: list[tuple] = []
    for _ in range(30 if expected else 1):
        await asyncio.sleep(0.1 if expected else 0.5)
        rows = await asyncio.to_thread(server.query, sql, params)
        if len(rows) >= count:
            break
    return rows


def _newest_id(server: LiveServer, table: str) -> int:
    """The newest row's id of a table (0 when empty): what a test adds has a higher one. (Request
    ids derived from an intent are the same each time it is asked, so they tell no run apart.)"""
    return server.query(f"SELECT COALESCE(MAX(id), 0) FROM {table}")[0][0]


def _json(value: Any) -> Any:
    """A JSON column as SQLite (text) or PostgreSQL (parsed) gives it."""
    return json.loads(value) if isinstance(value, str) else value


def _statuses(settled: dict[str, dict]) -> dict[str, str]:
    return {name: command["status"] for name, command in settled.items()}


def _reasons(settled: dict[str, dict]) -> dict[str, str | None]:
    """The station's word and reason code, as the command's result shows them."""
    return {
        name: f"{command['result'].get('status')}: {(command['result'].get('statusInfo') or {}).get('reasonCode')}"
        if command["result"]
        else command["error_code"]
        for name, command in settled.items()
    }


@pytest.mark.parametrize("answer", ANSWERS)
def test_reset_change_availability_trigger_a_status_and_clear_the_cache(server, answer):
    session = AdminSession(server)
    asks = {
        "reset": {"intent": "reset"},
        "reset_evse": {"intent": "reset", "hard": True, "evse": 2},
        "station_inoperative": {"intent": "change_availability", "operative": False},
        "evse_inoperative": {"intent": "change_availability", "operative": False, "connector": 2},
        "connector_operative": {"intent": "change_availability", "operative": True, "evse": 1, "connector": 1},
        "trigger": {"intent": "trigger_message", "message": "status", "evse": 2, "connector": 1},
        "clear_cache": {"intent": "clear_cache"},
    }

    async def run():
        async with station(server, answer) as role:
            settled = {name: await settled_command(session, STATION, body) for name, body in asks.items()}
            sql, params = _connectors_sql("Unavailable")
            unavailable = await _value(server, sql, params, 1 if answer == "accept" else None)
            return settled, role.asked, unavailable

    settled, asked, unavailable = asyncio.run(run())
    assert asked == [
        ("Reset", {"type": "OnIdle"}),
        ("Reset", {"type": "Immediate", "evse_id": 2}),
        ("ChangeAvailability", {"operational_status": "Inoperative"}),
        ("ChangeAvailability", {"operational_status": "Inoperative", "evse": {"id": 2}}),
        ("ChangeAvailability", {"operational_status": "Operative", "evse": {"id": 1, "connector_id": 1}}),
        ("TriggerMessage", {"requested_message": "StatusNotification", "evse": {"id": 2, "connector_id": 1}}),
        ("ClearCache", {}),
    ]
    if answer == "accept":
        assert _statuses(settled) == dict.fromkeys(asks, "accepted")
        assert settled["reset"]["result"] == {"status": "Scheduled"}  # done once idle: accepted
        # The StatusNotification the trigger asked for arrived: EVSE 2's connector is Unavailable.
        assert unavailable == 1
    else:
        assert _statuses(settled) == dict.fromkeys(asks, "rejected")
        assert _reasons(settled) == {
            "reset": "Rejected: FwUpdateInProgress", "reset_evse": "Rejected: FwUpdateInProgress",
            "station_inoperative": "Rejected: UnknownEvse", "evse_inoperative": "Rejected: UnknownEvse",
            "connector_operative": "Rejected: UnknownEvse", "trigger": "Rejected: NotNow",
            "clear_cache": "Rejected: CacheDisabled",
        }  # fmt: skip
        assert unavailable == 0  # nothing was triggered


def _reservation(server: LiveServer, reservation_id: int) -> tuple[str, str]:
    [row] = server.query("SELECT status, charger_answer FROM charging_reservation WHERE id = %s", (reservation_id,))
    return row


@pytest.mark.parametrize("answer", ANSWERS)
def test_reserve_cancel_and_the_station_ending_a_reservation(server, answer):
    session = AdminSession(server)
    [(token_id,)] = server.query("SELECT id FROM charging_idtoken WHERE id_tag = %s", (TOKEN,))
    wanted = {"charge_point_id": STATION, "id_token": token_id, "expires_at": _now(dt.timedelta(hours=1))}
    status_sql = "SELECT status FROM charging_reservation WHERE id = %s"

    async def reserve(**where) -> int:
        status, reservation = await _api(session, "POST", "/api/v1/reservations", {**wanted, **where})
        assert status == 201, reservation
        for _ in range(50):  # until the station's answer settled it
            [(now,)] = await asyncio.to_thread(server.query, status_sql, (reservation["id"],))
            if now != "requested":
                break
            await asyncio.sleep(0.1)
        return reservation["id"]

    async def cancel(reservation_id: int) -> dict:
        status, queued = await _api(session, "POST", f"/api/v1/reservations/{reservation_id}/cancel")
        assert status == 202, queued
        return await _settled(session, queued["id"])

    async def run():
        async with station(server, answer) as role:
            outcomes: dict[str, Any] = {}
            if answer == "accept":
                # Connector 1 of EVSE 2 (ReserveNow names the EVSE, H01.FR.23), then cancelled.
                first = await reserve(connector_id=1, evse_id=2)
                outcomes["first"] = _reservation(server, first)
                outcomes["cancel"] = await cancel(first)
                await _value(server, status_sql, (first,), "cancelled")
                outcomes["cancelled"] = _reservation(server, first)
                # Any EVSE; the station lets it expire and says so (H04.FR.01).
                second = await reserve()
                outcomes["second"] = _reservation(server, second)
                await role.call(
                    call.ReservationStatusUpdate(reservation_id=second, reservation_update_status="Expired")
                )
                await _value(server, status_sql, (second,), "expired")
                outcomes["expired"] = _reservation(server, second)
                ids = (first, second)
            else:
                # Refused: the reservation is rejected, with the station's word, and cannot be cancelled.
                first = await reserve(connector_id=1, evse_id=2)
                outcomes["first"] = _reservation(server, first)
                outcomes["cancel_refused"] = await _api(session, "POST", f"/api/v1/reservations/{first}/cancel")
                # Held, then the cancellation refused: still held.
                role.refuse = {"CancelReservation"}
                second = await reserve(connector_id=1, evse_id=1)
                outcomes["cancel"] = await cancel(second)
                outcomes["second"] = _reservation(server, second)
                # A CALLERROR: the reservation failed.
                role.fail = {"ReserveNow"}
                third = await reserve()
                outcomes["third"] = _reservation(server, third)
                ids = (first, second, third)
            return outcomes, ids, role.asked

    outcomes, ids, asked = asyncio.run(run())
    card = {"id_token": TOKEN, "type": "ISO14443"}
    reserve_now = [(action, fields) for action, fields in asked if action == "ReserveNow"]
    assert [fields["id"] for _, fields in reserve_now] == list(ids)
    assert all(fields["id_token"] == card for _, fields in reserve_now)
    if answer == "accept":
        assert reserve_now[0][1]["evse_id"] == 2
        assert "evse_id" not in reserve_now[1][1]  # any EVSE (H01.FR.04)
        assert outcomes["first"] == ("accepted", "Accepted")
        assert (outcomes["cancel"]["status"], outcomes["cancel"]["payload"]) == ("accepted", {"reservationId": ids[0]})
        assert outcomes["cancelled"] == ("cancelled", "Accepted")
        assert outcomes["second"] == ("accepted", "Accepted")
        assert outcomes["expired"] == ("expired", "Expired")
    else:
        assert [fields.get("evse_id") for _, fields in reserve_now] == [2, 1, None]
        assert outcomes["first"] == ("rejected", "Occupied: EvseInUse")
        assert outcomes["cancel_refused"][0] == 409
        assert outcomes["cancel"]["status"] == "rejected"
        assert outcomes["cancel"]["result"] == {
            "status": "Rejected",
            "statusInfo": {"reasonCode": "UnknownReservation"},
        }
        assert outcomes["second"] == ("accepted", "Accepted")
        assert outcomes["third"] == ("failed", "")


@pytest.mark.parametrize("answer", ANSWERS)
def test_send_the_local_list_and_read_its_version(server, answer):
    session = AdminSession(server)
    version_sql = "SELECT local_list_version FROM sites_charger WHERE charge_point_id = %s"
    entries_sql = (
        "SELECT e.id_tag, e.status FROM charging_locallistentry e JOIN sites_charger c ON c.id = e.charger_id "
        "WHERE c.charge_point_id = %s ORDER BY e.id_tag"
    )

    async def run():
        async with station(server, answer) as role:
            before = (server.query(version_sql, (STATION,))[0][0], server.query(entries_sql, (STATION,)))
            read = await settled_command(session, STATION, {"intent": "get_local_list_version"})
            await _value(server, version_sql, (STATION,), 7 if answer == "accept" else None)
            read_version = server.query(version_sql, (STATION,))[0][0]
            update_type = "full" if answer == "accept" else "differential"
            status, published = await _api(session, "POST", f"/api/v1/chargers/{STATION}/local-list",
                                           {"update_type": update_type})  # fmt: skip
            assert status == 202, published
            sent = await _settled(session, published["command"]["id"])
            await _value(server, version_sql, (STATION,), published["version"] if answer == "accept" else None)
            after = (server.query(version_sql, (STATION,))[0][0], server.query(entries_sql, (STATION,)))
            return before, read, read_version, published, sent, after, role.asked

    before, read, read_version, published, sent, after, asked = asyncio.run(run())
    assert [action for action, _ in asked] == ["GetLocalListVersion", "SendLocalList"]
    if answer == "accept":
        # D02: the version the station holds becomes the charger's; D01: the next one is sent, full.
        assert (read["status"], read["result"], read_version) == ("accepted", {"versionNumber": 7}, 7)
        assert (sent["status"], published["version"], published["entries"]) == ("accepted", 8, 3)
        sent_list = asked[1][1]
        assert (sent_list["version_number"], sent_list["update_type"]) == (8, "Full")
        assert sent_list["local_authorization_list"][0] == {
            "id_token": {"id_token": "DEMO-TAG-001", "type": "ISO14443"},
            "id_token_info": {"status": "Accepted"},
        }
        assert after == (8, [("DEMO-TAG-001", "Accepted"), ("DEMO-TAG-002", "Accepted"),
                             ("DEMO-TAG-BLOCKED", "Blocked")])  # fmt: skip
    else:
        assert (read["status"], read["error_code"]) == ("failed", "InternalError")
        assert read_version == before[0]  # no version read: none recorded
        assert asked[1][1]["update_type"] == "Differential"
        assert sent["status"] == "rejected"
        assert _reasons({"sent": sent}) == {"sent": "VersionMismatch: OlderVersion"}
        assert after == before  # neither the version nor the entries changed


PERIODS = [{"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400}]


@pytest.mark.parametrize("answer", ANSWERS)
def test_set_report_compose_and_clear_charging_profiles(server, answer):
    session = AdminSession(server)
    [(organization,)] = server.query("SELECT id FROM accounts_organization WHERE slug = %s", ("demo-charging",))
    profile = {
        "organization": organization, "name": f"EVSE cap ({answer})", "purpose": "TxDefaultProfile",
        "stack_level": 1, "kind": "Absolute", "charging_rate_unit": "W", "start_schedule": _now(), "periods": PERIODS,
    }  # fmt: skip
    status, created = session.api("POST", "/api/v1/charging-profiles", profile)
    assert status == 201, created
    profile_id = created["id"]
    assignment_sql = "SELECT status FROM charging_chargingprofileassignment WHERE id = %s"
    reports_sql = (
        "SELECT r.status, r.detail FROM sites_chargerreport r JOIN sites_charger c ON c.id = r.charger_id "
        "WHERE c.charge_point_id = %s AND r.kind = 'charging_profiles' AND r.request_id = %s AND r.id > %s"
    )

    since = _newest_id(server, "sites_chargerreport")

    async def assign() -> tuple[dict, dict]:
        body = {"charge_point_id": STATION, "connector_id": 2}  # a 2.0.1 station's EVSE 2
        status, assignment = await _api(session, "POST", f"/api/v1/charging-profiles/{profile_id}/assign", body)
        assert status == 202, assignment
        return assignment, await _settled(session, assignment["command"]["id"])

    async def run():
        async with station(server, answer) as role:
            out: dict[str, Any] = {}
            assignment, out["set"] = await assign()
            out["assignment"] = await _value(
                server, assignment_sql, (assignment["id"],), "accepted" if answer == "accept" else "rejected"
            )
            # All of EVSE 2's profiles.
            out["get"] = await settled_command(session, STATION, {"intent": "get_charging_profiles", "evse": 2})
            request_id = out["get"]["payload"]["requestId"]
            out["reports"] = await _rows(server, reports_sql, (STATION, request_id, since), answer == "accept")
            out["composite"] = await settled_command(
                session,
                STATION,
                {"intent": "get_composite_schedule", "connector": 2, "duration": 3600, "rate_unit": "W"},
            )
            if answer == "refuse":  # held (accepted), then its clearing refused
                role.refuse.discard("SetChargingProfile")
                assignment, out["set_again"] = await assign()
            status, queued = await _api(
                session, "POST", f"/api/v1/charging-profile-assignments/{assignment['id']}/clear"
            )
            assert status == 202, queued
            out["clear"] = await _settled(session, queued["id"])
            cleared = "cleared" if answer == "accept" else None
            out["cleared"] = await _value(server, assignment_sql, (assignment["id"],), cleared)
            return out, role.asked

    out, asked = asyncio.run(run())
    set_profile = asked[0][1]
    assert set_profile["evse_id"] == 2
    assert set_profile["charging_profile"]["id"] == profile_id
    assert set_profile["charging_profile"]["charging_profile_purpose"] == "TxDefaultProfile"
    assert set_profile["charging_profile"]["charging_schedule"][0]["charging_schedule_period"] == [
        {"start_period": 0, "limit": 11000}, {"start_period": 3600, "limit": 7400}
    ]  # fmt: skip
    # K09.FR.03: criteria that filter out nothing, but criteria (every limit source).
    assert asked[1] == ("GetChargingProfiles", {
        "request_id": out["get"]["payload"]["requestId"], "evse_id": 2,
        "charging_profile": {"charging_limit_source": ["EMS", "Other", "SO", "CSO"]},
    })  # fmt: skip
    assert asked[2][1]["evse_id"] == 2
    assert asked[-1] == (
        "ClearChargingProfile", {"charging_profile_id": profile_id, "charging_profile_criteria": {"evse_id": 2}}
    )  # fmt: skip
    if answer == "accept":
        assert (out["set"]["status"], out["assignment"]) == ("accepted", "accepted")
        assert out["get"]["status"] == "accepted"
        # K09: the station's report, with the profile it holds, kept on the charger.
        [(status, detail)] = out["reports"]
        assert status == "CSO EVSE 2"
        assert [held["id"] for held in _json(detail)["chargingProfile"]] == [profile_id]
        assert out["composite"]["status"] == "accepted"
        assert out["composite"]["result"]["schedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 11000.0}
        ]
        assert (out["clear"]["status"], out["cleared"]) == ("accepted", "cleared")
    else:
        assert (out["set"]["status"], out["assignment"]) == ("rejected", "rejected")
        assert _reasons({"set": out["set"]}) == {"set": "Rejected: InvalidSchedule"}
        # NoProfiles: understood, nothing to report (K09): no report is kept.
        assert (out["get"]["status"], out["get"]["result"], out["reports"]) == (
            "accepted",
            {"status": "NoProfiles"},
            [],
        )
        assert _reasons({"composite": out["composite"]}) == {"composite": "Rejected: UnknownEvse"}
        assert out["composite"]["status"] == "rejected"
        assert out["set_again"]["status"] == "accepted"
        # Unknown: the station does not hold it; the assignment stays as it was.
        assert (out["clear"]["status"], out["clear"]["result"], out["cleared"]) == (
            "rejected", {"status": "Unknown"}, "accepted",
        )  # fmt: skip


@pytest.mark.parametrize("answer", ANSWERS)
def test_firmware_logs_data_transfer_transactions_network_and_customer_information(server, answer):
    session = AdminSession(server)
    asks = {
        "firmware": {"intent": "update_firmware", "location": "https://fw.example.com/x2-4.1.bin",
                     "retrieve_at": _now(seconds=True), "retries": 2},
        "log": {"intent": "get_log", "log_type": "security", "location": "https://logs.example.com/x2"},
        "data": {"intent": "data_transfer", "vendor_id": "com.example.x2", "message_id": "Ping", "data": "hello"},
        "transaction": {"intent": "get_transaction_status", "transaction_id": "TX-42"},
        "cost": {"intent": "cost_updated", "transaction_id": "TX-42", "total_cost": 12.34},
        "network": {"intent": "set_network_profile", "slot": 2, "connection": {
            "csms_url": "wss://csms.example.com/ocpp", "protocol_version": "2.0.1", "security_profile": 2}},
        "customer": {"intent": "customer_information", "id_token": TOKEN, "report": True, "clear": False},
    }  # fmt: skip
    customer_sql = (
        "SELECT r.status FROM sites_chargerreport r JOIN sites_charger c ON c.id = r.charger_id "
        "WHERE c.charge_point_id = %s AND r.kind = 'customer_info' AND r.request_id = %s AND r.id > %s ORDER BY r.id"
    )
    since = _newest_id(server, "sites_chargerreport")

    async def run():
        async with station(server, answer) as role:
            settled = {name: await settled_command(session, STATION, body) for name, body in asks.items()}
            accepted = answer == "accept"
            jobs = {
                "firmware": await _job_status(session, settled["firmware"]["id"], "Installed" if accepted else None),
                "log": await _job_status(session, settled["log"]["id"], "Uploaded" if accepted else None),
            }
            request_id = settled["customer"]["payload"]["requestId"]
            customer = await _rows(server, customer_sql, (STATION, request_id, since), answer == "accept", count=2)
            return settled, jobs, customer, role.asked

    settled, jobs, customer, asked = asyncio.run(run())
    firmware_request, log_request = settled["firmware"]["request_id"], settled["log"]["request_id"]
    assert asked == [
        ("UpdateFirmware", {"request_id": firmware_request, "retries": 2, "firmware": {
            "location": "https://fw.example.com/x2-4.1.bin", "retrieve_date_time": asks["firmware"]["retrieve_at"]}}),
        ("GetLog", {"request_id": log_request, "log_type": "SecurityLog",
                    "log": {"remote_location": "https://logs.example.com/x2"}}),
        ("DataTransfer", {"vendor_id": "com.example.x2", "message_id": "Ping", "data": "hello"}),
        ("GetTransactionStatus", {"transaction_id": "TX-42"}),
        ("CostUpdated", {"total_cost": 12.34, "transaction_id": "TX-42"}),
        ("SetNetworkProfile", {"configuration_slot": 2, "connection_data": {
            "ocpp_version": "OCPP20", "ocpp_transport": "JSON", "ocpp_csms_url": "wss://csms.example.com/ocpp",
            "message_timeout": 30, "security_profile": 2, "ocpp_interface": "Wired0"}}),
        ("CustomerInformation", {"request_id": settled["customer"]["payload"]["requestId"], "report": True,
                                 "clear": False, "id_token": {"id_token": TOKEN, "type": "ISO14443"}}),
    ]  # fmt: skip
    if answer == "accept":
        assert _statuses(settled) == dict.fromkeys(asks, "accepted")
        # L01/N01: the job's progress, linked to its command by the request id it repeats.
        assert (jobs["firmware"] or {}).get("status") == "Installed"
        assert (jobs["log"] or {}).get("status") == "Uploaded"
        assert settled["log"]["result"]["filename"] == f"SecurityLog-{log_request}.log"
        assert settled["data"]["result"] == {"status": "Accepted", "data": {"echo": "hello"}}
        assert settled["transaction"]["result"] == {"messagesInQueue": False, "ongoingIndicator": True}
        # N09: the customer's data, in two parts, kept on the charger.
        assert customer == [("part 0 (more)",), ("part 1",)]
    else:
        assert _statuses(settled) == {
            "firmware": "rejected", "log": "rejected", "data": "rejected", "transaction": "failed", "cost": "failed",
            "network": "rejected", "customer": "rejected",
        }  # fmt: skip
        assert _reasons(settled) == {
            "firmware": "Rejected: BadLocation", "log": "Rejected: UploadBusy", "data": "UnknownVendorId: NoSuchVendor",
            "transaction": "InternalError", "cost": "InternalError", "network": "Rejected: SlotInUse",
            "customer": "Rejected: UnknownCustomer",
        }  # fmt: skip
        assert settled["cost"]["error_description"] == "CostUpdated: the station failed"
        # No job was started, no customer data reported.
        assert jobs == {"firmware": None, "log": None}
        assert customer == []


@pytest.mark.parametrize("answer", ANSWERS)
def test_set_report_and_clear_variable_monitors_and_the_monitoring_base(server, answer):
    session = AdminSession(server)
    monitors = [
        {"variable": "EVSE.Power", "kind": "upper_threshold", "value": 22000, "severity": 4},
        {"variable": "OCPPCommCtrlr.HeartbeatInterval", "kind": "delta", "value": 1, "severity": 8,
         "transaction_only": True},
    ]  # fmt: skip
    monitors_sql = (
        'SELECT m.monitor_id, m.component_name, m.variable_name, m.monitor_type, m.value, m."transaction" '
        "FROM sites_variablemonitor m JOIN sites_charger c ON c.id = m.charger_id "
        "JOIN sites_devicereport r ON r.id = m.report_id WHERE c.charge_point_id = %s AND r.request_id = %s "
        "AND r.id > %s ORDER BY m.monitor_id"
    )
    since = _newest_id(server, "sites_devicereport")

    async def run():
        async with station(server, answer) as role:
            settled = {"set": await settled_command(session, STATION, {"intent": "set_variable_monitoring",
                                                                        "monitors": monitors})}  # fmt: skip
            settled["report"] = await settled_command(session, STATION, {"intent": "get_monitoring_report"})
            request_id = settled["report"]["payload"]["requestId"]
            reported = await _rows(server, monitors_sql, (STATION, request_id, since), answer == "accept")
            settled["clear"] = await settled_command(
                session, STATION, {"intent": "clear_variable_monitoring", "monitor_ids": [101]}
            )
            settled["base"] = await settled_command(
                session, STATION, {"intent": "set_monitoring_base", "base": "factory_default"}
            )
            return settled, reported, role.asked

    settled, reported, asked = asyncio.run(run())
    assert asked == [
        ("SetVariableMonitoring", {"set_monitoring_data": [
            {"value": 22000, "type": "UpperThreshold", "severity": 4, "component": {"name": "EVSE"},
             "variable": {"name": "Power"}},
            {"transaction": True, "value": 1, "type": "Delta", "severity": 8, "component": {"name": "OCPPCommCtrlr"},
             "variable": {"name": "HeartbeatInterval"}},
        ]}),
        ("GetMonitoringReport", {"request_id": settled["report"]["payload"]["requestId"]}),
        ("ClearVariableMonitoring", {"id": [101]}),
        ("SetMonitoringBase", {"monitoring_base": "FactoryDefault"}),
    ]  # fmt: skip
    if answer == "accept":
        assert _statuses(settled) == dict.fromkeys(settled, "accepted")
        # N04: the ids the station gave its monitors, to clear them by later (N06).
        assert [result["id"] for result in settled["set"]["result"]["setMonitoringResult"]] == [101, 102]
        # N02: the station's report of its monitors, stored by their ids.
        assert reported == [
            (101, "EVSE", "Power", "UpperThreshold", 22000.0, 0),
            (102, "OCPPCommCtrlr", "HeartbeatInterval", "Delta", 1.0, 1),
        ]
        assert settled["clear"]["result"] == {"clearMonitoringResult": [{"id": 101, "status": "Accepted"}]}
    else:
        assert _statuses(settled) == dict.fromkeys(settled, "rejected")
        assert [result["status"] for result in settled["set"]["result"]["setMonitoringResult"]] == ["Rejected"] * 2
        assert _reasons({name: settled[name] for name in ("report", "base")}) == {
            "report": "Rejected: ReportBusy", "base": "Rejected: NotAllowed",
        }  # fmt: skip
        assert settled["clear"]["result"] == {"clearMonitoringResult": [{"id": 101, "status": "NotFound"}]}
        assert reported == []  # no report came
