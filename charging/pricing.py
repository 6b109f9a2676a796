"""The total cost of a session as soon as it completes, asked of whoever prices sessions.

Charging may not import billing (billing depends on charging, DESIGN.md), yet a charger may
be told the total cost in its answer to the transaction's last event (2.0.1 I03.FR.02: "when
Total Cost is known to the CSMS"). Billing registers its pricer here when the app is ready;
without one, or when pricing fails, the cost is simply not known yet (and the answer goes
without it: omitting it is allowed, I03.FR.04)."""

import logging
from collections.abc import Callable
from decimal import Decimal

from django.db import transaction

logger = logging.getLogger(__name__)

# Prices a completed session (by id) and returns its total, or None when no tariff applies.
SessionPricer = Callable[[int], Decimal | None]

_pricer: SessionPricer | None = None


def register_pricer(pricer: SessionPricer | None) -> None:
    global _pricer
    _pricer = pricer


def total_cost_now(session_id: int) -> Decimal | None:
    """The session's total cost, priced now in a savepoint of the caller's transaction: a
    failure to price must never fail the event that completed the session."""
    if _pricer is None:
        return None
    try:
        with transaction.atomic():
            return _pricer(session_id)
    except Exception:
        logger.exception("session %s: pricing at completion failed; the cost comes later", session_id)
        return None
