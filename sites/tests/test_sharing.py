"""Chargers shared with partner organizations (issue 5): django-guardian object permissions."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from rest_framework.test import APIClient

from accounts.models import Organization
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.tests.factories import ChargingSessionFactory
from sites.models import ChargerShare
from sites.sharing import share_charger, unshare_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def partner_client():
    partner = OrganizationFactory(name="Roaming partner", slug="roaming", kind=Organization.Kind.PARTNER)
    user = UserFactory()
    MembershipFactory(user=user, organization=partner, role="partner")
    client = APIClient()
    client.force_authenticate(user)
    return client, partner


def test_a_partner_sees_only_what_was_shared_and_may_only_start_and_stop(partner_client):
    client, partner = partner_client
    shared = ChargerFactory(charge_point_id="SHARED-1")
    private = ChargerFactory(charge_point_id="PRIVATE-1", site=shared.site)
    session = ChargingSessionFactory(connector=ConnectorFactory(charger=shared))
    ChargingSessionFactory(connector=ConnectorFactory(charger=private))
    share_charger(charger=shared, partner=partner)

    assert [c["charge_point_id"] for c in client.get("/api/v1/chargers").json()["results"]] == ["SHARED-1"]
    assert [s["id"] for s in client.get("/api/v1/sessions").json()["results"]] == [session.pk]
    assert client.get(f"/api/v1/sessions/{session.pk}/meter-values").status_code == 200
    assert client.get("/api/v1/chargers/PRIVATE-1").status_code == 404

    start = {"action": "RemoteStartTransaction", "payload": {"idTag": "ROAM-1"}}
    assert client.post("/api/v1/chargers/SHARED-1/commands", start, format="json").status_code == 202
    reset = {"action": "Reset", "payload": {"type": "Soft"}}
    assert client.post("/api/v1/chargers/SHARED-1/commands", reset, format="json").status_code == 403
    assert client.post("/api/v1/chargers/PRIVATE-1/commands", start, format="json").status_code == 404


def test_unsharing_takes_everything_back(partner_client):
    client, partner = partner_client
    charger = ChargerFactory(charge_point_id="SHARED-2")
    share = share_charger(charger=charger, partner=partner)
    assert client.get("/api/v1/chargers/SHARED-2").status_code == 200
    unshare_charger(share=share)
    assert client.get("/api/v1/chargers/SHARED-2").status_code == 404
    start = {"action": "RemoteStartTransaction", "payload": {"idTag": "ROAM-1"}}
    assert client.post("/api/v1/chargers/SHARED-2/commands", start, format="json").status_code == 404


def test_a_removed_partner_member_loses_access(partner_client):
    client, partner = partner_client
    share_charger(charger=ChargerFactory(charge_point_id="SHARED-3"), partner=partner)
    partner.memberships.get().delete()
    assert client.get("/api/v1/chargers/SHARED-3").status_code == 404


def test_chargers_are_shared_with_partner_organizations_only():
    with pytest.raises(ValidationError):
        share_charger(charger=ChargerFactory(), partner=OrganizationFactory(kind=Organization.Kind.OPERATOR))


def test_an_operator_shares_a_charger_from_the_admin(admin_client, partner_client):
    _, partner = partner_client
    charger = ChargerFactory()
    response = admin_client.post(
        reverse("admin:sites_chargershare_add"), {"charger": charger.pk, "partner": partner.pk}
    )
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert ChargerShare.objects.filter(charger=charger, partner=partner).exists()
