"""Charging sessions: opened and closed as chargers report them, in batches (as the gateway's
group commit writes them): a fixed handful of statements per batch, each item decided as if it
had been alone, in the order given.

Every function commits before it returns (or runs inside the caller's transaction), so the
charger is answered only after its data is durable (DESIGN: "Data that must never be lost or
doubled")."""

import datetime as dt
import logging
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction

from charging.models import (
    ChargingSession,
    IdTokenStatus,
    MeterValue,
    SessionState,
    TransactionIdAllocation,
    UnmatchedStop,
)
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
from charging.services.meter_values import MeterSnapshot, meter_value_rows
from charging.services.shared import (
    ConnectorKey,
    TransactionRef,
    charger,
    connector_pks,
    flag,
    locked_sessions,
    report_foreign_transaction,
    timestamp_concerns,
    transaction_ref,
)
from charging.signals import session_completed, session_started
from common.db import batch_atomic, insert_rows, update_rows

logger = logging.getLogger(__name__)

# Both versions let a charger leave the reason out when the driver stopped at the charger
# (OCPP 1.6 sec. 6.52; 2.0.1 part 2, the stopped reason of a transaction's end).
DEFAULT_STOP_REASON = "Local"
# Why the central system closed a session nobody reported closed.
SUPERSEDED_REASON = "Other"


@dataclass(frozen=True, slots=True)
class SessionStart:
    """A charger reports a session opened: on a connector (numbered per charger, or per EVSE
    when `evse_id` is given), for a token, at a meter reading (Wh) and a time of its own."""

    charger_id: int
    connector_id: int
    token: str
    meter_start_wh: int
    started_at: dt.datetime
    received_at: dt.datetime
    evse_id: int | None = None
    reservation_id: int | None = None
    # The charger's own name for the session (2.0.1); without one we issue an integer id (1.6).
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionOpened:
    transaction_id: TransactionRef
    decision: TokenDecision


@dataclass(frozen=True, slots=True)
class SessionStop:
    """A charger reports a session closed, at a meter reading (Wh) and a time of its own, with
    the readings it took during the session."""

    charger_id: int
    transaction_id: TransactionRef
    meter_stop_wh: int
    stopped_at: dt.datetime
    received_at: dt.datetime
    token: str = ""
    reason: str = ""
    readings: list[MeterSnapshot] = field(default_factory=list)
    # The readings as the charger sent them, kept with a stop that matches no session (R5).
    readings_as_sent: list = field(default_factory=list)
    # How the charger's message is named in the security log (R7).
    message: str = "session stop"


# --- Opening ------------------------------------------------------------------------------


def open_session(*, start: SessionStart) -> SessionOpened:
    [opened] = open_sessions([start])
    return opened


# What identifies a retransmitted start (R2): the same connector, token, meter reading and time.
StartKey = tuple[int, int, str, int, dt.datetime]


def _start_key(start: SessionStart, connector_pk: int) -> StartKey:
    return (start.charger_id, connector_pk, start.token, start.meter_start_wh, start.started_at)


def _connector_key(start: SessionStart) -> ConnectorKey:
    return (start.charger_id, start.evse_id, start.connector_id)


@batch_atomic
def open_sessions(items: list[SessionStart]) -> list[SessionOpened]:
    """Open sessions (issuing their transaction ids where the charger names none), for many
    chargers in a handful of statements, each start decided as if alone and in the order given.
    A retransmitted start gets the same id and creates nothing (R2). A token that is unknown,
    blocked or expired still gets a session and a real id: the charger may have authorized it
    offline (R3)."""
    organizations = organizations_of({item.charger_id for item in items}, lock=True)
    connectors = connector_pks({_connector_key(item) for item in items})
    tokens = tokens_of({(organizations[item.charger_id], item.token) for item in items})
    active_of_token = active_sessions_of_tokens({token.pk for token in tokens.values()})
    places = places_of({token.pk for token in tokens.values()})
    earlier = _earlier_starts(items, connectors)
    open_on_connector = _active_sessions_on(set(connectors.values()))

    results: list[tuple[ChargingSession, TokenDecision]] = []
    created: list[ChargingSession] = []
    closed: list[ChargingSession] = []
    for item in items:
        received_at = item.received_at
        connector_pk = connectors[_connector_key(item)]
        token = tokens.get(token_key(organizations[item.charger_id], item.token))
        key = _start_key(item, connector_pk)
        where = Where(item.charger_id, item.evse_id if item.evse_id is not None else item.connector_id)
        if key in earlier:
            session = earlier[key]  # a retransmission (R2); if new in this batch, its id is issued below
            decision = decide(
                token, active_of_token, now=received_at, exclude=_ref(session), places=places, where=where
            )
            results.append((session, decision))
            continue
        decision = decide(token, active_of_token, now=received_at, places=places, where=where)
        for abandoned in open_on_connector.pop(connector_pk, []):
            _close_abandoned(abandoned, superseded_at=item.started_at, received_at=received_at)
            if abandoned.id_token_id is not None:
                active_of_token.get(abandoned.id_token_id, set()).discard(_ref(abandoned))
            if abandoned.pk is not None:  # one started in this batch is inserted closed
                closed.append(abandoned)
        session = ChargingSession(
            charger_id=item.charger_id,
            connector_id=connector_pk,
            id_token=token,
            id_tag=item.token,
            transaction_uid=item.transaction_id,
            started_at=item.started_at,
            start_received_at=received_at,
            meter_start_wh=item.meter_start_wh,
        )
        flag(session, *timestamp_concerns(item.started_at, received_at))
        if decision.status != IdTokenStatus.ACCEPTED:
            flag(session, f"started with id token status {decision.status} (authorized by the charger)")
        created.append(session)
        earlier[key] = session
        open_on_connector[connector_pk] = [session]
        if token is not None:
            active_of_token.setdefault(token.pk, set()).add(_ref(session))
        results.append((session, decision))

    update_rows(closed, ABANDONED_FIELDS)  # first: one active session per connector
    _insert_sessions(created)
    new = {id(session) for session in created}
    for item, (session, _) in zip(items, results, strict=True):
        if item.reservation_id is not None and id(session) in new:
            consume_reservation(charger_id=item.charger_id, reservation_id=item.reservation_id, session=session)
    if created:
        started = [session.pk for session in created]
        transaction.on_commit(partial(_announce, session_started, started))
    return [SessionOpened(transaction_ref(session), decision) for session, decision in results]


def _announce(signal, session_ids: list[int]) -> None:
    signal.send(sender=ChargingSession, session_ids=session_ids)


def _ref(session: ChargingSession):
    """How a session is told apart before it has an id (created in this batch)."""
    return session.pk if session.pk is not None else id(session)


START_KEY_FIELDS = ["id", "charger_id", "connector_id", "id_tag", "meter_start_wh", "started_at"]


def _earlier_starts(items: list[SessionStart], connectors: dict) -> dict[StartKey, ChargingSession]:
    """Sessions these starts could be retransmissions of, by their start key (R2)."""
    sessions = ChargingSession.objects.filter(
        charger_id__in={item.charger_id for item in items},
        started_at__in={item.started_at for item in items},
    ).only(*START_KEY_FIELDS, "transaction_id", "transaction_uid")
    wanted = {_start_key(item, connectors[_connector_key(item)]) for item in items}
    found: dict[tuple, ChargingSession] = {}
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
    session.stop_reason = SUPERSEDED_REASON
    flag(session, "closed by the CSMS: a new session started on this connector without a stop")


def _insert_sessions(sessions: list[ChargingSession]) -> None:
    """Issue the transaction ids of the sessions the charger named none for (one allocation row
    each) and insert the sessions, ids returned."""
    if not sessions:
        return
    unnamed = [session for session in sessions if session.transaction_uid is None]
    allocations = TransactionIdAllocation.objects.bulk_create([TransactionIdAllocation() for _ in unnamed])
    for session, allocation in zip(unnamed, allocations, strict=True):
        session.transaction_id = allocation.pk
    ChargingSession.objects.bulk_create(sessions)


# --- Closing ------------------------------------------------------------------------------


def close_session(*, stop: SessionStop) -> TokenDecision | None:
    [decision] = close_sessions([stop])
    return decision


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
def close_sessions(items: list[SessionStop]) -> list[TokenDecision | None]:
    """Close sessions, each once (R6), for many chargers in a handful of statements, in the
    order given. A stop for a transaction its charger does not have is kept for review and
    acknowledged as if valid (1.6 errata 3.18, R5, R7). Energy and duration come from the
    charger's own readings and times; negative energy is never recorded (R11). The decision
    on the stop's token, if it names one."""
    organizations = organizations_of({item.charger_id for item in items}, lock=True)
    sessions = locked_sessions({(item.charger_id, item.transaction_id) for item in items})
    tokens = tokens_of({(organizations[item.charger_id], item.token) for item in items if item.token})
    active_of_token = active_sessions_of_tokens({token.pk for token in tokens.values()})
    closed: dict[int, ChargingSession] = {}
    unmatched: list[SessionStop] = []
    readings: list[MeterValue] = []
    results: list[TokenDecision | None] = []
    for item in items:
        session = sessions.get((item.charger_id, item.transaction_id))
        if session is None:
            unmatched.append(item)
        elif session.state == SessionState.COMPLETED:
            logger.info("duplicate session stop (charger %s, tx %s)", item.charger_id, item.transaction_id)
        else:
            _close(session, item)
            if session.id_token_id is not None:
                active_of_token.get(session.id_token_id, set()).discard(session.pk)
            closed[session.pk] = session
            readings += meter_value_rows(
                item.charger_id, session.connector_id, session.pk, item.readings, item.received_at
            )
        token = tokens.get(token_key(organizations[item.charger_id], item.token)) if item.token else None
        results.append(decide(token, active_of_token, now=item.received_at) if item.token else None)
    insert_rows(readings)
    update_rows(list(closed.values()), STOP_FIELDS)
    _keep_unmatched_stops(unmatched)
    if closed:
        transaction.on_commit(partial(_announce, session_completed, list(closed)))
    return results


def _close(session: ChargingSession, stop: SessionStop) -> None:
    session.state = SessionState.COMPLETED
    session.stopped_at, session.stop_received_at = stop.stopped_at, stop.received_at
    session.meter_stop_wh = stop.meter_stop_wh
    session.stop_reason = stop.reason or DEFAULT_STOP_REASON
    session.stop_id_tag = stop.token
    flag(session, *timestamp_concerns(stop.stopped_at, stop.received_at))
    if stop.stopped_at < session.started_at:
        flag(session, "stop time is before start time")
    energy = stop.meter_stop_wh - session.meter_start_wh
    if energy < 0:
        flag(session, f"meter stop {stop.meter_stop_wh} Wh is below meter start {session.meter_start_wh} Wh")
    session.energy_wh = max(energy, 0)


def _issued_by_us(transaction: TransactionRef) -> bool:
    """Whether the id could be one we issued (positive integers): only those can be another charger's."""
    return isinstance(transaction, int) and transaction > 0


def _keep_unmatched_stops(items: list[SessionStop]) -> None:
    for item in items:
        stopped_by = charger(item.charger_id)
        if _issued_by_us(item.transaction_id):
            report_foreign_transaction(stopped_by, item.transaction_id, item.message, stopped_by.charge_point_id)
        UnmatchedStop.objects.create(
            charger=stopped_by,
            transaction_id=item.transaction_id if isinstance(item.transaction_id, int) else None,
            transaction_uid=item.transaction_id if isinstance(item.transaction_id, str) else None,
            id_tag=item.token,
            stopped_at=item.stopped_at,
            received_at=item.received_at,
            meter_stop_wh=item.meter_stop_wh,
            reason=item.reason,
            transaction_data=item.readings_as_sent,
            note="no transaction with this id on this charger",
        )
