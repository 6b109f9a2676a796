"""Publishing a charger's local authorization list through the API: the list built from the
organization's id tokens, full or differential, the next version, with the admin's permission;
the entries the charger holds once it accepted."""

import pytest
from rest_framework.test import APIClient

from accounts.tests.api import api_client_of, authenticated
from accounts.tests.factories import MembershipFactory, UserFactory
from charging.models import IdToken
from charging.tests.factories import IdTokenFactory
from sites.models import Command
from sites.tests.factories import ChargerFactory
from sites.tests.helpers import answer_command

pytestmark = pytest.mark.django_db

URL = "/api/v1/chargers/LL-1/local-list"


@pytest.fixture
def charger():
    charger = ChargerFactory(charge_point_id="LL-1")
    IdTokenFactory(organization=charger.site.organization, id_tag="AAA")
    IdTokenFactory(organization=charger.site.organization, id_tag="BBB", status=IdToken.Status.BLOCKED)
    IdTokenFactory(id_tag="OTHER-ORG")
    return charger


def _member(charger, role: str) -> APIClient:
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    return authenticated(user)


def test_a_full_list_then_a_differential_one_each_the_next_version(charger):
    api = _member(charger, "operator")
    published = api.post(URL, {"update_type": "full"}, format="json")
    assert published.status_code == 202, published.content
    body = published.json()
    assert (body["update_type"], body["version"], body["entries"]) == ("full", 1, 2)
    command = Command.objects.get(pk=body["command"]["id"])
    assert (command.intent, command.requested_via, command.fields["differential"]) == ("send_local_list", "api", False)
    assert api.get(URL).json()["count"] == 0  # held once the charger accepts
    answer_command(command)
    held = api.get(URL).json()
    assert [(entry["id_tag"], entry["status"]) for entry in held["results"]] == [
        ("AAA", "Accepted"),
        ("BBB", "Blocked"),
    ]
    assert api.get("/api/v1/chargers/LL-1").json()["local_list_version"] == 1

    IdToken.objects.filter(id_tag="AAA").update(status=IdToken.Status.BLOCKED)
    differential = api.post(URL, {"update_type": "differential"}, format="json").json()
    assert (differential["version"], differential["entries"]) == (2, 1)  # AAA only
    answer_command(Command.objects.get(pk=differential["command"]["id"]))
    assert [entry["status"] for entry in api.get(URL).json()["results"]] == ["Blocked", "Blocked"]


def test_the_update_type_defaults_to_full_and_must_be_known(charger):
    api = _member(charger, "operator")
    assert api.post(URL, {}, format="json").json()["update_type"] == "full"
    refused = api.post(URL, {"update_type": "partial"}, format="json")
    assert refused.status_code == 400
    assert "update_type" in refused.json()["errors"]


def test_a_viewer_an_api_client_without_commands_and_another_tenant_are_refused(charger):
    assert _member(charger, "viewer").post(URL, {}, format="json").status_code == 403
    api = api_client_of(charger.site.organization, ["read", "tokens"])
    assert api.post(URL, {}, format="json").status_code == 403
    assert _member(ChargerFactory(charge_point_id="ELSEWHERE"), "admin").post(URL, {}, format="json").status_code == 404
    assert not Command.objects.exists()
