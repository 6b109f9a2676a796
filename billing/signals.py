"""Signals of the billing app, so that apps above it (integrations' outbound events) hear of a
price without billing importing them."""

from django.dispatch import Signal

# Sent after the transaction that priced (or priced again) a completed session has committed,
# with `session_ids`.
session_priced = Signal()
