"""OCPP 2.0.1 transaction handlers (part 2: C01 Authorize, E TransactionEvent, J01 MeterValues):
each maps the validated payload with `v201.transactions`, calls one domain service through the
seam and maps the result back. No ORM here. Listed in `v201.handlers.HANDLERS`."""

import datetime as dt

from ocpp_gateway.connection import Connection
from ocpp_gateway.seam import AUTHORIZATIONS, METER_VALUES, TRANSACTION_EVENTS
from ocpp_gateway.v201 import transactions as v201


async def authorize(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """C01: read-only, answered from a batched lookup without waiting for a commit."""
    decision = await AUTHORIZATIONS.get(v201.token_check(conn.registered_id, payload))
    return {"idTokenInfo": v201.id_token_info(decision)}


async def transaction_event(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """E01-E12: committed before the answer (a station resends what is not answered, E13), and
    applied once per (station, transactionId, seqNo) (ACCEPTANCE R25)."""
    outcome = await TRANSACTION_EVENTS.submit(v201.transaction_event(conn.registered_id, payload, received_at))
    return v201.transaction_event_reply(outcome)


async def meter_values(conn: Connection, payload: dict, received_at: dt.datetime) -> dict:
    """J01: always answered (J01.FR.18); values that are not usable are kept and flagged (R8)."""
    await METER_VALUES.submit(v201.meter_report(conn.registered_id, conn.charge_point_id, payload, received_at))
    return {}
