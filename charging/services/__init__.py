"""Writes of the charging domain, version-neutral: id-token decisions (`authorization`),
sessions opened and closed (`sessions`) or reported event by event (`transaction_events`), and
meter readings (`meter_values`). Called by the OCPP gateway's per-version adapters with plain
dataclasses; nothing here knows a wire format."""

from charging.services.authorization import (
    CONCURRENT_TX,
    NOT_AT_THIS_LOCATION,
    TokenCheck,
    TokenDecision,
    authorize_token,
    authorize_tokens,
)
from charging.services.meter_values import (
    MeterReading,
    MeterReport,
    MeterSnapshot,
    record_meter_report,
    record_meter_reports,
)
from charging.services.sessions import (
    SessionOpened,
    SessionStart,
    SessionStop,
    close_session,
    close_sessions,
    open_session,
    open_sessions,
)
from charging.services.shared import TransactionRef, timestamp_concerns
from charging.services.transaction_events import (
    TransactionEventIn,
    TransactionEventOutcome,
    record_transaction_event,
    record_transaction_events,
)

__all__ = [
    "CONCURRENT_TX",
    "NOT_AT_THIS_LOCATION",
    "MeterReading",
    "MeterReport",
    "MeterSnapshot",
    "SessionOpened",
    "SessionStart",
    "SessionStop",
    "TokenCheck",
    "TokenDecision",
    "TransactionEventIn",
    "TransactionEventOutcome",
    "TransactionRef",
    "authorize_token",
    "authorize_tokens",
    "close_session",
    "close_sessions",
    "open_session",
    "open_sessions",
    "record_meter_report",
    "record_meter_reports",
    "record_transaction_event",
    "record_transaction_events",
    "timestamp_concerns",
]
