"""Commands that name a transaction: the outbound port asks charging whether it is in
progress on this charger (issue 15, item 6c)."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from charging.tests.factories import ChargingSessionFactory
from sites.commands import request_command
from sites.models import Charger, Command
from sites.services import register_charger
from sites.tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def charger() -> Charger:
    return register_charger(site=SiteFactory(), charge_point_id="RULES-1", connector_count=2)


def refused(charger: Charger, action: str, payload: dict) -> str:
    with pytest.raises(ValidationError) as error:
        request_command(charger=charger, action=action, payload=payload)
    assert not Command.objects.filter(action=action).exists()
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
        message = refused(charger, "RemoteStopTransaction", {"transactionId": transaction_id})
        assert (
            message == f"transactionId {transaction_id} is not a transaction in progress on RULES-1 (in progress: 41)."
        )
    assert request_command(
        charger=charger, action="RemoteStopTransaction", payload={"transactionId": mine.transaction_id}
    )


def test_a_tx_profile_needs_its_transaction_in_progress_on_that_connector(charger):
    ChargingSessionFactory(charger=charger, connector=charger.connectors.get(connector_id=1), transaction_id=7)
    profile = {"chargingProfilePurpose": "TxProfile", "transactionId": 7}
    refused(charger, "SetChargingProfile", {"connectorId": 2, "csChargingProfiles": profile})
    assert request_command(
        charger=charger, action="SetChargingProfile", payload={"connectorId": 1, "csChargingProfiles": profile}
    )


def test_a_retry_with_the_same_idempotency_key_gets_the_first_command_after_the_transaction_ended(charger):
    session = ChargingSessionFactory(
        charger=charger, connector=charger.connectors.get(connector_id=1), transaction_id=8
    )
    first = request_command(
        charger=charger, action="RemoteStopTransaction", payload={"transactionId": 8}, idempotency_key="stop-8"
    )
    session.state, session.stopped_at = "completed", timezone.now()
    session.save()
    again = request_command(
        charger=charger, action="RemoteStopTransaction", payload={"transactionId": 8}, idempotency_key="stop-8"
    )
    assert again.pk == first.pk
    with pytest.raises(ValidationError):  # a new request is checked
        request_command(charger=charger, action="RemoteStopTransaction", payload={"transactionId": 8})
    assert Command.objects.count() == 1
