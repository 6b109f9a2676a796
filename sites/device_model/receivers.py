"""What the device model does on its own: it is asked for when a station may have a new one
(B07.FR.14: the CSMS SHOULD send GetBaseReport FullInventory when a station connects for the
first time, and whenever it suspects the model changed, e.g. after a firmware update), and it
forgets the monitors a station cleared (N06)."""

import logging

from django.core.exceptions import ValidationError
from django.dispatch import receiver

from sites.commands import request_command
from sites.commands.intents import ClearVariableMonitoring, ReportBase, RequestReport
from sites.commands.outcomes import Outcome
from sites.commands.rules import intent_kinds_for
from sites.device_model.models import VariableMonitor
from sites.models import Charger, Command, RegistrationStatus
from sites.signals import ChargerBoot, charger_booted, command_settled

logger = logging.getLogger(__name__)


@receiver(charger_booted, dispatch_uid="device_model.ask_after_boot")
def ask_for_device_models(sender, boots: list[ChargerBoot], **kwargs) -> None:
    """After the boots are committed. Accepted or Pending chargers (B02.FR.01 allows GetBaseReport
    while Pending; a Rejected one is sent nothing, B03.FR.03) whose protocol version has a device
    model to report (it carries `request_report`: 2.0.1) are asked for it if they never were, or
    booted with other firmware. One query per batch of boots, two when one is to be asked."""
    booted = {boot.charger_id: boot for boot in boots if boot.registration_status != RegistrationStatus.REJECTED}
    if not booted:
        return
    chargers = Charger.objects.filter(pk__in=booted).only("charge_point_id", "ocpp_version", "site_id")
    reporting = [charger for charger in chargers if RequestReport.kind in intent_kinds_for(charger)]
    if not reporting:
        return
    asked_before = set(
        Command.objects.filter(charger__in=reporting, intent=RequestReport.kind).values_list("charger_id", flat=True)
    )
    for charger in reporting:
        if charger.pk not in asked_before or firmware_changed(booted[charger.pk]):
            ask_for_full_inventory(charger)


def firmware_changed(boot: ChargerBoot) -> bool:
    return bool(boot.previous_firmware_version) and boot.previous_firmware_version != boot.firmware_version


def ask_for_full_inventory(charger: Charger) -> None:
    try:
        request_command(charger=charger, intent=RequestReport(base=ReportBase.FULL_INVENTORY))
    except ValidationError as error:  # e.g. its command queue is full: the operator can ask later
        logger.warning("device model of %s not asked for: %s", charger.charge_point_id, "; ".join(error.messages))


@receiver(command_settled, dispatch_uid="device_model.forget_cleared_monitors")
def forget_cleared_monitors(sender, command: Command, outcome: Outcome | None = None, **kwargs) -> None:
    """N06: a monitor the station cleared (its id among the outcome's `cleared`) no longer exists:
    its row goes at once, without waiting for the next full monitoring report."""
    if command.intent != ClearVariableMonitoring.kind or outcome is None:
        return
    cleared = [monitor_id for monitor_id in outcome.data.get("cleared", ()) if isinstance(monitor_id, int)]
    if cleared:
        VariableMonitor.objects.filter(charger_id=command.charger_id, monitor_id__in=cleared).delete()
