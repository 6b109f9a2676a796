"""What the session and meter-value services share: how a charger names a connector and a
transaction, the reads that resolve them for a whole batch, and how data is flagged for review."""

import datetime as dt

from django.conf import settings
from django.db.models import Q

from charging.models import ChargingSession
from sites.models import Charger, Connector
from sites.security_events import FOREIGN_TRANSACTION, record_security_event
from sites.services import connector_for

EARLIEST_PLAUSIBLE_TIME = dt.datetime(2010, 1, 1, tzinfo=dt.UTC)

# The charger-side name of a transaction: an integer we issued (1.6), or a string the charger
# chose (2.0.1). Integers are unique across chargers, strings only per charger.
TransactionRef = int | str
# A connector as a charger names it: (charger id, EVSE id or None, connector number). Without
# an EVSE the number counts per charger (1.6); with one, per EVSE (2.0.1).
ConnectorKey = tuple[int, int | None, int]


def transaction_ref(session: ChargingSession) -> TransactionRef:
    """The name the charger knows the session by."""
    if session.transaction_id is not None:
        return session.transaction_id
    return session.transaction_uid or ""  # a session has one of the two (the charger named it)


def timestamp_concerns(timestamp: dt.datetime, received_at: dt.datetime) -> list[str]:
    """Why a charger timestamp looks wrong (R10); the value is stored as sent regardless."""
    concerns = []
    if timestamp > received_at + dt.timedelta(seconds=settings.OCPP_CLOCK_SKEW_TOLERANCE):
        concerns.append(f"timestamp {timestamp.isoformat()} is in the future")
    if timestamp < EARLIEST_PLAUSIBLE_TIME:
        concerns.append(f"timestamp {timestamp.isoformat()} is implausibly old (charger clock not set?)")
    return concerns


def flag(session: ChargingSession, *notes: str) -> None:
    """Mark the session for review with these notes (kept after the earlier ones)."""
    if not notes:
        return
    session.needs_review = True
    session.review_notes = "\n".join(filter(None, [session.review_notes, *notes]))


def connector_pks(wanted: set[ConnectorKey]) -> dict[ConnectorKey, int]:
    """The ids of connectors as chargers name them, in one query, created when a charger
    reports one we did not know (rare)."""
    rows = Connector.objects.filter(charger_id__in={charger_id for charger_id, _, _ in wanted})
    if all(evse_id is None for _, evse_id, _ in wanted):
        rows = rows.filter(evse_id=None)  # the common case: only per-charger numbers
    found = {
        (charger_id, evse_id, number): pk
        for charger_id, evse_id, number, pk in rows.values_list("charger_id", "evse_id", "connector_id", "pk")
    }
    for charger_id, evse_id, number in wanted - found.keys():
        found[(charger_id, evse_id, number)] = connector_for(charger_id, number, evse_id=evse_id).pk
    return found


def locked_sessions(
    named: set[tuple[int, TransactionRef]], *fields: str
) -> dict[tuple[int, TransactionRef], ChargingSession]:
    """The sessions with these (charger id, transaction) names, locked in id order (a batch of
    readings and a close of the same session wait for each other); `fields` to load only those."""
    if not named:
        return {}
    numbers = {ref for _, ref in named if isinstance(ref, int)}
    strings = {ref for _, ref in named if isinstance(ref, str)}
    candidates = ChargingSession.objects.select_for_update(no_key=True).filter(
        charger_id__in={charger_id for charger_id, _ in named}
    )
    if strings:
        candidates = candidates.filter(Q(transaction_id__in=numbers) | Q(transaction_uid__in=strings))
    else:
        candidates = candidates.filter(transaction_id__in=numbers)
    if fields:
        candidates = candidates.only(*fields)
    sessions = ((s.charger_id, transaction_ref(s), s) for s in candidates.order_by("pk"))
    return {(charger_id, ref): s for charger_id, ref, s in sessions if (charger_id, ref) in named}


def charger(charger_id: int) -> Charger:
    return Charger.objects.get(pk=charger_id)


def report_foreign_transaction(
    charger: Charger, transaction: TransactionRef, message: str, charge_point_id: str
) -> None:
    """A charger quoting a transaction id that belongs to another charger (R7). Only ids we
    issued are unique across chargers; a charger's own string ids may repeat elsewhere."""
    if not isinstance(transaction, int):
        return
    owner = (
        ChargingSession.objects.filter(transaction_id=transaction)
        .exclude(charger=charger)
        .values_list("charger__charge_point_id", flat=True)
        .first()
    )
    if owner is not None:
        record_security_event(
            charger_id=charger.pk,
            charge_point_id=charge_point_id or charger.charge_point_id,
            kind=FOREIGN_TRANSACTION,
            # The detail's keys are the security log's stored shape, unchanged since 1.6.
            detail={"action": message, "transactionId": transaction, "owner": owner},
        )
