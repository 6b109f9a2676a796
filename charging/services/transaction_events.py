"""Transactions a charger names itself and reports event by event: a first event, events in
between, a last event, each with a sequence number the charger counts up. They are applied to
the same ChargingSession as sessions opened and closed in one message each (`sessions`), so
billing, exports and dashboards read both alike; nothing here knows a wire format.

Exactly once (ACCEPTANCE R2, R25): every event is kept once per (charger, transaction, sequence
number) in TransactionEventRecord; an event sent again is answered as the first time and changes
nothing. Events the charger queued while offline may come in any order: an event older than the
newest one applied does not overwrite the session's current readings (its meter values are kept
regardless); a last event without a first one still yields a complete session; a first event
after the last one never reopens the session. Sequence numbers missing at the end of a
transaction mark the session for review."""

import datetime as dt
import logging
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Max, Q

from charging.measurands import ENERGY_REGISTER, to_wh
from charging.models import (
    ChargingSession,
    IdTokenStatus,
    SessionState,
    TransactionEventKind,
    TransactionEventRecord,
)
from charging.pricing import total_cost_now
from charging.reservations import consume_reservation
from charging.services.authorization import (
    TokenDecision,
    Where,
    active_sessions_of_tokens,
    decide,
    organizations_of,
    places_of,
    token_key,
    tokens_of,
)
from charging.services.meter_values import (
    MeterSnapshot,
    announce_metered,
    meter_value_rows,
    numeric,
    update_session_readings,
)
from charging.services.sessions import SessionStart, SessionStop, close_sessions, open_sessions
from charging.services.shared import connector_pks, flag, locked_sessions
from common.db import batch_atomic, insert_rows, update_rows

logger = logging.getLogger(__name__)

# The reading contexts of a transaction's first and last meter values (both OCPP versions).
BEGIN_CONTEXT = "Transaction.Begin"
END_CONTEXT = "Transaction.End"
# Where a session is recorded until the charger names its EVSE and connector (a charger may
# start a transaction before the cable is plugged in, and name them in a later event).
ASSUMED_EVSE = 1
ASSUMED_CONNECTOR = 1
# How many missing sequence numbers a review note lists.
MAX_LISTED = 20


@dataclass(frozen=True, slots=True)
class TransactionEventIn:
    """One event of a transaction the charger names (`transaction_id`), numbered `seq_no`."""

    charger_id: int
    transaction_id: str
    seq_no: int
    kind: str  # TransactionEventKind
    timestamp: dt.datetime
    received_at: dt.datetime
    trigger_reason: str = ""
    # The event happened while the charger had no connection (it was queued).
    offline: bool = False
    evse_id: int | None = None
    connector_id: int | None = None
    # The token presented, if the event names one, and whether it ended the authorization
    # (the stopping token) rather than granted it.
    token: str = ""
    token_ends_authorization: bool = False
    readings: list[MeterSnapshot] = field(default_factory=list)
    charging_state: str = ""
    stop_reason: str = ""
    remote_start_id: int | None = None
    reservation_id: int | None = None
    # The event as the charger sent it, kept with its record.
    payload: dict = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class TransactionEventOutcome:
    """The decision on the event's token (None when it named none), the session's total cost
    when the event completed it and it could be priced at once, and whether the event had been
    received before (then nothing changed and the answer is the one given then)."""

    decision: TokenDecision | None
    duplicate: bool = False
    total_cost: Decimal | None = None


def record_transaction_event(event: TransactionEventIn) -> TransactionEventOutcome:
    """One event on its own (the gateway submits events to `record_transaction_events` in rounds)."""
    [outcome] = record_transaction_events([event])
    return outcome


@batch_atomic
def record_transaction_events(items: list[TransactionEventIn]) -> list[TransactionEventOutcome]:
    """Events of one or many chargers (a group-commit round), each applied as if alone.

    Most events are routine: a reading in the middle of a running transaction (2.0.1 E02,
    J02). Those are read and written together, in a fixed handful of statements for the whole
    batch, as `record_meter_reports` does for 1.6. The others (a first or last event, a token,
    a reservation, a move to another connector, a transaction named twice in the batch, a
    session already closed) are applied one by one afterwards, in the order given; a routine
    event touches only its own session, so applying it first changes nothing for them."""
    known = _known_answers(items)
    routine = _routine_events(items, known)
    _record_routine([(items[index], session) for index, session in routine.items()])
    outcomes = []
    for index, item in enumerate(items):
        earlier = known.get(_event_key(item))
        if earlier is not None:
            outcomes.append(_resent(item, earlier))
        elif index in routine:
            outcomes.append(TransactionEventOutcome(None))
        else:
            outcomes.append(_record(item))
    return outcomes


EventKey = tuple[int, str, int]  # (charger id, transaction id, sequence number)


def _event_key(item: TransactionEventIn) -> EventKey:
    return (item.charger_id, item.transaction_id, item.seq_no)


@dataclass(frozen=True, slots=True)
class _Known:
    """An event received before: what it carried and what it was answered."""

    payload: dict
    answer: dict | None


def _known_answers(items: list[TransactionEventIn]) -> dict[EventKey, _Known]:
    """The events of `items` received before, in one query."""
    wanted = {_event_key(item) for item in items}
    rows = TransactionEventRecord.objects.filter(
        charger_id__in={charger_id for charger_id, _, _ in wanted},
        transaction_uid__in={uid for _, uid, _ in wanted},
        seq_no__in={seq_no for _, _, seq_no in wanted},
    ).values_list("charger_id", "transaction_uid", "seq_no", "payload", "answer")
    return {(c, uid, seq): _Known(payload, answer) for c, uid, seq, payload, answer in rows if (c, uid, seq) in wanted}


def _resent(item: TransactionEventIn, known: _Known) -> TransactionEventOutcome:
    if known.payload != item.payload:
        logger.warning("charger %s resent tx %s seqNo %s with other content; the first one stands",
                       item.charger_id, item.transaction_id, item.seq_no)  # fmt: skip
    return TransactionEventOutcome(_decision_of(known.answer), duplicate=True, total_cost=_total_cost_of(known.answer))


def _routine_events(items: list[TransactionEventIn], known: dict[EventKey, _Known]) -> dict[int, ChargingSession]:
    """The routine events among `items` by position (see `record_transaction_events`), with
    their sessions, locked."""
    named = Counter((item.charger_id, item.transaction_id) for item in items)
    candidates = [
        index
        for index, item in enumerate(items)
        if item.kind == TransactionEventKind.UPDATED
        and not item.token
        and item.reservation_id is None
        and named[(item.charger_id, item.transaction_id)] == 1
        and _event_key(item) not in known
    ]
    if not candidates:
        return {}
    sessions = locked_sessions({(items[index].charger_id, items[index].transaction_id) for index in candidates})
    connectors = connector_pks({_named_connector(items[index]) for index in candidates if items[index].evse_id})
    routine = {}
    for index in candidates:
        item = items[index]
        session = sessions.get((item.charger_id, item.transaction_id))
        if session is None or session.state != SessionState.ACTIVE:
            continue
        if item.evse_id is not None and connectors[_named_connector(item)] != session.connector_id:
            continue
        routine[index] = session
    return routine


def _record_routine(events: list[tuple[TransactionEventIn, ChargingSession]]) -> None:
    """Routine events, each of its own active session (locked): their readings, the sessions'
    current readings and the events' records, one statement each for the whole batch."""
    if not events:
        return
    latest = _latest_applied({(item.charger_id, item.transaction_id) for item, _ in events})
    readings: list = []
    records = []
    for item, session in events:
        previous = latest.get((item.charger_id, item.transaction_id))
        current = previous is None or item.timestamp >= previous
        _adopt_begin_reading(session, item)
        readings += meter_value_rows(item.charger_id, session.connector_id, session.pk, item.readings, item.received_at)
        if current:
            update_session_readings(session, item.readings)
        records.append(_event_record(item, session, applied=current, answer=None))
    insert_rows(readings)
    update_rows([session for _, session in events], SESSION_FIELDS)
    insert_rows(records)
    announce_metered([session for _, session in events], events[-1][0].received_at)


def _latest_applied(named: set[tuple[int, str]]) -> dict[tuple[int, str], dt.datetime]:
    """The time of the newest event applied to each of these transactions, in one query."""
    rows = (
        TransactionEventRecord.objects.filter(
            charger_id__in={charger_id for charger_id, _ in named},
            transaction_uid__in={uid for _, uid in named},
            applied=True,
        )
        .values("charger_id", "transaction_uid")
        .annotate(latest=Max("timestamp"))
        .values_list("charger_id", "transaction_uid", "latest")
    )
    return {(charger_id, uid): latest for charger_id, uid, latest in rows if (charger_id, uid) in named}


def _named_connector(item: TransactionEventIn) -> tuple[int, int | None, int]:
    return (item.charger_id, item.evse_id, item.connector_id or ASSUMED_CONNECTOR)


def _record(item: TransactionEventIn) -> TransactionEventOutcome:
    # What the transaction's earlier events tell, read as a summary: a long transaction has
    # hundreds of events, and loading them all for each new one made a session quadratic.
    records = TransactionEventRecord.objects.filter(charger_id=item.charger_id, transaction_uid=item.transaction_id)
    earlier = records.filter(seq_no=item.seq_no).values_list("payload", "answer").first()
    if earlier is not None:  # sent twice in one batch
        return _resent(item, _Known(*earlier))

    summary = records.aggregate(
        latest=Max("timestamp", filter=Q(applied=True)),
        started=Count("pk", filter=Q(kind=TransactionEventKind.STARTED)),
    )
    latest = summary["latest"]
    current = latest is None or item.timestamp >= latest
    started_before = summary["started"] > 0
    session = _session(item)
    was_completed = session is not None and session.state == SessionState.COMPLETED
    decision: TokenDecision | None = None
    readings_applied = False
    opened = session is None
    if session is None:
        session, decision = _open(item)
        readings_applied = item.kind == TransactionEventKind.STARTED
    else:
        if item.kind == TransactionEventKind.STARTED:
            _late_start(session, item, started_before=started_before)
        elif session.state == SessionState.ACTIVE:
            _adopt_begin_reading(session, item)
        if item.token:
            decision = _decide(item, exclude=session.pk)
        if item.reservation_id is not None:  # E01.FR.13: in the event after the one that ends it
            consume_reservation(charger_id=item.charger_id, reservation_id=item.reservation_id, session=session)
    if item.token and not opened:
        _note_token(session, item, decision)
    if item.evse_id is not None:
        _move_to_named_connector(session, item)

    closing = item.kind == TransactionEventKind.ENDED and session.state == SessionState.ACTIVE
    if not closing:
        insert_rows(meter_value_rows(item.charger_id, session.connector_id, session.pk, item.readings,
                                     item.received_at))  # fmt: skip
        if session.state == SessionState.ACTIVE and current and not readings_applied:
            update_session_readings(session, item.readings)
        if was_completed:
            flag(session, f"{item.kind} event (sequence number {item.seq_no}) received after the transaction ended")
    session.save(update_fields=SESSION_FIELDS)
    total_cost = None
    if closing:
        _close(session, item)
        session = ChargingSession.objects.get(pk=session.pk)
        total_cost = total_cost_now(session.pk)

    _event_record(item, session, applied=current, answer=_answer_of(decision, total_cost)).save(force_insert=True)
    if closing or was_completed:
        before = set(records.exclude(seq_no=item.seq_no).values_list("seq_no", flat=True))
        _note_missing_events(session, before, item.seq_no, ended_now=closing)
    return TransactionEventOutcome(decision, total_cost=total_cost)


def _event_record(
    item: TransactionEventIn, session: ChargingSession, *, applied: bool, answer: dict | None
) -> TransactionEventRecord:
    return TransactionEventRecord(
        charger_id=item.charger_id,
        session=session,
        transaction_uid=item.transaction_id,
        seq_no=item.seq_no,
        kind=item.kind,
        trigger_reason=item.trigger_reason,
        charging_state=item.charging_state,
        remote_start_id=item.remote_start_id,
        timestamp=item.timestamp,
        offline=item.offline,
        received_at=item.received_at,
        applied=applied,
        answer=answer,
        payload=item.payload,
    )


SESSION_FIELDS = [
    "connector",
    "id_token",
    "id_tag",
    "stop_id_tag",
    "started_at",
    "meter_start_wh",
    "energy_wh",
    "last_power_w",
    "needs_review",
    "review_notes",
]


def _session(item: TransactionEventIn) -> ChargingSession | None:
    """The session of the event's transaction, locked (a concurrent batch of readings waits)."""
    return locked_sessions({(item.charger_id, item.transaction_id)}).get((item.charger_id, item.transaction_id))


# --- Opening ------------------------------------------------------------------------------


def _open(item: TransactionEventIn) -> tuple[ChargingSession, TokenDecision | None]:
    """The session of a transaction we hear of first: from its first event, or from a later
    one when the first was lost or is still queued at the charger (the start then as the
    readings tell it)."""
    begin = _register(item.readings, prefer=BEGIN_CONTEXT, last=False)
    meter_start = begin[1] if begin else 0
    if item.kind == TransactionEventKind.STARTED:
        started_at = item.timestamp
    else:
        earliest = min((snapshot.timestamp for snapshot in item.readings), default=item.timestamp)
        started_at = min(begin[0] if begin else earliest, item.timestamp)
    start = SessionStart(
        charger_id=item.charger_id,
        connector_id=item.connector_id or ASSUMED_CONNECTOR,
        evse_id=item.evse_id or ASSUMED_EVSE,
        token=item.token,
        meter_start_wh=meter_start,
        started_at=started_at,
        received_at=item.received_at,
        reservation_id=item.reservation_id,
        transaction_id=item.transaction_id,
    )
    [opened] = open_sessions([start])
    session = locked_sessions({(item.charger_id, opened.transaction_id)})[(item.charger_id, opened.transaction_id)]
    if opened.transaction_id != item.transaction_id:  # the start data of another transaction, to the second
        flag(session, f"transaction {item.transaction_id} started like this one; its events are recorded here")
    if item.kind == TransactionEventKind.STARTED:
        update_session_readings(session, item.readings)
    else:
        flag(session, f"opened by an {item.kind} event (sequence number {item.seq_no}): no start event received; "
                      "start time and meter start taken from its readings")  # fmt: skip
    # A first event's register reading is the start's, whatever its context; a later event's
    # only when it says so (Transaction.Begin).
    if begin is None or (item.kind != TransactionEventKind.STARTED and not begin[2]):
        flag(session, f"no energy register reading of the transaction's start: meter start taken as {meter_start} Wh")
    return session, (opened.decision if item.token else None)


def _late_start(session: ChargingSession, item: TransactionEventIn, *, started_before: bool) -> None:
    """A first event for a session we already have: opened by a later event that came first
    (offline, out of order), or sent twice under two sequence numbers. Never reopens a session."""
    if started_before:
        flag(session, f"a second start event (sequence number {item.seq_no})")
        return
    if session.state == SessionState.COMPLETED:
        flag(session, f"start event (sequence number {item.seq_no}) received after the transaction ended; "
                      "its start time and meter start were not applied")  # fmt: skip
        return
    # Active, opened from a later event: the start event tells the start better.
    session.started_at = min(session.started_at, item.timestamp)
    begin = _register(item.readings, prefer=BEGIN_CONTEXT, last=False)
    if begin is not None:
        _set_meter_start(session, begin[1])


def _adopt_begin_reading(session: ChargingSession, item: TransactionEventIn) -> None:
    """A start event without an energy reading leaves the meter start at 0; the reading of the
    start may come later (2.0.1 E01.FR.17: in the event when charging starts; E06.FR.11: in the
    last event), and is then the meter start."""
    begin = _register(item.readings, prefer=BEGIN_CONTEXT, last=False)
    if session.meter_start_wh == 0 and begin is not None and begin[2] and begin[1] != 0:
        _set_meter_start(session, begin[1])
        flag(session, f"meter start {begin[1]} Wh taken from the start reading of event {item.seq_no}")


def _set_meter_start(session: ChargingSession, meter_start_wh: int) -> None:
    session.energy_wh = max(session.energy_wh + session.meter_start_wh - meter_start_wh, 0)
    session.meter_start_wh = meter_start_wh


# --- Tokens -------------------------------------------------------------------------------


def _decide(item: TransactionEventIn, *, exclude: int) -> TokenDecision:
    """The decision on the event's token; the session itself is no concurrent transaction."""
    organization = organizations_of({item.charger_id})[item.charger_id]
    token = tokens_of({(organization, item.token)}).get(token_key(organization, item.token))
    token_ids = {token.pk} if token is not None else set()
    active = active_sessions_of_tokens(token_ids)
    where = Where(item.charger_id, item.evse_id)
    return decide(token, active, now=item.received_at, exclude=exclude, places=places_of(token_ids), where=where)


def _note_token(session: ChargingSession, item: TransactionEventIn, decision: TokenDecision | None) -> None:
    """A token granting a session that had none (plugged in first, authorized later), or the
    token that ended the authorization."""
    if item.token_ends_authorization:
        session.stop_id_tag = item.token
        return
    if session.id_tag:
        return
    session.id_tag = item.token
    organization = organizations_of({item.charger_id})[item.charger_id]
    session.id_token = tokens_of({(organization, item.token)}).get(token_key(organization, item.token))
    if decision is not None and decision.status != IdTokenStatus.ACCEPTED:
        flag(session, f"authorized with id token status {decision.status} (by the charger)")


def _answer_of(decision: TokenDecision | None, total_cost: Decimal | None = None) -> dict | None:
    """What the event was answered, kept to answer it the same if it comes again."""
    answer: dict = {}
    if decision is not None:
        expires_at = decision.expires_at.isoformat() if decision.expires_at is not None else None
        answer |= {"status": decision.status, "expires_at": expires_at, "parent": decision.parent}
        answer["known"] = decision.known
        if decision.evse_ids:
            answer["evse_ids"] = list(decision.evse_ids)
        if decision.priority:
            answer["priority"] = decision.priority
    if total_cost is not None:
        answer["total_cost"] = str(total_cost)
    return answer or None


def _total_cost_of(answer: dict | None) -> Decimal | None:
    if answer is None or "total_cost" not in answer:
        return None
    return Decimal(answer["total_cost"])


def _decision_of(answer: dict | None) -> TokenDecision | None:
    if answer is None or "status" not in answer:
        return None
    expires_at = dt.datetime.fromisoformat(answer["expires_at"]) if answer["expires_at"] else None
    evse_ids = tuple(answer.get("evse_ids", ()))
    return TokenDecision(
        answer["status"], expires_at, answer["parent"], answer["known"], evse_ids, answer.get("priority", 0)
    )


# --- Connectors ---------------------------------------------------------------------------


def _move_to_named_connector(session: ChargingSession, item: TransactionEventIn) -> None:
    """The EVSE and connector the charger names (often only once the cable is plugged in): the
    session moves there from where it was assumed to be."""
    key = _named_connector(item)
    connector_pk = connector_pks({key})[key]
    if connector_pk == session.connector_id:
        return
    if session.state == SessionState.ACTIVE:
        busy = ChargingSession.objects.filter(connector_id=connector_pk, state=SessionState.ACTIVE)
        if busy.exclude(pk=session.pk).exists():
            flag(session, f"the charger named EVSE {item.evse_id}, which has another active session: not moved")
            return
    session.connector_id = connector_pk


# --- Meter readings -----------------------------------------------------------------------


def _register(snapshots: list[MeterSnapshot], *, prefer: str, last: bool) -> tuple[dt.datetime, int, bool] | None:
    """The energy register reading (time, Wh, whether of the context `prefer`) of that context,
    else the earliest (or, with `last`, the latest) register reading; None without one."""
    found = []
    for snapshot in snapshots:
        for reading in snapshot.readings:
            number = numeric(reading.value)
            if reading.measurand == ENERGY_REGISTER and not reading.phase and number is not None:
                found.append((reading.context == prefer, snapshot.timestamp, int(to_wh(number, reading.unit))))
    if not found:
        return None
    preferred = [entry for entry in found if entry[0]] or found
    of_context, at, wh = (max if last else min)(preferred, key=lambda entry: entry[1])
    return at, wh, of_context


def _stop_reading(item: TransactionEventIn, *, fallback: int) -> int:
    end = _register(item.readings, prefer=END_CONTEXT, last=True)
    return end[1] if end is not None else fallback


# --- Closing ------------------------------------------------------------------------------


def _close(session: ChargingSession, item: TransactionEventIn) -> None:
    """The last event: the session closed at its reading (else at the last one we have), for
    its reason (the domain's default when none), its readings stored with it."""
    meter_stop = _stop_reading(item, fallback=session.meter_start_wh + session.energy_wh)
    stop = SessionStop(
        charger_id=item.charger_id,
        transaction_id=item.transaction_id,
        meter_stop_wh=meter_stop,
        stopped_at=item.timestamp,
        received_at=item.received_at,
        token=item.token or session.stop_id_tag,
        reason=item.stop_reason,
        readings=item.readings,
        message="transaction event",
    )
    close_sessions([stop])


def _note_missing_events(session: ChargingSession, before: set[int], seq_no: int, *, ended_now: bool) -> None:
    """R25 (2.0.1 part 2 E, 1.3.2): a transaction is complete when every sequence number from
    its first event to its last came in. Checked when it ends, and again as late events arrive
    (a charger queues events while offline, E11.FR.01, and may drop some, E11.FR.04/05)."""
    missing = _missing(before | {seq_no})
    if ended_now and missing:
        listed = ", ".join(str(number) for number in missing[:MAX_LISTED])
        more = f" and {len(missing) - MAX_LISTED} more" if len(missing) > MAX_LISTED else ""
        flag(session, f"events missing at the end of the transaction: sequence numbers {listed}{more}")
    elif not ended_now and not missing and _missing(before):
        flag(session, "all events of the transaction received since")
    else:
        return
    session.save(update_fields=["needs_review", "review_notes"])


def _missing(seq_nos: set[int]) -> list[int]:
    if not seq_nos:
        return []
    return sorted(set(range(min(seq_nos), max(seq_nos) + 1)) - seq_nos)
