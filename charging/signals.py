"""Signals of the charging app, so that apps depending on it (billing) can react without
charging importing them."""

from django.dispatch import Signal

# Sent after the transaction that opened a session has committed, with `session_id`.
session_started = Signal()

# Sent after the transaction that completed a session has committed, with `session_id`.
session_completed = Signal()
