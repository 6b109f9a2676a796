"""The total cost of a session as soon as it completes, asked of whoever prices sessions.

Charging may not import billing (billing depends on charging, DESIGN.md), yet a charger may
be told the total cost in its answer to the transaction's last event (2.0.1 I03.FR.02: "when
Total Cost is known to the CSMS"). Billing registers its pricer here when the app is ready;
without one, or when pricing fails, the cost is simply not known yet (and the answer goes
without it: omitting it is allowed, I03.FR.04).

The session page shows the stored price the same way: billing registers a reader that returns
it as a neutral `CostSummary` (its lines as rows, the receipt's URL), and charging renders that."""

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
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


# --- The stored price, as the session page shows it -------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class CostLine:
    """One line of a price: what was charged, how much of it, at what unit price."""

    description: str
    quantity: str
    unit_price: str
    amount: str


@dataclass(frozen=True, kw_only=True, slots=True)
class CostSummary:
    """A session's stored price, in neutral words (billing owns the model and the receipt)."""

    currency: str
    lines: tuple[CostLine, ...]
    net: str
    vat: str
    total: str
    adjustments: tuple[str, ...] = ()
    computed_at: dt.datetime | None = None
    tariff: str = ""
    # Where its PDF receipt downloads from ("" when there is none).
    receipt_url: str = ""


# Reads a session's stored price (by id), or None when it has none.
CostReader = Callable[[int], CostSummary | None]

_cost_reader: CostReader | None = None


def register_cost_reader(reader: CostReader | None) -> None:
    global _cost_reader
    _cost_reader = reader


def stored_cost(session_id: int) -> CostSummary | None:
    """The session's stored price, as whoever prices sessions keeps it (None: none, or no pricer)."""
    return _cost_reader(session_id) if _cost_reader is not None else None
