"""Where a token may charge, edited on the token's admin page (2.0.1 C01.FR.19-22)."""

import pytest

from charging.models import IdTokenPlace
from charging.tests.factories import IdTokenFactory
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db


def _form(token, charger, evse_id: str = "") -> dict:
    return {
        "organization": token.organization_id,
        "id_tag": token.id_tag,
        "kind": token.kind,
        "status": token.status,
        "expires_at_0": "",
        "expires_at_1": "",
        "parent_id_tag": "",
        "holder_name": "",
        "charging_priority": "0",
        "places-TOTAL_FORMS": "1",
        "places-INITIAL_FORMS": "0",
        "places-MIN_NUM_FORMS": "0",
        "places-MAX_NUM_FORMS": "1000",
        "places-0-charger": charger.pk,
        "places-0-evse_id": evse_id,
    }


def test_a_place_is_a_charger_of_the_tokens_organization(admin_client):
    token = IdTokenFactory()
    own = ChargerFactory(site__organization=token.organization)
    foreign = ChargerFactory()
    url = f"/admin/charging/idtoken/{token.pk}/change/"
    refused = admin_client.post(url, _form(token, foreign))
    assert refused.status_code == 200
    assert "Not a charger of the token" in refused.content.decode()
    assert not IdTokenPlace.objects.exists()
    saved = admin_client.post(url, _form(token, own, evse_id="2"))
    assert saved.status_code == 302, saved.content.decode()[:2000]
    assert list(IdTokenPlace.objects.values_list("token", "charger", "evse_id")) == [(token.pk, own.pk, 2)]
