"""Commands that name a transaction: the outbound port asks charging whether it is in
progress on this charger (issue 15, item 6c)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from charging.tests.factories import ChargingSessionFactory
from sites.commands import request_command
from sites.commands.intents import (
    ChargingProfileSpec,
    Intent,
    RemoteStart,
    RemoteStop,
    SchedulePeriod,
    SetChargingProfile,
)
from sites.models import Charger, Command
from sites.services import connector_for, register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def _profile(purpose: str, transaction_id: str | None = None) -> ChargingProfileSpec:
    return ChargingProfileSpec(
        profile_id=1, stack_level=0, purpose=purpose, kind="Absolute", rate_unit="W",
        periods=(SchedulePeriod(start=0, limit=16),), transaction_id=transaction_id,
    )  # fmt: skip


@pytest.fixture
def charger() -> Charger:
    return register_charger(site=SiteFactory(), charge_point_id="RULES-1", connector_count=2)


def refused(charger: Charger, intent: Intent) -> str:
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, intent=intent)
    assert not Command.objects.filter(intent=intent.kind).exists()
    return " ".join(error.value.messages)


def test_remote_stop_needs_a_transaction_in_progress_on_this_charger(charger):
    other = register_charger(site=charger.site, charge_point_id="RULES-2", connector_count=1)
    mine = ChargingSessionFactory(charger=charger, connector=charger.connectors.get(connector_id=1), transaction_id=41)
    ChargingSessionFactory(charger=other, connector=other.connectors.get(), transaction_id=42)
    ChargingSessionFactory(
        charger=charger,
        connector=charger.connectors.get(connector_id=2),
        transaction_id=43,
        state="completed",
        stopped_at=timezone.now(),
    )
    for transaction_id in (42, 43, 99):  # another charger's, finished, unknown
        message = refused(charger, RemoteStop(transaction_id=str(transaction_id)))
        assert message == f"Transaction {transaction_id} is not a transaction in progress on RULES-1 (in progress: 41)."
    assert request_command(charger=charger, intent=RemoteStop(transaction_id=str(mine.transaction_id)))


def test_a_201_stations_own_transaction_ids_are_stopped_and_profiled_by_evse(charger):
    station = register_charger(site=charger.site, charge_point_id="RULES-201", connector_count=0, ocpp_version="2.0.1")
    evse_2 = connector_for(station.pk, 1, evse_id=2)
    ChargingSessionFactory(charger=station, connector=evse_2, transaction_id=None, transaction_uid="TX-A")
    message = refused(station, RemoteStop(transaction_id="TX-B"))
    assert message == "Transaction TX-B is not a transaction in progress on RULES-201 (in progress: TX-A)."
    assert request_command(charger=station, intent=RemoteStop(transaction_id="TX-A"))
    profile = _profile("TxProfile", transaction_id="TX-A")
    refused(station, SetChargingProfile(connector=1, evse=1, profile=profile))
    assert request_command(charger=station, intent=SetChargingProfile(connector=1, evse=2, profile=profile))
    assert request_command(charger=station, intent=SetChargingProfile(connector=2, profile=profile))  # EVSE 2


def test_a_tx_profile_needs_its_transaction_in_progress_on_that_connector(charger):
    ChargingSessionFactory(charger=charger, connector=charger.connectors.get(connector_id=1), transaction_id=7)
    profile = _profile("TxProfile", transaction_id="7")
    refused(charger, SetChargingProfile(connector=2, profile=profile))
    assert request_command(charger=charger, intent=SetChargingProfile(connector=1, profile=profile))


def test_a_retry_with_the_same_idempotency_key_gets_the_first_command_after_the_transaction_ended(charger):
    session = ChargingSessionFactory(
        charger=charger, connector=charger.connectors.get(connector_id=1), transaction_id=8
    )
    first = request_command(charger=charger, intent=RemoteStop(transaction_id="8"), idempotency_key="stop-8")
    session.state, session.stopped_at = "completed", timezone.now()
    session.save()
    again = request_command(charger=charger, intent=RemoteStop(transaction_id="8"), idempotency_key="stop-8")
    assert again.pk == first.pk
    with pytest.raises(ValidationError):  # a new request is checked
        request_command(charger=charger, intent=RemoteStop(transaction_id="8"))
    assert Command.objects.count() == 1


def test_a_remote_start_profile_must_be_a_transaction_profile(charger):
    message = refused(charger, RemoteStart(id_token="T", connector=1, charging_profile=_profile("TxDefaultProfile")))
    assert "transaction profile" in message
    assert request_command(charger=charger, intent=RemoteStart(id_token="T", charging_profile=_profile("TxProfile")))
