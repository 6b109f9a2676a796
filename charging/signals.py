"""Signals of the charging app, so that apps depending on it (billing) can react without
charging importing them."""

from django.dispatch import Signal

# Sent after the transaction that opened sessions has committed, with `session_ids` (a list:
# the sessions of one batch together).
session_started = Signal()

# Sent after the transaction that completed sessions has committed, with `session_ids`.
session_completed = Signal()
