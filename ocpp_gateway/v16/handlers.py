"""OCPP 1.6 charger-initiated messages (1.6 edition 2, chapter 4): each handler maps the
validated payload to dataclasses, calls one domain service through the async->sync seam,
and maps the result back. No ORM here."""

import datetime as dt
import logging
from functools import partial

from ocpp_gateway.certificates import sign_certificate
from ocpp_gateway.connection import Connection, Handler
from ocpp_gateway.data_transfer import handle_data_transfer
from ocpp_gateway.registration import register
from ocpp_gateway.seam import (
    AUTHORIZATIONS,
    LIVENESS,
    METER_VALUES,
    STARTS,
    STATUS_NOTIFICATIONS,
    STOPS,
    TRANSACTIONS,
)
from ocpp_gateway.security_events import security_event_notification
from ocpp_gateway.timestamps import ocpp_time, parse_timestamp
from ocpp_gateway.v16 import transactions as v16
from sites.commands.progress import record_job_status
from sites.models import ChargerReport
from sites.services import (
    BootInfo,
    Liveness,
    StatusNotificationIn,
    StatusReport,
)

logger = logging.getLogger(__name__)


async def boot_notification(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    info = BootInfo(
        vendor=payload["chargePointVendor"],
        model=payload["chargePointModel"],
        serial_number=payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber", ""),
        firmware_version=payload.get("firmwareVersion", ""),
        iccid=payload.get("iccid", ""),
        imsi=payload.get("imsi", ""),
    )
    decision = await register(conn, info, received_at)
    return {"status": decision.status, "currentTime": ocpp_time(received_at), "interval": decision.interval}


async def heartbeat(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    # Written with the next batch, not awaited: the answer carries only our clock, and a
    # database outage must not stop heartbeats (R9).
    LIVENESS.submit_nowait(Liveness(conn.charger_id, conn.connection_id, received_at, heartbeat=True))
    return {"currentTime": ocpp_time(received_at)}


async def status_notification(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    report = StatusReport(
        connector_id=payload["connectorId"],
        status=payload["status"],
        error_code=payload["errorCode"],
        info=payload.get("info", ""),
        vendor_id=payload.get("vendorId", ""),
        vendor_error_code=payload.get("vendorErrorCode", ""),
        timestamp=parse_timestamp(payload["timestamp"]) if "timestamp" in payload else None,
    )
    # Written behind the reply (and again after an outage): see STATUS_NOTIFICATIONS.
    STATUS_NOTIFICATIONS.submit_nowait(StatusNotificationIn(conn.charger_id, report, received_at))
    return {}


async def authorize(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    decision = await AUTHORIZATIONS.get(v16.token_check(conn.charger_id, payload))
    return {"idTagInfo": v16.id_tag_info(decision)}


async def start_transaction_(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    opened = await STARTS.submit(v16.session_start(conn.charger_id, payload, received_at))
    return v16.start_reply(opened)


async def meter_values(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    await METER_VALUES.submit(v16.meter_report(conn.charger_id, conn.charge_point_id, payload, received_at))
    return {}


async def stop_transaction_(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    decision = await STOPS.submit(v16.session_stop(conn.charger_id, payload, received_at))
    return v16.stop_reply(decision)


async def data_transfer(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
    reply = await TRANSACTIONS.submit(
        partial(
            handle_data_transfer,
            charger_id=conn.charger_id,
            vendor_id=payload["vendorId"],
            message_id=payload.get("messageId"),
            data=payload.get("data"),
        )
    )
    return {"status": reply.status} if reply.data is None else {"status": reply.status, "data": reply.data}


def _job_status(kind: str, *, names_its_request: bool) -> Handler:
    """A job's status notification, stored as the job's status and linked to its command:
    - the core FirmwareStatusNotification and DiagnosticsStatusNotification (1.6 sec. 4.4, 4.5)
      name no request, and a charger runs one such job at a time, so they are about the newest
      accepted command of their kind;
    - the security extension's LogStatusNotification (N01.FR.08-10) and
      SignedFirmwareStatusNotification (L01.FR.01) repeat the command's requestId (N01.FR.07,
      L01.FR.10; absent only when triggered with nothing going on, N01.FR.12, L01.FR.21).
    The answer is empty."""

    async def record(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
        assert conn.charger_id is not None  # noqa: S101 (only an accepted charger's CALLs get here)
        await TRANSACTIONS.submit(
            partial(
                record_job_status,
                charger_id=conn.charger_id,
                kind=kind,
                status=payload["status"],
                request_id=payload.get("requestId") if names_its_request else None,
                received_at=received_at,
                newest_when_unnamed=not names_its_request,
            )
        )
        return {}

    return record


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    "Authorize": authorize,
    "StartTransaction": start_transaction_,
    "MeterValues": meter_values,
    "StopTransaction": stop_transaction_,
    "DataTransfer": data_transfer,
    "DiagnosticsStatusNotification": _job_status(ChargerReport.Kind.DIAGNOSTICS, names_its_request=False),
    "FirmwareStatusNotification": _job_status(ChargerReport.Kind.FIRMWARE, names_its_request=False),
    # The security extension (whitepaper sec. 5).
    "LogStatusNotification": _job_status(ChargerReport.Kind.LOG, names_its_request=True),
    "SignedFirmwareStatusNotification": _job_status(ChargerReport.Kind.FIRMWARE, names_its_request=True),
    "SecurityEventNotification": security_event_notification,
    "SignCertificate": sign_certificate,
}

# Actions the CSMS sends to a charger (1.6 chapter 5): a charger sending one of these is
# "recognized but not supported" in this direction.
CSMS_INITIATED = frozenset(
    {
        "CancelReservation",
        "ChangeAvailability",
        "ChangeConfiguration",
        "ClearCache",
        "ClearChargingProfile",
        "DataTransfer",
        "GetCompositeSchedule",
        "GetConfiguration",
        "GetDiagnostics",
        "GetLocalListVersion",
        "RemoteStartTransaction",
        "RemoteStopTransaction",
        "ReserveNow",
        "Reset",
        "SendLocalList",
        "SetChargingProfile",
        "TriggerMessage",
        "UnlockConnector",
        "UpdateFirmware",
        # The security extension (whitepaper sec. 5).
        "ExtendedTriggerMessage",
        "GetLog",
        "SignedUpdateFirmware",
        "CertificateSigned",
        "DeleteCertificate",
        "GetInstalledCertificateIds",
        "InstallCertificate",
    }
)
