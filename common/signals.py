"""Signals between apps of the same layer, which may not import each other (DESIGN.md's
dependency rules): the sender and the receivers both import the signal from here.

`alert_changed`: an alert was raised or resolved (reports.alerts), for integrations' outbound
events. Sent after the change committed, with `alerts`, a list of AlertFact."""

import datetime as dt
from dataclasses import dataclass

from django.dispatch import Signal


@dataclass(frozen=True, slots=True)
class AlertFact:
    alert_id: int
    organization_id: int
    kind: str  # reports.models.AlertKind
    state: str  # "open" (just raised) or "resolved"
    summary: str
    charger_id: int | None
    at: dt.datetime
    resolution: str = ""


alert_changed = Signal()
