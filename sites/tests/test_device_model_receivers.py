"""B07.FR.14: a 2.0.1 station's full device model is asked for at its first connection and
after it boots with other firmware; never of a 1.6 charger or a Rejected station."""

import pytest
from django.utils import timezone

from sites.commands.intents import ReportBase, RequestReport
from sites.models import Charger, Command
from sites.services import BootInfo, record_boot
from sites.tests.factories import ChargerFactory

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
