"""Inbound events (issue 20): a trusted system's requests, mapped onto the admin's services with
the same permissions, idempotent by Idempotency-Key, refused to people."""

import pytest
from rest_framework.test import APIClient

from accounts.models import Activity
from accounts.tests.api import api_client_of
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import IdToken
from charging.tests.factories import ChargingSessionFactory, IdTokenFactory
from integrations.models import InboundEvent
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/integrations/events"


@pytest.fixture
def org():
    return OrganizationFactory(name="Alpha Charging", slug="alpha")


@pytest.fixture
def charger(org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-IN")
    ConnectorFactory(charger=charger, connector_id=1)
    return charger


def send(api, key, event_type, data):
    return api.post(URL, {"type": event_type, "data": data}, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_session_start_queues_a_remote_start_once_per_key(org, charger):
    api = api_client_of(org, ["read", "commands"])
    first = send(api, "evt-1", "session.start", {"charge_point_id": "CP-IN", "id_tag": "CARD-9", "connector_id": 1})
    assert first.status_code == 202, first.content
    command = Command.objects.get()
    assert (command.intent, command.fields["id_token"], command.requested_via) == ("remote_start", "CARD-9", "api")
    assert first.json()["command"]["id"] == command.pk
    again = send(api, "evt-1", "session.start", {"charge_point_id": "CP-IN", "id_tag": "CARD-9", "connector_id": 1})
    assert again.status_code == 202
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert Command.objects.count() == 1


def test_a_key_reused_for_another_request_is_refused(org, charger):
    api = api_client_of(org, ["read", "commands"])
    send(api, "evt-1", "session.start", {"charge_point_id": "CP-IN", "id_tag": "CARD-9"})
    other = send(api, "evt-1", "session.start", {"charge_point_id": "CP-IN", "id_tag": "CARD-10"})
    assert other.status_code == 422
    assert "Idempotency-Key" in other.json()["detail"]
    assert Command.objects.count() == 1


def test_a_failed_event_stores_nothing_and_may_be_sent_again_with_the_key(org, charger):
    api = api_client_of(org, ["read", "commands"])
    unknown = send(api, "evt-2", "session.start", {"charge_point_id": "NOPE", "id_tag": "CARD-9"})
    assert unknown.status_code == 404
    assert not InboundEvent.objects.exists()
    assert send(api, "evt-2", "session.start", {"charge_point_id": "CP-IN", "id_tag": "CARD-9"}).status_code == 202


def test_session_stop_goes_through_the_stop_service_with_its_reason(org, charger):
    session = ChargingSessionFactory(connector=charger.connectors.get(), transaction_id=77)
    api = api_client_of(org, ["read", "commands"])
    answer = send(api, "stop-1", "session.stop", {"session_id": session.pk, "reason": "app: driver tapped stop"})
    assert answer.status_code == 202, answer.content
    assert Command.objects.get().intent == "remote_stop"
    assert Activity.objects.filter(verb="stop requested", changes__reason="app: driver tapped stop").exists()


def test_blocking_a_token_needs_the_tokens_scope(org):
    IdTokenFactory(organization=org, id_tag="LOST-CARD")
    refused = send(api_client_of(org, ["read"]), "blk-1", "id_token.block", {"id_tag": "lost-card"})
    assert refused.status_code == 403
    answer = send(api_client_of(org, ["read", "tokens"]), "blk-1", "id_token.block", {"id_tag": "lost-card"})
    assert answer.status_code == 202
    assert answer.json()["id_token"]["status"] == "Blocked"
    assert IdToken.objects.get().status == "Blocked"


def test_another_organizations_charger_is_not_found(charger):
    other = OrganizationFactory(slug="other")
    answer = send(
        api_client_of(other, ["read", "commands"]), "x-1", "session.start", {"charge_point_id": "CP-IN", "id_tag": "A"}
    )
    assert answer.status_code == 404
    assert not Command.objects.exists()


def test_people_and_requests_without_a_key_are_refused(org, charger):
    person = UserFactory()
    MembershipFactory(user=person, organization=org, role="admin")
    api = APIClient()
    api.force_authenticate(person)
    assert send(api, "k", "session.start", {"charge_point_id": "CP-IN", "id_tag": "A"}).status_code == 403
    client = api_client_of(org, ["read", "commands"])
    keyless = client.post(URL, {"type": "session.start", "data": {}}, format="json")
    assert keyless.status_code == 400
    assert "Idempotency-Key" in keyless.json()["errors"]
    assert send(client, "k2", "session.teleport", {}).status_code == 400
    assert send(client, "k3", "session.start", {"id_tag": "A"}).status_code == 400


@pytest.fixture
def tariff(org):
    from billing.models import Tariff

    return Tariff.objects.create(organization=org, name="Standard", price_per_kwh="0.30", vat_percent="20")


def test_tariff_update_changes_prices_through_the_tariff_service_once_per_key(org, tariff):
    api = api_client_of(org, ["read", "tariffs"])
    data = {"tariff_id": tariff.pk, "changes": {"price_per_kwh": "0.35", "bands": [
        {"start_time": "22:00", "end_time": "06:00", "price_per_kwh": "0.20"}]}}  # fmt: skip
    answer = send(api, "tariff-1", "tariff.update", data)
    assert answer.status_code == 202, answer.content
    body = answer.json()["tariff"]
    assert (body["id"], body["price_per_kwh"], len(body["bands"])) == (tariff.pk, "0.3500", 1)
    tariff.refresh_from_db()
    assert str(tariff.price_per_kwh) == "0.3500"
    activity = Activity.objects.filter(verb="changed", via="api").get()
    assert "price_per_kwh" in str(activity.changes)
    again = send(api, "tariff-1", "tariff.update", data)
    assert (again.status_code, again["Idempotent-Replayed"]) == (202, "true")
    assert Activity.objects.filter(verb="changed", via="api").count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"price_per_kwh": "-1"}, "price_per_kwh"),
        ({"max_price": "1", "min_price": "5"}, "max"),
        ({"currency": "XYZ"}, "currency"),
        ({"organization": 99}, "organization"),
        ({"colour": "blue"}, "colour"),
        ({}, "changes"),
    ],
)
def test_a_refused_tariff_change_answers_400_and_changes_nothing(org, tariff, changes, message):
    answer = send(
        api_client_of(org, ["read", "tariffs"]), "bad", "tariff.update", {"tariff_id": tariff.pk, "changes": changes}
    )
    assert answer.status_code == 400, answer.content
    assert message in str(answer.json()).lower() or message in str(answer.json())
    tariff.refresh_from_db()
    assert (str(tariff.price_per_kwh), tariff.min_price, tariff.currency) == ("0.3000", None, "EUR")
    assert not InboundEvent.objects.exists()


def test_tariff_update_needs_the_tariffs_scope_and_a_tariff_of_ones_own(org, tariff):
    data = {"tariff_id": tariff.pk, "changes": {"price_per_kwh": "9"}}
    assert send(api_client_of(org, ["read", "commands"]), "t-1", "tariff.update", data).status_code == 403
    other = OrganizationFactory(slug="other")
    assert send(api_client_of(other, ["read", "tariffs"]), "t-2", "tariff.update", data).status_code == 404
    tariff.refresh_from_db()
    assert str(tariff.price_per_kwh) == "0.3000"
