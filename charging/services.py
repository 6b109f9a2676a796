"""Writes of the charging domain: authorization, transactions and meter values.

Called by the OCPP gateway with plain dataclasses; nothing here knows about OCPP-J frames.
Every function commits before it returns, so the charger is answered only after its data is
durable (DESIGN: "Data that must never be lost or doubled").
"""

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Value
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower

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
from common.db import batch_atomic, insert_rows, update_rows
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


@dataclass(frozen=True, slots=True)
class TagRequest:
    """An idTag presented at a charger (Authorize)."""

    charger_id: int
    id_tag: str


TokenKey = tuple[int, str]  # (organization id, idTag folded to lower case)


def _token_key(organization_id: int, id_tag: str) -> TokenKey:
    return (organization_id, id_tag.lower())


def _tokens(wanted: set[tuple[int, str]]) -> dict[TokenKey, IdToken]:
    """The IdTokens of many (organization, idTag) pairs in one query. idTag is case-insensitive
    (1.6 CiString): compared as LOWER() of both sides, in the database (whose LOWER decides, as
    for the unique index on (organization, LOWER(id_tag)) that serves the query)."""
    if not wanted:
        return {}
    found = IdToken.objects.alias(folded=Lower("id_tag")).filter(
        organization_id__in={organization_id for organization_id, _ in wanted},
        folded__in=_folded({id_tag for _, id_tag in wanted}),
    )
    return {_token_key(token.organization_id, token.id_tag): token for token in found}


def _folded(id_tags: set[str]):
    """LOWER() of each idTag, computed by the database. On PostgreSQL one array parameter (a
    Django expression per tag cost more to compile than the query took to run)."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT LOWER(tag) FROM unnest(%s::text[]) AS tag", (sorted(id_tags),))
    return [Lower(Value(id_tag)) for id_tag in id_tags]


def _active_sessions_of_tokens(token_ids: set[int]) -> dict[int, set]:
    """Per token, the sessions it has open (1.6 sec. 7.2 ConcurrentTx), by id."""
    active: dict[int, set] = {token_id: set() for token_id in token_ids}
    if token_ids:
        rows = ChargingSession.objects.filter(id_token_id__in=token_ids, state=SessionState.ACTIVE)
        for token_id, session_pk in rows.values_list("id_token_id", "pk"):
            active[token_id].add(session_pk)
    return active


def _tag_info(token: IdToken | None, active: dict[int, set], *, now: dt.datetime, exclude=None) -> IdTagInfo:
    """What the central system says about a token: its status, ConcurrentTx while it has a
    session open other than `exclude` (a retransmitted start asks about its own session)."""
    if token is None:
        return IdTagInfo(IdTokenStatus.INVALID)
    status = token.effective_status(now)
    if status == IdTokenStatus.ACCEPTED and active.get(token.pk, set()) - {exclude}:
        status = CONCURRENT_TX
    return IdTagInfo(status, token.expires_at, token.parent_id_tag)


def _organizations(charger_ids: set[int], *, lock: bool = False) -> dict[int, int]:
    """Organization id per charger; with `lock`, the chargers' rows locked in id order (so
    concurrent batches wait for each other instead of deadlocking)."""
    chargers = Charger.objects.filter(pk__in=charger_ids).order_by("pk")
    if lock:
        chargers = chargers.select_for_update(no_key=True, of=("self",))
    return dict(chargers.values_list("pk", "site__organization_id"))


def authorize_id_tags(requests: list[TagRequest], *, now: dt.datetime) -> list[IdTagInfo]:
    """Authorize many idTags, of one or many chargers, in three queries."""
    organizations = _organizations({request.charger_id for request in requests})
    wanted = {(organizations[r.charger_id], r.id_tag) for r in requests if r.charger_id in organizations}
    tokens = _tokens(wanted)
    active = _active_sessions_of_tokens({token.pk for token in tokens.values()})
    return [
        _tag_info(tokens.get(_token_key(organizations.get(r.charger_id, 0), r.id_tag)), active, now=now)
        for r in requests
    ]


def authorize_id_tag(*, charger_id: int, id_tag: str, now: dt.datetime) -> IdTagInfo:
    [info] = authorize_id_tags([TagRequest(charger_id, id_tag)], now=now)
    return info


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


@dataclass(frozen=True, slots=True)
class StartIn:
    """One StartTransaction of one charger."""

    charger_id: int
    start: StartTransactionIn
    received_at: dt.datetime


def start_transaction(*, charger_id: int, start: StartTransactionIn, received_at: dt.datetime) -> StartResult:
    [result] = start_transactions([StartIn(charger_id, start, received_at)])
    return result


# What identifies a retransmitted start (R2): the same connector, idTag, meterStart and time.
StartKey = tuple[int, int, str, int, dt.datetime]


def _start_key(charger_id: int, connector_pk: int, start: StartTransactionIn) -> StartKey:
    return (charger_id, connector_pk, start.id_tag, start.meter_start, start.timestamp)


@batch_atomic
def start_transactions(items: list[StartIn]) -> list[StartResult]:
    """Open sessions and issue their transaction ids, for many chargers in a handful of
    statements, each start decided as if alone and in the order given. A retransmitted start
    gets the same id and creates nothing (R2). A tag that is unknown, blocked or expired still
    gets a session and a real id: the charger may have authorized it offline (R3)."""
    organizations = _organizations({item.charger_id for item in items}, lock=True)
    connectors = _connector_pks({(item.charger_id, item.start.connector_id) for item in items})
    tokens = _tokens({(organizations[item.charger_id], item.start.id_tag) for item in items})
    active_of_token = _active_sessions_of_tokens({token.pk for token in tokens.values()})
    earlier = _earlier_starts(items, connectors)
    open_on_connector = _active_sessions_on(set(connectors.values()))

    results: list[tuple[ChargingSession, IdTagInfo]] = []
    created: list[ChargingSession] = []
    closed: list[ChargingSession] = []
    for item in items:
        start, received_at = item.start, item.received_at
        connector_pk = connectors[(item.charger_id, start.connector_id)]
        token = tokens.get(_token_key(organizations[item.charger_id], start.id_tag))
        key = _start_key(item.charger_id, connector_pk, start)
        if key in earlier:
            session = earlier[key]  # a retransmission (R2); if new in this batch, its id is issued below
            results.append((session, _tag_info(token, active_of_token, now=received_at, exclude=_ref(session))))
            continue
        id_tag_info = _tag_info(token, active_of_token, now=received_at)
        for abandoned in open_on_connector.pop(connector_pk, []):
            _close_abandoned(abandoned, superseded_at=start.timestamp, received_at=received_at)
            active_of_token.get(abandoned.id_token_id, set()).discard(_ref(abandoned))
            if abandoned.pk is not None:  # one started in this batch is inserted closed
                closed.append(abandoned)
        session = ChargingSession(
            charger_id=item.charger_id,
            connector_id=connector_pk,
            id_token=token,
            id_tag=start.id_tag,
            started_at=start.timestamp,
            start_received_at=received_at,
            meter_start_wh=start.meter_start,
        )
        _flag(session, *timestamp_concerns(start.timestamp, received_at))
        if id_tag_info.status != IdTokenStatus.ACCEPTED:
            _flag(session, f"started with idTag status {id_tag_info.status} (authorized by the charger)")
        created.append(session)
        earlier[key] = session
        open_on_connector[connector_pk] = [session]
        if token is not None:
            active_of_token.setdefault(token.pk, set()).add(_ref(session))
        results.append((session, id_tag_info))

    update_rows(closed, ABANDONED_FIELDS)  # first: one active session per connector
    _insert_sessions(created)
    new = {id(session) for session in created}
    for item, (session, _) in zip(items, results, strict=True):
        if item.start.reservation_id is not None and id(session) in new:
            consume_reservation(charger_id=item.charger_id, reservation_id=item.start.reservation_id, session=session)
    if created:
        started = [session.pk for session in created]
        transaction.on_commit(partial(_announce, session_started, started))
    return [StartResult(session.transaction_id, info) for session, info in results]


def _announce(signal, session_ids: list[int]) -> None:
    signal.send(sender=ChargingSession, session_ids=session_ids)


def _ref(session: ChargingSession):
    """How a session is told apart before it has an id (created in this batch)."""
    return session.pk if session.pk is not None else id(session)


def _connector_pks(wanted: set[tuple[int, int]]) -> dict[tuple[int, int], int]:
    """The ids of 1.6 connectors by (charger id, number), created when a charger reports one we
    did not know (rare)."""
    rows = Connector.objects.filter(charger_id__in={charger_id for charger_id, _ in wanted}, evse_id=None)
    found = {
        (charger_id, number): pk for charger_id, number, pk in rows.values_list("charger_id", "connector_id", "pk")
    }
    for charger_id, number in wanted - found.keys():
        found[(charger_id, number)] = connector_for(charger_id, number).pk
    return found


def _earlier_starts(items: list[StartIn], connectors: dict) -> dict[StartKey, ChargingSession]:
    """Sessions these starts could be retransmissions of, by their start key (R2)."""
    sessions = ChargingSession.objects.filter(
        charger_id__in={item.charger_id for item in items},
        started_at__in={item.start.timestamp for item in items},
    ).only("id", "charger_id", "connector_id", "id_tag", "meter_start_wh", "started_at", "transaction_id")
    wanted = {_start_key(i.charger_id, connectors[(i.charger_id, i.start.connector_id)], i.start) for i in items}
    found = {}
    for session in sessions.order_by("pk"):
        key = (session.charger_id, session.connector_id, session.id_tag, session.meter_start_wh, session.started_at)
        if key in wanted:
            found.setdefault(key, session)
    return found


def _active_sessions_on(connector_pks: set[int]) -> dict[int, list[ChargingSession]]:
    active: dict[int, list[ChargingSession]] = {}
    for session in ChargingSession.objects.filter(connector_id__in=connector_pks, state=SessionState.ACTIVE):
        active.setdefault(session.connector_id, []).append(session)
    return active


ABANDONED_FIELDS = ["state", "stopped_at", "stop_received_at", "stop_reason", "needs_review", "review_notes"]


def _close_abandoned(session: ChargingSession, *, superseded_at: dt.datetime, received_at: dt.datetime) -> None:
    """A new start on a connector that still has an active session means its stop was lost."""
    session.state = SessionState.COMPLETED
    session.stopped_at = max(superseded_at, session.started_at)
    session.stop_received_at = received_at
    session.stop_reason = "Other"
    _flag(session, "closed by the CSMS: a new StartTransaction arrived on this connector without a stop")


def _insert_sessions(sessions: list[ChargingSession]) -> None:
    """Issue the transaction ids (one allocation row each) and insert the sessions, ids returned."""
    if not sessions:
        return
    allocations = TransactionIdAllocation.objects.bulk_create([TransactionIdAllocation() for _ in sessions])
    for session, allocation in zip(sessions, allocations, strict=True):
        session.transaction_id = allocation.pk
    ChargingSession.objects.bulk_create(sessions)


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


@batch_atomic
def record_meter_values_batch(items: list[MeterValuesIn]) -> None:
    """Many MeterValues messages, of one or many chargers, in a handful of statements: the
    connectors and sessions they name are read at once (sessions locked, so a concurrent
    StopTransaction is not overwritten), every sample is inserted in one bulk insert, and
    the sessions' readings are updated in one statement, in the order given."""
    connectors = _connector_pks({(item.charger_id, item.connector_id) for item in items if item.connector_id > 0})
    sessions = _locked_sessions(
        {(item.charger_id, item.transaction_id) for item in items if item.transaction_id is not None},
        "id",
        "charger_id",
        "transaction_id",
        "state",
        "meter_start_wh",
        *SESSION_READINGS,
    )
    rows, touched = [], {}
    for item in items:
        connector_pk = connectors[(item.charger_id, item.connector_id)] if item.connector_id > 0 else None
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


def _locked_sessions(named: set[tuple[int, int]], *fields: str) -> dict[tuple[int, int], ChargingSession]:
    """The sessions with these (charger id, transaction id), locked in id order (a MeterValues
    batch and a stop of the same session wait for each other); `fields` to load only those."""
    if not named:
        return {}
    candidates = ChargingSession.objects.select_for_update(no_key=True).filter(
        charger_id__in={charger_id for charger_id, _ in named},
        transaction_id__in={transaction_id for _, transaction_id in named},
    )
    if fields:
        candidates = candidates.only(*fields)
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


@dataclass(frozen=True, slots=True)
class StopIn:
    """One StopTransaction of one charger."""

    charger_id: int
    stop: StopTransactionIn
    received_at: dt.datetime


def stop_transaction(*, charger_id: int, stop: StopTransactionIn, received_at: dt.datetime) -> IdTagInfo | None:
    [info] = stop_transactions([StopIn(charger_id, stop, received_at)])
    return info


STOP_FIELDS = [
    "state",
    "stopped_at",
    "stop_received_at",
    "meter_stop_wh",
    "stop_reason",
    "stop_id_tag",
    "energy_wh",
    "needs_review",
    "review_notes",
]


@batch_atomic
def stop_transactions(items: list[StopIn]) -> list[IdTagInfo | None]:
    """Close sessions, each once (R6), for many chargers in a handful of statements, in the
    order given. A stop for a transaction its charger does not have is kept for review and
    acknowledged as if valid (1.6 errata 3.18, R5, R7). Energy and duration come from the
    charger's own readings and times; negative energy is never recorded (R11)."""
    organizations = _organizations({item.charger_id for item in items}, lock=True)
    sessions = _locked_sessions({(item.charger_id, item.stop.transaction_id) for item in items})
    tokens = _tokens({(organizations[item.charger_id], item.stop.id_tag) for item in items if item.stop.id_tag})
    active_of_token = _active_sessions_of_tokens({token.pk for token in tokens.values()})
    closed: dict[int, ChargingSession] = {}
    unmatched: list[StopIn] = []
    readings: list[MeterValue] = []
    results = []
    for item in items:
        stop = item.stop
        session = sessions.get((item.charger_id, stop.transaction_id))
        if session is None:
            unmatched.append(item)
        elif session.state == SessionState.COMPLETED:
            logger.info("duplicate StopTransaction (charger %s, tx %s)", item.charger_id, stop.transaction_id)
        else:
            _close(session, stop, item.received_at)
            active_of_token.get(session.id_token_id, set()).discard(session.pk)
            closed[session.pk] = session
            readings += _meter_value_rows(
                item.charger_id, session.connector_id, session.pk, stop.transaction_data, item.received_at
            )
        token = tokens.get(_token_key(organizations[item.charger_id], stop.id_tag)) if stop.id_tag else None
        results.append(_tag_info(token, active_of_token, now=item.received_at) if stop.id_tag else None)
    insert_rows(readings)
    update_rows(list(closed.values()), STOP_FIELDS)
    _keep_unmatched_stops(unmatched)
    if closed:
        transaction.on_commit(partial(_announce, session_completed, list(closed)))
    return results


def _close(session: ChargingSession, stop: StopTransactionIn, received_at: dt.datetime) -> None:
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


def _keep_unmatched_stops(items: list[StopIn]) -> None:
    for item in items:
        stop = item.stop
        charger = _charger(item.charger_id)
        if stop.transaction_id > 0:
            _report_foreign_transaction(charger, stop.transaction_id, "StopTransaction", charger.charge_point_id)
        UnmatchedStop.objects.create(
            charger=charger,
            transaction_id=stop.transaction_id,
            id_tag=stop.id_tag,
            stopped_at=stop.timestamp,
            received_at=item.received_at,
            meter_stop_wh=stop.meter_stop,
            reason=stop.reason,
            transaction_data=stop.raw_transaction_data,
            note="no transaction with this id on this charger",
        )
