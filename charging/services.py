"""Writes of the charging domain: authorization, transactions and meter values.

Called by the OCPP gateway with plain dataclasses; nothing here knows about OCPP-J frames.
Every function commits before it returns, so the charger is answered only after its data is
durable (DESIGN: "Data that must never be lost or doubled").
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction

from charging.models import (
    ChargingSession,
    IdToken,
    IdTokenStatus,
    MeterValue,
    SessionState,
    TransactionIdAllocation,
    UnmatchedStop,
)
from charging.reservations import consume_reservation
from charging.signals import session_completed, session_started
from csms.db import insert_rows, update_rows
from sites.models import Charger, Connector
from sites.services import connector_for, record_security_event

logger = logging.getLogger(__name__)

CONCURRENT_TX = "ConcurrentTx"
ENERGY_REGISTER = "Energy.Active.Import.Register"
ACTIVE_POWER = "Power.Active.Import"
EARLIEST_PLAUSIBLE_TIME = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)


# --- Inputs and results -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class IdTagInfo:
    status: str
    expiry_date: dt.datetime | None = None
    parent_id_tag: str = ""


@dataclass(frozen=True, slots=True)
class SampledValueIn:
    """1.6 SampledValue with the spec's defaults (sec. 7.43)."""

    value: str
    measurand: str = ENERGY_REGISTER
    unit: str = "Wh"
    context: str = "Sample.Periodic"
    phase: str = ""
    location: str = ""
    format: str = "Raw"


@dataclass(frozen=True, slots=True)
class MeterValueIn:
    timestamp: dt.datetime
    sampled_values: list[SampledValueIn]


@dataclass(frozen=True, slots=True)
class StartTransactionIn:
    connector_id: int
    id_tag: str
    meter_start: int
    timestamp: dt.datetime
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True)
class StartResult:
    transaction_id: int
    id_tag_info: IdTagInfo


@dataclass(frozen=True, slots=True)
class StopTransactionIn:
    transaction_id: int
    meter_stop: int
    timestamp: dt.datetime
    id_tag: str = ""
    reason: str = ""
    transaction_data: list[MeterValueIn] = field(default_factory=list)
    raw_transaction_data: list = field(default_factory=list)


# --- Authorization --------------------------------------------------------------------------


def _token(organization_id: int, id_tag: str) -> IdToken | None:
    return IdToken.objects.filter(organization_id=organization_id, id_tag__iexact=id_tag).first()


def _id_tag_info(token: IdToken | None, *, now: dt.datetime, exclude_session: int | None = None) -> IdTagInfo:
    if token is None:
        return IdTagInfo(IdTokenStatus.INVALID)
    status = token.effective_status(now)
    if status == IdTokenStatus.ACCEPTED:
        # One transaction at a time per token (1.6 sec. 7.2 ConcurrentTx).
        busy = ChargingSession.objects.filter(id_token=token, state=SessionState.ACTIVE)
        if exclude_session is not None:
            busy = busy.exclude(pk=exclude_session)
        if busy.exists():
            status = CONCURRENT_TX
    return IdTagInfo(status, token.expires_at, token.parent_id_tag)


def _organization_id(charger_id: int) -> int:
    return Charger.objects.values_list("site__organization_id", flat=True).get(pk=charger_id)


def authorize_id_tag(*, charger_id: int, id_tag: str, now: dt.datetime) -> IdTagInfo:
    return _id_tag_info(_token(_organization_id(charger_id), id_tag), now=now)


# --- Checks on what chargers send -------------------------------------------------------


def timestamp_concerns(timestamp: dt.datetime, received_at: dt.datetime) -> list[str]:
    """Why a charger timestamp looks wrong (R10); the value is stored as sent regardless."""
    concerns = []
    if timestamp > received_at + dt.timedelta(seconds=settings.OCPP_CLOCK_SKEW_TOLERANCE):
        concerns.append(f"timestamp {timestamp.isoformat()} is in the future")
    if timestamp < EARLIEST_PLAUSIBLE_TIME:
        concerns.append(f"timestamp {timestamp.isoformat()} is implausibly old (charger clock not set?)")
    return concerns


def _flag(session: ChargingSession, *notes: str) -> None:
    if not notes:
        return
    session.needs_review = True
    session.review_notes = "\n".join(filter(None, [session.review_notes, *notes]))


def to_wh(value: Decimal, unit: str) -> Decimal:
    """An energy reading in Wh (1.6 UnitOfMeasure: Wh or kWh)."""
    return value * 1000 if unit == "kWh" else value


def _to_w(value: Decimal, unit: str) -> Decimal:
    return value * 1000 if unit == "kW" else value


# Readings at or beyond this are not stored as numbers (kept as sent in raw_value, flagged):
# MeterValue.value holds less than 10^16, and 10^15 kWh in Wh still fits a 64-bit energy_wh.
MAX_READING = Decimal(10**15)


def _numeric(raw: str) -> Decimal | None:
    try:
        number = Decimal(raw)
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() and abs(number) < MAX_READING else None


# --- Transactions ---------------------------------------------------------------------------


@transaction.atomic
def start_transaction(*, charger_id: int, start: StartTransactionIn, received_at: dt.datetime) -> StartResult:
    """Open a session and issue its transaction id. A retransmitted start (same connector,
    idTag, meterStart and timestamp) gets the same id and creates nothing (R2). A tag that is
    unknown, blocked or expired still gets a session and a real id: the charger may have
    authorized it offline (R3)."""
    charger = Charger.objects.select_for_update(no_key=True, of=("self",)).select_related("site").get(pk=charger_id)
    connector = connector_for(charger, start.connector_id)
    token = _token(charger.site.organization_id, start.id_tag)

    existing = ChargingSession.objects.filter(
        charger=charger,
        connector=connector,
        id_tag=start.id_tag,
        meter_start_wh=start.meter_start,
        started_at=start.timestamp,
    ).first()
    if existing is not None:
        return StartResult(existing.transaction_id, _id_tag_info(token, now=received_at, exclude_session=existing.pk))

    id_tag_info = _id_tag_info(token, now=received_at)
    _close_abandoned_session(connector, superseded_at=start.timestamp, received_at=received_at)
    session = ChargingSession(
        charger=charger,
        connector=connector,
        id_token=token,
        id_tag=start.id_tag,
        transaction_id=TransactionIdAllocation.objects.create().pk,
        started_at=start.timestamp,
        start_received_at=received_at,
        meter_start_wh=start.meter_start,
    )
    _flag(session, *timestamp_concerns(start.timestamp, received_at))
    if id_tag_info.status != IdTokenStatus.ACCEPTED:
        _flag(session, f"started with idTag status {id_tag_info.status} (authorized by the charger)")
    session.save()
    if start.reservation_id is not None:
        consume_reservation(charger_id=charger.pk, reservation_id=start.reservation_id, session=session)
    transaction.on_commit(lambda: session_started.send(sender=ChargingSession, session_id=session.pk))
    return StartResult(session.transaction_id, id_tag_info)


def _close_abandoned_session(connector: Connector, *, superseded_at: dt.datetime, received_at: dt.datetime) -> None:
    """A new start on a connector that still has an active session means its stop was lost."""
    for session in ChargingSession.objects.filter(connector=connector, state=SessionState.ACTIVE):
        session.state = SessionState.COMPLETED
        session.stopped_at = max(superseded_at, session.started_at)
        session.stop_received_at = received_at
        session.stop_reason = "Other"
        _flag(session, "closed by the CSMS: a new StartTransaction arrived on this connector without a stop")
        session.save()


@dataclass(frozen=True, slots=True)
class MeterValuesIn:
    charger_id: int
    connector_id: int
    transaction_id: int | None
    meter_values: list[MeterValueIn]
    received_at: dt.datetime
    charge_point_id: str = ""


def record_meter_values(
    *,
    charger_id: int,
    connector_id: int,
    transaction_id: int | None,
    meter_values: list[MeterValueIn],
    received_at: dt.datetime,
    charge_point_id: str = "",
) -> None:
    """Store every sampled value as sent. Values of an unknown transaction or that are not
    numbers are stored and flagged, never refused (R8); a register going backwards marks the
    session for review (R11)."""
    record_meter_values_batch(
        [MeterValuesIn(charger_id, connector_id, transaction_id, meter_values, received_at, charge_point_id)]
    )


@transaction.atomic
def record_meter_values_batch(items: list[MeterValuesIn]) -> None:
    """Many MeterValues messages, of one or many chargers, in a handful of statements: the
    connectors and sessions they name are read at once (sessions locked, so a concurrent
    StopTransaction is not overwritten), every sample is inserted in one bulk insert, and
    the sessions' readings are updated in one statement, in the order given."""
    charger_ids = {item.charger_id for item in items}
    connectors = _connector_ids(charger_ids)
    sessions = _sessions_named(items)
    rows, touched = [], {}
    for item in items:
        connector_pk = None
        if item.connector_id > 0:
            key = (item.charger_id, item.connector_id)
            if key not in connectors:  # a connector we did not know: rare
                connectors[key] = connector_for(_charger(item.charger_id), item.connector_id).pk
            connector_pk = connectors[key]
        session, flag = None, ""
        if item.transaction_id is not None:
            session = sessions.get((item.charger_id, item.transaction_id))
            if session is None:
                flag = f"unknown transaction {item.transaction_id}"
                charger = _charger(item.charger_id)
                _report_foreign_transaction(charger, item.transaction_id, "MeterValues", item.charge_point_id)
        session_pk = session.pk if session is not None else None
        rows += _meter_value_rows(item.charger_id, connector_pk, session_pk, item.meter_values, item.received_at, flag)
        if session is not None and session.state == SessionState.ACTIVE:
            _update_session_readings(session, item.meter_values)
            touched[session.pk] = session
    insert_rows(rows)
    update_rows(list(touched.values()), SESSION_READINGS)


SESSION_READINGS = ["energy_wh", "last_power_w", "needs_review", "review_notes"]


def _charger(charger_id: int) -> Charger:
    return Charger.objects.get(pk=charger_id)


def _connector_ids(charger_ids: set[int]) -> dict[tuple[int, int], int]:
    rows = Connector.objects.filter(charger_id__in=charger_ids, evse_id=None).values_list(
        "charger_id", "connector_id", "pk"
    )
    return {(charger_id, number): pk for charger_id, number, pk in rows}


def _sessions_named(items: list[MeterValuesIn]) -> dict[tuple[int, int], ChargingSession]:
    named = {(item.charger_id, item.transaction_id) for item in items if item.transaction_id is not None}
    if not named:
        return {}
    candidates = (
        ChargingSession.objects.select_for_update(no_key=True)
        .filter(
            charger_id__in={charger_id for charger_id, _ in named},
            transaction_id__in={transaction_id for _, transaction_id in named},
        )
        .only("id", "charger_id", "transaction_id", "state", "meter_start_wh", *SESSION_READINGS)
    )
    return {
        (s.charger_id, s.transaction_id): s
        for s in candidates.order_by("pk")
        if (s.charger_id, s.transaction_id) in named
    }


def _meter_value_rows(
    charger_id: int,
    connector_pk: int | None,
    session_pk: int | None,
    meter_values: list[MeterValueIn],
    received_at: dt.datetime,
    flag: str = "",
) -> list[MeterValue]:
    rows = []
    for meter_value in meter_values:
        for sampled in meter_value.sampled_values:
            number = _numeric(sampled.value)
            sample_flag = flag
            if number is None and sampled.format != "SignedData":
                sample_flag = "; ".join(filter(None, [flag, "value is not a number"]))
            rows.append(
                MeterValue(
                    session_id=session_pk,
                    charger_id=charger_id,
                    connector_id=connector_pk,
                    timestamp=meter_value.timestamp,
                    received_at=received_at,
                    measurand=sampled.measurand,
                    phase=sampled.phase,
                    unit=sampled.unit,
                    context=sampled.context,
                    location=sampled.location,
                    value=number,
                    raw_value=sampled.value,
                    flag=sample_flag,
                )
            )
    return rows


def _update_session_readings(session: ChargingSession, meter_values: list[MeterValueIn]) -> None:
    for meter_value in sorted(meter_values, key=lambda m: m.timestamp):
        for sampled in meter_value.sampled_values:
            number = _numeric(sampled.value)
            if number is None or sampled.phase:
                continue
            if sampled.measurand == ENERGY_REGISTER:
                energy = int(to_wh(number, sampled.unit)) - session.meter_start_wh
                if energy < session.energy_wh:
                    _flag(session, f"energy register went backwards at {meter_value.timestamp.isoformat()}")
                else:
                    session.energy_wh = energy
            elif sampled.measurand == ACTIVE_POWER:
                session.last_power_w = _to_w(number, sampled.unit)


def _report_foreign_transaction(charger: Charger, transaction_id: int, action: str, charge_point_id: str) -> None:
    """A charger quoting a transaction id that belongs to another charger (R7)."""
    owner = (
        ChargingSession.objects.filter(transaction_id=transaction_id)
        .exclude(charger=charger)
        .values_list("charger__charge_point_id", flat=True)
        .first()
    )
    if owner is not None:
        record_security_event(
            charger_id=charger.pk,
            charge_point_id=charge_point_id or charger.charge_point_id,
            kind="ForeignTransactionId",
            detail={"action": action, "transactionId": transaction_id, "owner": owner},
        )


@transaction.atomic
def stop_transaction(*, charger_id: int, stop: StopTransactionIn, received_at: dt.datetime) -> IdTagInfo | None:
    """Close the session once (R6). A stop for a transaction this charger does not have is
    kept for review and acknowledged as if valid (1.6 errata 3.18, R5, R7). Energy and
    duration come from the charger's own readings and times; negative energy is never
    recorded (R11)."""
    charger = Charger.objects.select_for_update(no_key=True, of=("self",)).select_related("site").get(pk=charger_id)
    id_tag_info = (
        _id_tag_info(_token(charger.site.organization_id, stop.id_tag), now=received_at) if stop.id_tag else None
    )
    session = ChargingSession.objects.filter(charger=charger, transaction_id=stop.transaction_id).first()
    if session is None:
        _keep_unmatched_stop(charger, stop, received_at)
        return id_tag_info
    if session.state == SessionState.COMPLETED:
        logger.info("duplicate StopTransaction for %s tx %s acknowledged", charger, stop.transaction_id)
        return id_tag_info

    session.state = SessionState.COMPLETED
    session.stopped_at, session.stop_received_at = stop.timestamp, received_at
    session.meter_stop_wh = stop.meter_stop
    # 1.6 sec. 6.52: reason "Local" may be omitted.
    session.stop_reason = stop.reason or "Local"
    session.stop_id_tag = stop.id_tag
    _flag(session, *timestamp_concerns(stop.timestamp, received_at))
    if stop.timestamp < session.started_at:
        _flag(session, "stop time is before start time")
    energy = stop.meter_stop - session.meter_start_wh
    if energy < 0:
        _flag(session, f"meterStop {stop.meter_stop} is below meterStart {session.meter_start_wh}")
    session.energy_wh = max(energy, 0)
    MeterValue.objects.bulk_create(
        _meter_value_rows(charger.pk, session.connector_id, session.pk, stop.transaction_data, received_at)
    )
    session.save()
    transaction.on_commit(lambda: session_completed.send(sender=ChargingSession, session_id=session.pk))
    return id_tag_info


def _keep_unmatched_stop(charger: Charger, stop: StopTransactionIn, received_at: dt.datetime) -> None:
    if stop.transaction_id > 0:
        _report_foreign_transaction(charger, stop.transaction_id, "StopTransaction", charger.charge_point_id)
    UnmatchedStop.objects.create(
        charger=charger,
        transaction_id=stop.transaction_id,
        id_tag=stop.id_tag,
        stopped_at=stop.timestamp,
        received_at=received_at,
        meter_stop_wh=stop.meter_stop,
        reason=stop.reason,
        transaction_data=stop.raw_transaction_data,
        note="no transaction with this id on this charger",
    )
