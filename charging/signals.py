"""Signals of the charging app, so that apps depending on it (billing) can react without
charging importing them."""

import datetime as dt
from dataclasses import dataclass

from django.dispatch import Signal

# Sent after the transaction that opened sessions has committed, with `session_ids` (a list:
# the sessions of one batch together).
session_started = Signal()

# Sent after the transaction that completed sessions has committed, with `session_ids`.
session_completed = Signal()


@dataclass(frozen=True, slots=True)
class SessionReadings:
    """A running session's readings as a batch of meter values left them."""

    session_id: int
    energy_wh: int
    power_w: float | None
    at: dt.datetime  # when they were received


# Sent after the transaction that applied readings to active sessions has committed, with
# `readings` (a list of SessionReadings): one signal per batch of meter values, however many.
session_metered = Signal()
