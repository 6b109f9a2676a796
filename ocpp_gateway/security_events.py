"""SecurityEventNotification, the same message in the 1.6 security extension (whitepaper sec.
5.15, use case A04) and in 2.0.1 (A04): `type`, the charger's `timestamp`, an optional
`techInfo`. One handler for both versions' tables."""

import datetime as dt
from functools import partial

from ocpp_gateway.connection import Connection
from ocpp_gateway.seam import TRANSACTIONS
from ocpp_gateway.timestamps import parse_timestamp
from sites.security_events import ReportedSecurityEvent, record_reported_security_event


def reported_security_event(
    charger_id: int, charge_point_id: str, payload: dict, received_at: dt.datetime
) -> ReportedSecurityEvent:
    return ReportedSecurityEvent(
        charger_id=charger_id,
        charge_point_id=charge_point_id,
        kind=payload["type"],
        occurred_at=parse_timestamp(payload["timestamp"]),
        received_at=received_at,
        tech_info=payload.get("techInfo", ""),
    )


async def security_event_notification(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """Stored append-only with the charger's time and ours, merged when sent again; always
    confirmed with the empty response (2.0.1 A04.FR.03; the whitepaper's
    SecurityEventNotification.conf has no fields)."""
    event = reported_security_event(conn.registered_id, conn.charge_point_id, payload, received_at)
    await TRANSACTIONS.submit(partial(record_reported_security_event, event))
    return {}
