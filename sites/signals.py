"""Signals of the sites app. `command_settled` lets other apps react to a command's outcome
(e.g. charging marks a reservation accepted) and `status_changed` to a new charger or connector
state (the live dashboard), without sites importing them."""

from django.dispatch import Signal

# Sent with `command` (a sites.models.Command whose status is final) after it is saved.
command_settled = Signal()

# Sent after the transaction that applied a StatusNotification has committed, with
# `charger_id`, `connector_id` (0 = the charger as a whole), `previous_status`, `status`,
# `error_code` and `timestamp`.
status_changed = Signal()

# Sent after the transaction that changed a charger's online state has committed, with
# `charger_id`, `online` (bool) and `at`.
online_changed = Signal()
