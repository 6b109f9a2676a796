"""End to end over a real `manage.py serve`: log uploads and signed firmware updates asked through
the API reach the `ocpp` library's 1.6 charge point (with the security extension, whose schemas it
checks our CALLs against) and 2.0.1 station; their answers settle the commands, and the status
notifications that follow (LogStatusNotification, SignedFirmwareStatusNotification) show on the
command that asked, found by the request id they repeat (N01.FR.07, L01.FR.10)."""

import asyncio
import datetime as dt

import pytest
from ocpp.routing import on
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call as call16
from ocpp.v16 import call_result as result16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call as call201
from ocpp.v201 import call_result as result201

from common.live_server import AdminSession, live_server
from ocpp_gateway.tests.live_chargers import booted, settled_command

CHARGER_16 = "DEMO-CP-001"
STATION = "DEMO-CS-201"
PEM = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmgAwIBAgIUFirmwareSigner\n-----END CERTIFICATE-----\n"


class Later:
    """Send after our answer has gone out, as a charger does."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def __call__(self, *calls) -> None:
        task = asyncio.get_running_loop().create_task(self._one_by_one(calls))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _one_by_one(calls) -> None:
        for make in calls:
            await asyncio.sleep(0.2)
            await make()


class SecureChargePoint(ChargePoint16):
    """A 1.6 charge point with the security extension: uploads its logs, installs signed firmware
    (and finds the second signature it is given invalid)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, dict]] = []
        self.later = Later()
        self.firmware_updates = 0

    @on("GetLog")
    async def on_get_log(self, log: dict, log_type: str, request_id: int, **_):
        self.asked.append(("GetLog", {"log": log, "log_type": log_type, "request_id": request_id}))
        self.later(
            lambda: self.call(call16.LogStatusNotification(status="Uploading", request_id=request_id)),
            lambda: self.call(call16.LogStatusNotification(status="Uploaded", request_id=request_id)),
        )
        return result16.GetLog(status="Accepted", filename=f"{log_type}-{request_id}.log")

    @on("SignedUpdateFirmware")
    async def on_signed_update_firmware(self, request_id: int, firmware: dict, **_):
        self.asked.append(("SignedUpdateFirmware", {"request_id": request_id, "firmware": firmware}))
        self.firmware_updates += 1
        last = "Installed" if self.firmware_updates == 1 else "InvalidSignature"
        steps = ("Downloading", "Downloaded", last)
        self.later(
            *(
                lambda status=status: self.call(
                    call16.SignedFirmwareStatusNotification(status=status, request_id=request_id)
                )
                for status in steps
            )
        )
        return result16.SignedUpdateFirmware(status="Accepted")

    @on("ExtendedTriggerMessage")
    async def on_extended_trigger(self, requested_message: str, **_):
        self.asked.append(("ExtendedTriggerMessage", {"requested_message": requested_message}))
        # N01.FR.12: with no upload going on, Idle and no request id.
        self.later(lambda: self.call(call16.LogStatusNotification(status="Idle", request_id=None)))  # type: ignore[arg-type]
        return result16.ExtendedTriggerMessage(status="Accepted")


class LoggingStation(ChargePoint201):
    """A 2.0.1 station that uploads its logs."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.asked: list[tuple[str, dict]] = []
        self.later = Later()

    @on("GetLog")
    async def on_get_log(self, log: dict, log_type: str, request_id: int, **_):
        self.asked.append(("GetLog", {"log": log, "log_type": log_type, "request_id": request_id}))
        self.later(
            lambda: self.call(call201.LogStatusNotification(status="Uploading", request_id=request_id)),
            lambda: self.call(call201.LogStatusNotification(status="Uploaded", request_id=request_id)),
        )
        return result201.GetLog(status="Accepted", filename=f"{log_type}-{request_id}.log")

    @on("UpdateFirmware")
    async def on_update_firmware(self, request_id: int, firmware: dict, **_):
        self.asked.append(("UpdateFirmware", {"request_id": request_id, "firmware": firmware}))
        self.later(
            *(
                lambda status=status: self.call(
                    call201.FirmwareStatusNotification(status=status, request_id=request_id)
                )
                for status in ("Downloading", "SignatureVerified", "Installed")
            )
        )
        return result201.UpdateFirmware(status="Accepted")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with live_server(tmp_path_factory.mktemp("livesecext")) as running:
        yield running


def charge_point_16(server):
    return booted(server, CHARGER_16, SecureChargePoint)


def station_201(server):
    return booted(server, STATION, LoggingStation, version="2.0.1")


async def _job_status(session: AdminSession, command_id: int, expected: str) -> dict:
    """The command's job status once the charger has reported `expected` (or the last one seen)."""
    shown: dict = {}
    for _ in range(50):
        _, body = await asyncio.to_thread(session.api, "GET", f"/api/v1/commands/{command_id}")
        shown = body["job_status"] or {}
        if shown.get("status") == expected:
            break
        await asyncio.sleep(0.1)
    return shown


def test_a_16_charger_uploads_its_security_log_and_its_status_shows_on_the_command(server):
    session = AdminSession(server)
    location = "https://logs.example.com/upload"

    async def run():
        async with charge_point_16(server) as role:
            settled = await settled_command(
                session, CHARGER_16, {"intent": "get_log", "log_type": "security", "location": location}
            )
            shown = await _job_status(session, settled["id"], "Uploaded")
            trigger = await settled_command(session, CHARGER_16, {"intent": "trigger_message", "message": "log_status"})
            # The triggered notification follows the answer.
            idle = "SELECT COUNT(*) FROM sites_chargerreport WHERE status = 'Idle'"
            await asyncio.to_thread(server.wait_for, idle, 1)
            return settled, shown, trigger, role.asked

    settled, shown, trigger, asked = asyncio.run(run())
    request_id = settled["request_id"]
    assert request_id == settled["id"]
    assert (settled["status"], settled["action"], settled["result"]) == (
        "accepted", "GetLog", {"status": "Accepted", "filename": f"SecurityLog-{request_id}.log"},
    )  # fmt: skip
    assert asked[0] == (
        "GetLog", {"log": {"remote_location": location}, "log_type": "SecurityLog", "request_id": request_id}
    )  # fmt: skip
    assert (shown["kind"], shown["status"], shown["command"]) == ("log", "Uploaded", settled["id"])
    # ExtendedTriggerMessage for what only the extension can trigger; its Idle names no request.
    assert (trigger["status"], trigger["action"]) == ("accepted", "ExtendedTriggerMessage")
    assert asked[1] == ("ExtendedTriggerMessage", {"requested_message": "LogStatusNotification"})
    rows = server.query(
        "SELECT r.status, r.request_id, r.command_id FROM sites_chargerreport r JOIN sites_charger c "
        "ON c.id = r.charger_id WHERE c.charge_point_id = %s AND r.kind = 'log' ORDER BY r.id",
        (CHARGER_16,),
    )
    assert rows == [
        ("Uploading", request_id, settled["id"]),
        ("Uploaded", request_id, settled["id"]),
        ("Idle", None, None),
    ]


def test_a_16_charger_installs_signed_firmware_and_an_invalid_signature_is_a_security_event(server):
    session = AdminSession(server)
    retrieve_at = (dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)).replace(microsecond=0)
    body = {
        "intent": "update_firmware",
        "location": "https://fw.example.com/x1-2.0.bin",
        "retrieve_at": retrieve_at.isoformat(),
        "signing_certificate": PEM,
        "signature": "c2lnbmF0dXJlLW9mLWZpcm13YXJl",
    }

    async def run():
        async with charge_point_16(server) as role:
            good = await settled_command(session, CHARGER_16, body)
            installed = await _job_status(session, good["id"], "Installed")
            bad = await settled_command(session, CHARGER_16, {**body, "location": "https://fw.example.com/x1-2.1.bin"})
            refused = await _job_status(session, bad["id"], "InvalidSignature")
            return good, installed, bad, refused, role.asked

    good, installed, bad, refused, asked = asyncio.run(run())
    assert (good["status"], good["action"]) == ("accepted", "SignedUpdateFirmware")
    assert asked[0] == (
        "SignedUpdateFirmware",
        {
            "request_id": good["request_id"],
            "firmware": {
                "location": "https://fw.example.com/x1-2.0.bin",
                "retrieve_date_time": retrieve_at.isoformat().replace("+00:00", "Z"),
                "signing_certificate": PEM,
                "signature": "c2lnbmF0dXJlLW9mLWZpcm13YXJl",
            },
        },
    )
    assert (installed["kind"], installed["status"], installed["command"]) == ("firmware", "Installed", good["id"])
    assert (refused["status"], refused["command"]) == ("InvalidSignature", bad["id"])
    events = server.query(
        "SELECT kind, severity FROM sites_securityevent WHERE charge_point_id = %s AND kind = %s",
        (CHARGER_16, "InvalidFirmwareSignature"),
    )
    assert events == [("InvalidFirmwareSignature", "critical")]
    # The charger's page in the API: the latest firmware status, with its command.
    _, charger = session.api("GET", f"/api/v1/chargers/{CHARGER_16}")
    assert (charger["jobs"]["firmware"]["status"], charger["jobs"]["firmware"]["command"]) == (
        "InvalidSignature", bad["id"],
    )  # fmt: skip


def test_a_201_station_uploads_its_diagnostics_log_and_its_status_shows_on_the_command(server):
    session = AdminSession(server)
    location = "https://logs.example.com/station"

    async def run():
        async with station_201(server) as role:
            settled = await settled_command(session, STATION, {"intent": "get_log", "location": location})
            shown = await _job_status(session, settled["id"], "Uploaded")
            return settled, shown, role.asked

    settled, shown, asked = asyncio.run(run())
    request_id = settled["request_id"]
    assert (settled["status"], settled["action"]) == ("accepted", "GetLog")
    assert settled["result"] == {"status": "Accepted", "filename": f"DiagnosticsLog-{request_id}.log"}
    assert asked == [
        ("GetLog", {"log": {"remote_location": location}, "log_type": "DiagnosticsLog", "request_id": request_id})
    ]
    assert (shown["status"], shown["command"]) == ("Uploaded", settled["id"])


def test_a_201_station_installs_signed_firmware_and_its_status_shows_on_the_command(server):
    session = AdminSession(server)
    body = {
        "intent": "update_firmware",
        "location": "https://fw.example.com/x2-3.0.bin",
        "retrieve_at": "2026-03-01T12:30:00+00:00",
        "signing_certificate": PEM,
        "signature": "c2lnbmF0dXJl",
    }

    async def run():
        async with station_201(server) as role:
            settled = await settled_command(session, STATION, body)
            shown = await _job_status(session, settled["id"], "Installed")
            return settled, shown, role.asked

    settled, shown, asked = asyncio.run(run())
    assert (settled["status"], settled["action"]) == ("accepted", "UpdateFirmware")
    assert asked == [
        (
            "UpdateFirmware",
            {
                "request_id": settled["request_id"],
                "firmware": {
                    "location": "https://fw.example.com/x2-3.0.bin",
                    "retrieve_date_time": "2026-03-01T12:30:00Z",
                    "signing_certificate": PEM,
                    "signature": "c2lnbmF0dXJl",
                },
            },
        )
    ]
    assert (shown["kind"], shown["status"], shown["command"]) == ("firmware", "Installed", settled["id"])


def test_a_private_upload_address_is_refused_with_a_clear_400(server):
    session = AdminSession(server)
    status, body = session.api(
        "POST", f"/api/v1/chargers/{CHARGER_16}/commands", {"intent": "get_log", "location": "http://127.0.0.1/up"}
    )
    assert status == 400
    assert "loopback" in str(body)


def test_a_16_chargers_security_events_are_stored_merged_and_listed(server):
    """Whitepaper A04 / sec. 5.15: SecurityEventNotification always confirmed, stored with the
    charger's time and ours, the same one sent again merged (S13); listed by the API."""
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    session = AdminSession(server)

    async def run() -> list:
        async with charge_point_16(server) as role:
            tamper = call16.SecurityEventNotification(type="TamperDetectionActivated", timestamp=at,
                                                      tech_info="cabinet door")  # fmt: skip
            return [await role.call(tamper), await role.call(tamper)]

    answers = asyncio.run(run())
    assert all(answer is not None for answer in answers)  # the empty confirmation, twice
    status, listed = session.api("GET", f"/api/v1/chargers/{CHARGER_16}/security-events?type=TamperDetectionActivated")
    assert status == 200
    [event] = listed["results"]
    assert (event["source"], event["critical"], event["repeats"], event["tech_info"]) == (
        "charger", True, 2, "cabinet door",
    )  # fmt: skip
    assert event["occurred_at"].startswith(at[:19])
