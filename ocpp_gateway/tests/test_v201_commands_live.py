"""End to end, operations on an OCPP 2.0.1 station: commands asked through the API (neutral
and raw forms) and the admin reach the `ocpp` library's 2.0.1 station role (which checks our
CALLs against the 2.0.1 request schemas) over a real `manage.py serve`; its answers settle them
and the domain acts on them. A mixed fleet: a 1.6 charger and a 2.0.1 station of one site in
one dashboard and one sessions list."""

import asyncio
import csv
import datetime as dt
import io
import json
import time

import pytest
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result

from common.live_server import AdminSession, celery_worker, live_server
from ocpp_gateway.tests.live_chargers import booted, connect, settled_command
from ocpp_gateway.tests.live_chargers import call as raw_call

STATION = "DEMO-CS-201"
CHARGER_16 = "DEMO-CP-001"
TOKEN = {"idToken": "DEMO-TAG-001", "type": "ISO14443"}
SETTINGS = {("OCPPCommCtrlr", "HeartbeatInterval"): "300", ("AuthCtrlr", "Enabled"): "true"}


def _now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Station(ChargePoint):
    """A 2.0.1 station that does what it is asked: its sessions, settings and reports."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seq_no = 0
        self.transaction_id = ""
        self.asked: list[str] = []
        self.settings = dict(SETTINGS)
        self._later: set[asyncio.Task] = set()

    def later(self, coroutine) -> None:
        """Send after our answer has gone out, as a station does."""
        task = asyncio.get_running_loop().create_task(self._after_a_moment(coroutine))
        self._later.add(task)
        task.add_done_callback(self._later.discard)

    @staticmethod
    async def _after_a_moment(coroutine) -> None:
        await asyncio.sleep(0.2)
        await coroutine

    async def event(self, event_type: str, trigger: str, **fields) -> None:
        self.seq_no += 1
        info = {"transactionId": self.transaction_id, **fields.pop("info", {})}
        await self.call(
            call.TransactionEvent(
                event_type=event_type, timestamp=_now(), trigger_reason=trigger, seq_no=self.seq_no,
                transaction_info=info, evse={"id": 1, "connectorId": 1}, **fields,
            )
        )  # fmt: skip

    @on("RequestStartTransaction")
    async def on_request_start(self, id_token: dict, remote_start_id: int, evse_id: int | None = None, **_):
        self.asked.append("RequestStartTransaction")
        self.transaction_id = f"TX-{remote_start_id}"
        meter = [{"timestamp": _now(), "sampledValue": [{"value": 1000, "context": "Transaction.Begin"}]}]
        self.later(self.event("Started", "RemoteStart", id_token=id_token, meter_value=meter,
                              info={"remoteStartId": remote_start_id, "chargingState": "Charging"}))  # fmt: skip
        return call_result.RequestStartTransaction(status="Accepted")

    @on("RequestStopTransaction")
    async def on_request_stop(self, transaction_id: str, **_):
        self.asked.append("RequestStopTransaction")
        if transaction_id != self.transaction_id:
            return call_result.RequestStopTransaction(status="Rejected")
        meter = [{"timestamp": _now(), "sampledValue": [{"value": 7000, "context": "Transaction.End"}]}]
        self.later(self.event("Ended", "RemoteStop", meter_value=meter, info={"stoppedReason": "Remote"}))
        return call_result.RequestStopTransaction(status="Accepted")

    @on("GetVariables")
    async def on_get_variables(self, get_variable_data: list, **_):
        self.asked.append("GetVariables")
        results = []
        for item in get_variable_data:
            key = (item["component"]["name"], item["variable"]["name"])
            found = key in self.settings
            result = {"attribute_status": "Accepted" if found else "UnknownVariable", **item}
            if found:
                result["attribute_value"] = self.settings[key]
            results.append(result)
        return call_result.GetVariables(get_variable_result=results)

    @on("SetVariables")
    async def on_set_variables(self, set_variable_data: list, **_):
        self.asked.append("SetVariables")
        results = []
        for item in set_variable_data:
            self.settings[(item["component"]["name"], item["variable"]["name"])] = item["attribute_value"]
            results.append(
                {"attributeStatus": "Accepted", "component": item["component"], "variable": item["variable"]}
            )
        return call_result.SetVariables(set_variable_result=results)

    @on("GetBaseReport")
    async def on_get_base_report(self, request_id: int, report_base: str, **_):
        self.asked.append("GetBaseReport")
        self.later(self.report(request_id))
        return call_result.GetBaseReport(status="Accepted")

    async def report(self, request_id: int) -> None:
        """B07: the report in two parts, the last one saying so (tbc false)."""
        parts = list(self.settings.items())
        for seq_no, ((component, variable), value) in enumerate(parts):
            data = [{"component": {"name": component}, "variable": {"name": variable},
                     "variableAttribute": [{"type": "Actual", "value": value, "mutability": "ReadWrite"}]}]  # fmt: skip
            await self.call(
                call.NotifyReport(
                    request_id=request_id,
                    generated_at=_now(),
                    seq_no=seq_no,
                    report_data=data,
                    tbc=seq_no < len(parts) - 1,
                )
            )

    @on("UnlockConnector")
    async def on_unlock(self, evse_id: int, connector_id: int, **_):
        self.asked.append("UnlockConnector")
        return call_result.UnlockConnector(status="Unlocked")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("live201cmd")) as running:
        yield running


def station(server):
    return booted(server, STATION, Station, version="2.0.1")


async def _command(session: AdminSession, body: dict) -> dict:
    return await settled_command(session, STATION, body)


def test_remote_start_and_stop_read_and_change_settings_and_a_report_through_the_api(server):
    session = AdminSession(server)

    async def run() -> tuple[dict, list[str]]:
        async with station(server) as role:
            outcomes = {
                "start": await _command(session, {"intent": "remote_start", "id_token": "DEMO-TAG-001", "evse": 1}),
            }
            await asyncio.sleep(1)  # the Started event follows the answer
            outcomes["stop"] = await _command(session, {"intent": "remote_stop", "transaction_id": role.transaction_id})
            outcomes["read"] = await _command(
                session, {"intent": "read_settings", "keys": ["OCPPCommCtrlr.HeartbeatInterval", "Nope.Missing"]}
            )
            outcomes["change"] = await _command(
                session, {"intent": "change_setting", "key": "OCPPCommCtrlr.HeartbeatInterval", "value": "120"}
            )
            outcomes["report"] = await _command(session, {"intent": "request_report", "base": "full_inventory"})
            outcomes["raw"] = await _command(
                session, {"action": "UnlockConnector", "payload": {"evseId": 1, "connectorId": 1}}
            )
            await asyncio.sleep(1)  # the report's parts and the Ended event follow their answers
            return outcomes, role.asked

    outcomes, asked = asyncio.run(run())
    assert {name: outcome["status"] for name, outcome in outcomes.items()} == dict.fromkeys(outcomes, "accepted")
    # B07.FR.14: at its first connection the station was asked for its device model unprompted.
    assert asked == [
        "GetBaseReport", "RequestStartTransaction", "RequestStopTransaction", "GetVariables", "SetVariables",
        "GetBaseReport", "UnlockConnector",
    ]  # fmt: skip
    remote_start_id = outcomes["start"]["payload"]["remoteStartId"]
    # The remote start's session: the station's transaction id, started remotely, stopped remotely.
    assert server.query(
        "SELECT s.transaction_uid, s.state, s.energy_wh, s.stop_reason FROM charging_chargingsession s "
        "JOIN sites_charger c ON c.id = s.charger_id WHERE c.charge_point_id = %s",
        (STATION,),
    ) == [(f"TX-{remote_start_id}", "completed", 6000, "Remote")]
    # Settings read and changed, kept per component (the snapshot the admin edits in place).
    assert server.query(
        "SELECT k.key, k.value FROM sites_configurationkey k JOIN sites_charger c ON c.id = k.charger_id "
        "WHERE c.charge_point_id = %s ORDER BY k.key",
        (STATION,),
    ) == [("OCPPCommCtrlr.HeartbeatInterval", "120")]
    # The full inventory, asked at the first connection and again through the API, arrived each
    # time in two parts and is complete.
    reports = server.query(
        "SELECT r.complete, r.parts_received FROM sites_devicereport r JOIN sites_charger c ON c.id = r.charger_id "
        "WHERE c.charge_point_id = %s",
        (STATION,),
    )
    assert [(bool(complete), parts) for complete, parts in reports] == [(True, 2), (True, 2)]
    assert server.query(
        "SELECT m.requested_via FROM sites_command m JOIN sites_charger c ON c.id = m.charger_id "
        "WHERE c.charge_point_id = %s AND m.intent = 'request_report' ORDER BY m.id",
        (STATION,),
    ) == [("system",), ("api",)]
    variables = server.query(
        "SELECT v.component_name, v.variable_name, v.value FROM sites_devicevariable v "
        "JOIN sites_charger c ON c.id = v.charger_id WHERE c.charge_point_id = %s ORDER BY v.component_name",
        (STATION,),
    )
    assert variables == [("AuthCtrlr", "Enabled", "true"), ("OCPPCommCtrlr", "HeartbeatInterval", "120")]


def test_what_a_version_cannot_carry_is_refused_with_a_clear_400(server):
    session = AdminSession(server)
    status, body = session.api(
        "POST", f"/api/v1/chargers/{CHARGER_16}/commands", {"intent": "request_report", "base": "full_inventory"}
    )
    assert status == 400
    assert "OCPP 1.6" in json.dumps(body)
    status, body = session.api(
        "POST", f"/api/v1/chargers/{STATION}/commands", {"action": "RemoteStartTransaction", "payload": {"idTag": "X"}}
    )
    assert status == 400  # a 1.6 action is no 2.0.1 request


def test_a_mixed_fleet_in_one_dashboard_and_one_sessions_list(server):
    session = AdminSession(server)

    async def charge_both() -> None:
        async with connect(server, CHARGER_16) as ws:
            await raw_call(ws, "b", "BootNotification", {"chargePointVendor": "ACME", "chargePointModel": "X1"})
            begin = {"connectorId": 2, "idTag": "DEMO-TAG-002", "meterStart": 0, "timestamp": _now()}
            start = await raw_call(ws, "s", "StartTransaction", begin)
            end = {"transactionId": start[2]["transactionId"], "meterStop": 2500, "timestamp": _now()}
            await raw_call(ws, "p", "StopTransaction", end)
        async with station(server) as role:
            status = call.StatusNotification(timestamp=_now(), connector_status="Available", evse_id=2, connector_id=1)
            await role.call(status)
            role.transaction_id = "MIXED-1"
            meter = [{"timestamp": _now(), "sampledValue": [{"value": 0, "context": "Transaction.Begin"}]}]
            await role.event("Started", "Authorized", id_token=TOKEN, meter_value=meter)
            meter = [{"timestamp": _now(), "sampledValue": [{"value": 4000, "context": "Transaction.End"}]}]
            await role.event("Ended", "StopAuthorized", meter_value=meter, info={"stoppedReason": "Local"})

    asyncio.run(charge_both())
    _, sessions = session.api("GET", "/api/v1/sessions?page_size=100")
    rows = sessions["results"] if isinstance(sessions, dict) and "results" in sessions else sessions
    energy = {row["energy_wh"] for row in rows if row["state"] == "completed"}
    assert {2500, 4000} <= energy
    dashboard = session.opener.open(f"{server.base_url}/admin/").read().decode()
    assert CHARGER_16 in dashboard
    assert STATION in dashboard
    assert "EVSE 2 / 1" in dashboard
    # One export: both chargers' sessions, the station's own transaction id and its EVSE.
    rows = {(row["charge_point_id"], row["evse_id"], row["transaction_id"]) for row in _exported_sessions(server)}
    assert (STATION, "1", "MIXED-1") in rows
    assert any(charge_point_id == CHARGER_16 and evse == "" for charge_point_id, evse, _ in rows)


def _exported_sessions(server) -> list[dict]:
    """A CSV export of the demo organization's sessions, asked through the API and written by
    the background job (a Celery worker where there is a broker, inline otherwise)."""
    session = AdminSession(server)
    [(organization_id,)] = server.query(
        "SELECT s.organization_id FROM sites_site s JOIN sites_charger c ON c.site_id = s.id "
        "WHERE c.charge_point_id = %s",
        (STATION,),
    )
    with celery_worker(server):
        status, export = session.api("POST", "/api/v1/report-exports", {"organization": organization_id})
        assert status == 202, export
        deadline = time.monotonic() + 30
        while export["status"] not in ("done", "failed") and time.monotonic() < deadline:
            time.sleep(0.3)
            _, export = session.api("GET", f"/api/v1/report-exports/{export['id']}")
    assert export["status"] == "done", export
    text = session.opener.open(server.base_url + export["download_url"]).read().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_the_admin_starts_and_stops_a_session_on_a_201_station(server):
    """The admin's command form (the same for both versions) reaches the station as 2.0.1's
    RequestStartTransaction / RequestStopTransaction."""
    operator = AdminSession(server)
    [(charger_id,)] = server.query("SELECT id FROM sites_charger WHERE charge_point_id = %s", (STATION,))
    command_page = f"/admin/sites/charger/{charger_id}/command/"

    def settled(intent: str) -> str:
        return server.wait_for(
            "SELECT status FROM sites_command WHERE intent = %s AND requested_via = 'admin' "
            "AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 1",
            "accepted",
            (intent,),
        )

    async def run() -> list[str]:
        async with station(server) as role:
            # The same token and EVSE as the API's start above, a new remoteStartId (the command's
            # own), so a new transaction: this station makes its transaction id of it.
            start = {"command_intent": "remote_start", "id_token": "DEMO-TAG-001", "evse": "1"}
            await asyncio.to_thread(operator._post_form, command_page + "?intent=remote_start", start)
            assert await asyncio.to_thread(settled, "remote_start") == "accepted"
            await asyncio.sleep(1)  # the Started event follows the answer
            stop = {"command_intent": "remote_stop", "transaction_id": role.transaction_id}
            await asyncio.to_thread(operator._post_form, command_page + "?intent=remote_stop", stop)
            assert await asyncio.to_thread(settled, "remote_stop") == "accepted"
            await asyncio.sleep(1)
            return role.asked

    asked = [action for action in asyncio.run(run()) if action != "GetBaseReport"]  # if first connected here
    assert asked == ["RequestStartTransaction", "RequestStopTransaction"]
    [(state, energy)] = server.query(
        "SELECT s.state, s.energy_wh FROM charging_chargingsession s JOIN sites_charger c ON c.id = s.charger_id "
        "WHERE c.charge_point_id = %s AND s.transaction_uid LIKE 'TX-%%' ORDER BY s.id DESC LIMIT 1",
        (STATION,),
    )
    assert (state, energy) == ("completed", 6000)
