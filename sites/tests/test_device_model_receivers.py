"""What the device model does on its own (sites/device_model/receivers.py). B07.FR.14: a 2.0.1
station's full device model is asked for at its first connection and after it boots with other
firmware; never of a 1.6 charger or a Rejected station. N06: cleared monitors are forgotten."""

import pytest
from django.utils import timezone

from sites.commands import request_command
from sites.commands.intents import ClearVariableMonitoring, ReportBase, RequestReport
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.device_model.models import VariableMonitor
from sites.models import Charger, Command
from sites.services import BootInfo, record_boot
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db(transaction=True)  # the request follows the boot's commit


def _boot(charger: Charger, firmware: str = "1.0") -> None:
    record_boot(
        charger_id=charger.pk, info=BootInfo(vendor="ACME", model="X2", firmware_version=firmware),
        received_at=timezone.now(),
    )  # fmt: skip


def _reports_asked(charger: Charger) -> list[dict]:
    return list(Command.objects.filter(charger=charger, intent=RequestReport.kind).values_list("fields", flat=True))


def test_the_first_boot_and_a_firmware_change_ask_for_the_full_inventory():
    station = ChargerFactory(ocpp_version="2.0.1", firmware_version="")
    _boot(station)
    asked = _reports_asked(station)
    assert len(asked) == 1
    assert asked[0]["base"] == ReportBase.FULL_INVENTORY
    assert Command.objects.get(charger=station).requested_via == Command.Via.SYSTEM
    _boot(station)  # a reboot, same firmware: the model it reported still holds
    assert len(_reports_asked(station)) == 1
    _boot(station, firmware="1.1")  # new firmware: components may have come or gone
    assert len(_reports_asked(station)) == 2


@pytest.mark.parametrize(("version", "status"), [("1.6", "Accepted"), ("2.0.1", "Rejected")])
def test_no_report_is_asked_of_a_16_charger_or_a_rejected_station(version, status):
    charger = ChargerFactory(ocpp_version=version, registration_status=status)
    _boot(charger)
    assert _reports_asked(charger) == []


def test_a_pending_station_is_asked_too():
    """B02.FR.01: GetBaseReport is one of what the CSMS may send while a station is Pending."""
    station = ChargerFactory(ocpp_version="2.0.1", registration_status="Pending")
    _boot(station)
    assert len(_reports_asked(station)) == 1


def test_monitors_the_station_cleared_are_forgotten_and_the_others_kept():
    """N06: per monitor, Accepted (cleared), Rejected or NotFound: only the cleared ones go."""
    station = ChargerFactory(ocpp_version="2.0.1")
    for monitor_id in (3, 4, 5):
        VariableMonitor.objects.create(
            charger=station, monitor_id=monitor_id, monitor_type="UpperThreshold", severity=4, value=1,
            transaction=False, component_name="EVSE", variable_name="Power", reported_at=timezone.now(),
        )  # fmt: skip
    command = request_command(charger=station, intent=ClearVariableMonitoring(monitor_ids=(3, 4)))
    answer_command(command, Outcome(status=OutcomeStatus.REJECTED, data={"cleared": [3], "not_cleared": {"4": "x"}}))
    assert sorted(VariableMonitor.objects.values_list("monitor_id", flat=True)) == [4, 5]
