"""OCPP 2.0.1 station-initiated messages (2.0.1 edition 3, part 2): each handler maps the
validated payload to the domain's neutral dataclasses, calls one domain service through the
async->sync seam, and maps the result back. No ORM here; the 1.6 handlers are the model."""

import datetime as dt

from ocpp_gateway.connection import Connection, Handler
from ocpp_gateway.registration import register
from ocpp_gateway.seam import LIVENESS, STATUS_NOTIFICATIONS
from ocpp_gateway.timestamps import ocpp_time, parse_timestamp
from ocpp_gateway.v201 import reports, transaction_handlers
from sites.services import (
    BootInfo,
    Liveness,
    StatusNotificationIn,
    StatusReport,
)

# 2.0.1 has no connector error codes: a fault is the Faulted status, its detail in NotifyEvent.
NO_ERROR = "NoError"


def boot_info(payload: dict) -> BootInfo:
    """BootNotificationRequest (B01): the station and its modem, and why it booted (B01.FR.09)."""
    station = payload["chargingStation"]
    modem = station.get("modem", {})
    return BootInfo(
        vendor=station["vendorName"],
        model=station["model"],
        serial_number=station.get("serialNumber", ""),
        firmware_version=station.get("firmwareVersion", ""),
        reason=payload["reason"],
        iccid=modem.get("iccid", ""),
        imsi=modem.get("imsi", ""),
    )


async def boot_notification(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    decision = await register(conn, boot_info(payload), received_at)
    # B01.FR.04: Accepted with interval > 0 sets the heartbeat interval; otherwise the interval
    # is when to send BootNotification again (B02.FR.08, B03.FR.06).
    return {"status": decision.status, "currentTime": ocpp_time(received_at), "interval": decision.interval}


async def heartbeat(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    # G02: the answer carries only our clock; written with the next batch, not awaited (R9).
    LIVENESS.submit_nowait(Liveness(conn.registered_id, conn.connection_id, received_at, heartbeat=True))
    return {"currentTime": ocpp_time(received_at)}


async def status_notification(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """G01: the status of one connector of one EVSE (connectors count from 1 within their EVSE)."""
    report = StatusReport(
        evse_id=payload["evseId"],
        connector_id=payload["connectorId"],
        status=payload["connectorStatus"],
        error_code=NO_ERROR,
        timestamp=parse_timestamp(payload["timestamp"]),
    )
    STATUS_NOTIFICATIONS.submit_nowait(StatusNotificationIn(conn.registered_id, report, received_at))
    return {}


HANDLERS: dict[str, Handler] = {
    "BootNotification": boot_notification,
    "Heartbeat": heartbeat,
    "StatusNotification": status_notification,
    # Transactions (C01, E, J01): ocpp_gateway/v201/transaction_handlers.py
    "Authorize": transaction_handlers.authorize,
    "TransactionEvent": transaction_handlers.transaction_event,
    "MeterValues": transaction_handlers.meter_values,
    # The device model and the station's notifications (B07/B08, N02, N07, A04, L01, N01, P02, H04, K, N09).
    **reports.HANDLERS,
}
