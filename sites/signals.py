"""Signals of the sites app. `command_settled` lets other apps react to a command's outcome
(e.g. charging marks a reservation accepted) without sites importing them."""

from django.dispatch import Signal

# Sent with `command` (a sites.models.Command whose status is final) after it is saved.
command_settled = Signal()
