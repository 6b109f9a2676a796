"""Where a token may charge, through the API (2.0.1 C01.FR.19-22): written as a whole with the
token, chargers named by their charge point id, only chargers of the token's organization."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from charging.models import IdTokenPlace
from charging.tests.factories import IdTokenFactory
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_and_token():
    token = IdTokenFactory(id_tag="FLEET-1")
    user = UserFactory()
    MembershipFactory(user=user, organization=token.organization, role="operator")
    client = APIClient()
    client.force_authenticate(user)
    return client, token


def test_places_are_written_with_the_token_and_shown_with_it(operator_and_token):
    client, token = operator_and_token
    depot = ChargerFactory(site__organization=token.organization, charge_point_id="DEPOT-1")
    body = {"places": [{"charger": "DEPOT-1", "evse_id": 2}, {"charger": "DEPOT-1", "evse_id": 2}]}
    response = client.patch(f"/api/v1/id-tokens/{token.pk}", body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["places"] == [{"charger": "DEPOT-1", "evse_id": 2}]
    assert list(IdTokenPlace.objects.values_list("charger", "evse_id")) == [(depot.pk, 2)]
    assert client.get(f"/api/v1/id-tokens/{token.pk}").json()["places"] == [{"charger": "DEPOT-1", "evse_id": 2}]
    lifted = client.patch(f"/api/v1/id-tokens/{token.pk}", {"places": []}, format="json")
    assert lifted.json()["places"] == []
    assert not IdTokenPlace.objects.exists()


def test_a_charger_of_another_organization_is_refused_like_one_that_does_not_exist(operator_and_token):
    client, token = operator_and_token
    ChargerFactory(charge_point_id="ELSEWHERE-1")
    for name in ("ELSEWHERE-1", "NO-SUCH-CP"):
        response = client.patch(f"/api/v1/id-tokens/{token.pk}", {"places": [{"charger": name}]}, format="json")
        assert response.status_code == 400
        assert "does not exist" in str(response.json()), response.json()
    zero = client.patch(f"/api/v1/id-tokens/{token.pk}", {"places": [{"charger": "X", "evse_id": 0}]}, format="json")
    assert zero.status_code == 400
    assert not IdTokenPlace.objects.exists()


def test_the_charging_priority_is_written_shown_and_kept_within_minus_9_to_9(operator_and_token):
    """2.0.1 IdTokenInfoType.chargingPriority: -9 to 9, 0 by default."""
    client, token = operator_and_token
    assert client.get(f"/api/v1/id-tokens/{token.pk}").json()["charging_priority"] == 0
    response = client.patch(f"/api/v1/id-tokens/{token.pk}", {"charging_priority": 9}, format="json")
    assert (response.status_code, response.json()["charging_priority"]) == (200, 9)
    refused = client.patch(f"/api/v1/id-tokens/{token.pk}", {"charging_priority": 10}, format="json")
    assert refused.status_code == 400
    assert "charging_priority" in refused.json()["errors"]
    token.refresh_from_db()
    assert token.charging_priority == 9
