"""Meter readings: every value a charger reports is stored as sent; those of an open session
also update its energy and power. Values of an unknown transaction or that are not numbers are
stored and flagged, never refused (R8); a register going backwards marks the session (R11)."""

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import partial

from django.db import transaction

from charging.measurands import (
    ACTIVE_POWER,
    DEFAULT_CONTEXT,
    DEFAULT_MEASURAND,
    DEFAULT_UNIT,
    ENERGY_REGISTER,
    to_w,
    to_wh,
)
from charging.models import ChargingSession, MeterValue, SessionState
from charging.services.shared import (
    ConnectorKey,
    TransactionRef,
    charger,
    connector_pks,
    flag,
    locked_sessions,
    report_foreign_transaction,
)
from charging.signals import SessionReadings, session_metered
from common.db import batch_atomic, insert_rows, update_rows


@dataclass(frozen=True, slots=True)
class MeterReading:
    """One value read from a meter, as sent (a string: it may not be a number), with what it
    measures. The defaults are those both OCPP versions give an omitted field."""

    value: str
    measurand: str = DEFAULT_MEASURAND
    unit: str = DEFAULT_UNIT
    context: str = DEFAULT_CONTEXT
    phase: str = ""
    location: str = ""
    # Signed meter data is an opaque blob, not a number, and not a fault.
    signed: bool = False


@dataclass(frozen=True, slots=True)
class MeterSnapshot:
    """The readings a meter took at one moment (the charger's time)."""

    timestamp: dt.datetime
    readings: list[MeterReading]


@dataclass(frozen=True, slots=True)
class MeterReport:
    """Readings a charger reports on its own, outside a session's opening and closing: of a
    connector (number 0 without EVSE: the charger's main meter) and, optionally, a transaction."""

    charger_id: int
    connector_id: int
    transaction_id: TransactionRef | None
    snapshots: list[MeterSnapshot]
    received_at: dt.datetime
    charge_point_id: str = ""
    evse_id: int | None = None
    # How the charger's message is named in the security log (R7).
    message: str = "meter values"


# Readings at or beyond this are not stored as numbers (kept as sent in raw_value, flagged):
# MeterValue.value holds less than 10^16, and 10^15 kWh in Wh still fits a 64-bit energy_wh.
MAX_READING = Decimal(10**15)


def numeric(raw: str) -> Decimal | None:
    """The reading as a storable number, or None."""
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and abs(number) < MAX_READING else None


SESSION_READINGS = ["energy_wh", "last_power_w", "needs_review", "review_notes"]


def record_meter_report(*, report: MeterReport) -> None:
    """Store one charger's report of readings (see `record_meter_reports`)."""
    record_meter_reports([report])


def _connector_key(report: MeterReport) -> ConnectorKey | None:
    """The connector the report names; None for the charger's main meter (connector 0)."""
    if report.connector_id > 0 or report.evse_id is not None:
        return (report.charger_id, report.evse_id, report.connector_id)
    return None


@batch_atomic
def record_meter_reports(items: list[MeterReport]) -> None:
    """Many reports, of one or many chargers, in a handful of statements: the connectors and
    sessions they name are read at once (sessions locked, so a concurrent close is not
    overwritten), every reading is inserted in one bulk insert, and the sessions' readings are
    updated in one statement, in the order given."""
    connector_keys = [_connector_key(item) for item in items]
    connectors = connector_pks({key for key in connector_keys if key is not None})
    sessions = locked_sessions(
        {(item.charger_id, item.transaction_id) for item in items if item.transaction_id is not None},
        "id",
        "charger_id",
        "transaction_id",
        "transaction_uid",
        "state",
        "meter_start_wh",
        *SESSION_READINGS,
    )
    rows, touched = [], {}
    for item, connector_key in zip(items, connector_keys, strict=True):
        connector_pk = connectors[connector_key] if connector_key is not None else None
        session, note = None, ""
        if item.transaction_id is not None:
            session = sessions.get((item.charger_id, item.transaction_id))
            if session is None:
                note = f"unknown transaction {item.transaction_id}"
                report_foreign_transaction(
                    charger(item.charger_id), item.transaction_id, item.message, item.charge_point_id
                )
        session_pk = session.pk if session is not None else None
        rows += meter_value_rows(item.charger_id, connector_pk, session_pk, item.snapshots, item.received_at, note)
        if session is not None and session.state == SessionState.ACTIVE:
            update_session_readings(session, item.snapshots)
            touched[session.pk] = session
    insert_rows(rows)
    update_rows(list(touched.values()), SESSION_READINGS)
    if touched:
        announce_metered(list(touched.values()), items[-1].received_at)


def announce_metered(sessions: list[ChargingSession], received_at: dt.datetime) -> None:
    """Tell the other apps (outbound session.updated events) the sessions' readings as this batch
    (received by `received_at`) left them, once committed: one signal for the batch. Nothing is
    built when no app listens (outbound events off)."""
    if not session_metered.has_listeners(ChargingSession):
        return
    readings = [
        SessionReadings(
            session.pk, session.energy_wh, float(session.last_power_w) if session.last_power_w is not None else None,
            received_at,
        )
        for session in sessions
    ]  # fmt: skip
    transaction.on_commit(partial(session_metered.send, sender=ChargingSession, readings=readings))


def meter_value_rows(
    charger_id: int,
    connector_pk: int | None,
    session_pk: int | None,
    snapshots: list[MeterSnapshot],
    received_at: dt.datetime,
    note: str = "",
) -> list[MeterValue]:
    """One row per reading, kept as sent; flagged with `note` and when not a number."""
    rows = []
    for snapshot in snapshots:
        for reading in snapshot.readings:
            number = numeric(reading.value)
            reading_flag = note
            if number is None and not reading.signed:
                reading_flag = "; ".join(filter(None, [note, "value is not a number"]))
            rows.append(
                MeterValue(
                    session_id=session_pk,
                    charger_id=charger_id,
                    connector_id=connector_pk,
                    timestamp=snapshot.timestamp,
                    received_at=received_at,
                    measurand=reading.measurand,
                    phase=reading.phase,
                    unit=reading.unit,
                    context=reading.context,
                    location=reading.location,
                    value=number,
                    raw_value=reading.value,
                    flag=reading_flag,
                )
            )
    return rows


def update_session_readings(session: ChargingSession, snapshots: list[MeterSnapshot]) -> None:
    """The session's energy (from the register total, never going back: R11) and last power,
    in the charger's time order."""
    for snapshot in sorted(snapshots, key=lambda s: s.timestamp):
        for reading in snapshot.readings:
            number = numeric(reading.value)
            if number is None or reading.phase:
                continue
            if reading.measurand == ENERGY_REGISTER:
                energy = int(to_wh(number, reading.unit)) - session.meter_start_wh
                if energy < session.energy_wh:
                    flag(session, f"energy register went backwards at {snapshot.timestamp.isoformat()}")
                else:
                    session.energy_wh = energy
            elif reading.measurand == ACTIVE_POWER:
                session.last_power_w = to_w(number, reading.unit)
