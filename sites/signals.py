"""Signals of the sites app. `command_settled` lets other apps react to a command's outcome
(e.g. charging marks a reservation accepted) and `status_changed` to a new charger or connector
state (the live dashboard), without sites importing them."""

import datetime as dt
from dataclasses import dataclass

from django.dispatch import Signal

# Sent once the transaction that settled it has committed, with `command` (a sites.models.Command
# whose status is final; `sites.commands.intent_of(command)` is what was asked) and `outcome`
# (the sites.commands.outcomes.Outcome the gateway's codec decoded, None for a command that
# expired unsent). Receivers act on these, never on the wire action or payload.
command_settled = Signal()


@dataclass(frozen=True, slots=True)
class StatusChange:
    """A StatusNotification that was applied: the charger's (connector 0) or a connector's new state."""

    charger_id: int
    connector_id: int
    previous_status: str
    status: str
    error_code: str
    timestamp: dt.datetime
    evse_id: int | None = None  # 2.0.1: connectors are numbered per EVSE


# Sent after the transaction that applied StatusNotifications has committed, with `changes`
# (a list of StatusChange, in the order applied): one signal per batch, not per message.
status_changed = Signal()

# Sent after the transaction that changed a charger's online state has committed, with
# `charger_id`, `online` (bool) and `at`.
online_changed = Signal()


@dataclass(frozen=True, slots=True)
class ChargerBoot:
    """A BootNotification that was recorded, and what the charger was answered."""

    charger_id: int
    registration_status: str  # Accepted, Pending, Rejected
    reason: str  # 2.0.1's boot reason; blank for 1.6
    firmware_version: str
    at: dt.datetime
    # The firmware it reported at its boot before this one ("" at its first boot).
    previous_firmware_version: str = ""


# Sent after the transaction that recorded BootNotifications has committed, with `boots` (a list
# of ChargerBoot): one signal per batch.
charger_booted = Signal()

# Sent after the transaction that stored a new security event (a charger's or the central
# system's own) has committed, with `event_ids` (SecurityEvent primary keys). An occurrence
# counted on an earlier row is not new.
security_events_recorded = Signal()


@dataclass(frozen=True, slots=True)
class DeviceProblem:
    """A problem a 2.0.1 station reported with NotifyEvent (see sites.device_model.services.is_problem)."""

    charger_id: int
    evse_id: int  # 0: not of an EVSE
    connector_id: int  # 0: not of a connector
    component: str  # e.g. "ChargingStation", "Connector (EVSE 1, connector 2)"
    variable: str  # e.g. "Problem", "Temperature"
    actual_value: str
    tech_code: str
    tech_info: str
    timestamp: dt.datetime


# Sent after the transaction that stored NotifyEvent data has committed, with `problems` (a list
# of DeviceProblem): the events of that message raised to operators (reports' dashboard).
device_problems_reported = Signal()
