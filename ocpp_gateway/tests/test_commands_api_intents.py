"""The command API's two request forms (issue 16): the neutral form names an intent and its
fields; the raw form (today's `{"action", "payload"}`) is a call of the charger's own version.
Permissions are per intent kind."""

import pytest
from django.contrib.auth.models import Permission
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from sites.commands import intent_of
from sites.commands.intents import INTENT_TYPES, RemoteStart, Reset, Unlock
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db
URL = "/api/v1/chargers/INT-1/commands"


def _client(role: str, *grants: str) -> APIClient:
    charger = ChargerFactory(charge_point_id="INT-1")
    ConnectorFactory(charger=charger, connector_id=1)
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    user.user_permissions.add(*Permission.objects.filter(codename__in=grants))
    client = APIClient()
    client.force_authenticate(user)
    return client


@pytest.fixture
def operator() -> APIClient:
    return _client("operator")


def test_the_neutral_form_queues_the_intent(operator):
    response = operator.post(URL, {"intent": "unlock", "connector": 1}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["intent"], body["fields"], body["status"]) == ("unlock", {"connector": 1, "evse": None}, "queued")
    # The wire form is made by the charger's codec when the command is sent.
    assert (body["action"], body["payload"]) == ("", {})
    assert intent_of(Command.objects.get(pk=body["id"])) == Unlock(connector=1)


def test_the_neutral_form_takes_nested_and_optional_fields(operator):
    body = {"intent": "remote_start", "id_token": "TAG", "idempotency_key": "start-1"}
    first = operator.post(URL, body, format="json").json()
    again = operator.post(URL, body, format="json").json()
    assert first["id"] == again["id"]
    command = Command.objects.get()
    # The remote start id left out is the command's own (a 2.0.1 station puts it in its
    # transaction's events, F01.FR.25): two starts never share one.
    assert intent_of(command) == RemoteStart(id_token="TAG", remote_start_id=command.pk)
    assert operator.post(URL, {"intent": "reset", "hard": True}, format="json").status_code == 202
    assert intent_of(Command.objects.filter(intent="reset").get()) == Reset(hard=True)


def test_the_raw_form_is_stored_as_the_intent_it_amounts_to(operator):
    response = operator.post(URL, {"action": "UnlockConnector", "payload": {"connectorId": 1}}, format="json")
    assert response.status_code == 202
    body = response.json()
    assert (body["intent"], body["action"], body["payload"]) == ("unlock", "UnlockConnector", {"connectorId": 1})
    spelled_out = {"intent": "raw", "action": "UnlockConnector", "payload": {"connectorId": 1}}
    assert operator.post(URL, spelled_out, format="json").json()["intent"] == "unlock"


@pytest.mark.parametrize(
    ("request_body", "field", "message"),
    [
        ({"intent": "self_destruct"}, "intent", "Unknown intent; one of: "),
        ({"intent": 7}, "intent", "Unknown intent"),
        ({"intent": "rotate_key"}, "intent", "Unknown intent"),  # only the admin's rotation makes the key
        ({"intent": "unlock", "connector": 1, "bogus": 2}, "bogus", "Not a field of this intent."),
        ({"intent": "unlock"}, "connector", "required"),
        ({"intent": "unlock", "connector": "one"}, "connector", "integer"),
        ({"intent": "unlock", "connector": -1}, "connector", "greater than or equal to 0"),
        ({"intent": "remote_start", "id_token": ""}, "id_token", "blank"),
        ({"intent": "reset", "hard": "very"}, "hard", "boolean"),
        ({"intent": "unlock", "connector": 99}, "non_field_errors", "INT-1 has no connector 99"),
        # Valid neutral fields that the charger's version (1.6) cannot carry.
        ({"intent": "remote_start", "id_token": "T" * 21}, "non_field_errors", "OCPP 1.6 cannot carry this"),
        ({"intent": "unlock", "connector": 1, "evse": 1}, "non_field_errors", "OCPP 1.6 has no EVSEs"),
        ({"intent": "trigger_message", "message": "bogus"}, "non_field_errors", "OCPP 1.6 cannot trigger"),
        ({"action": "SelfDestruct", "payload": {}}, "action", "SelfDestruct"),
        ({"action": "UnlockConnector", "payload": {"connectorId": 1, "extra": True}}, "payload", ""),
    ],
)
def test_bad_requests_are_400_naming_the_field(operator, request_body, field, message):
    response = operator.post(URL, request_body, format="json")
    assert response.status_code == 400
    assert message in " ".join(response.json()["errors"][field])
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("role", "grants", "request_body", "allowed"),
    [
        ("viewer", ["send_unlock"], {"intent": "unlock", "connector": 1}, True),
        ("viewer", ["send_unlock"], {"action": "UnlockConnector", "payload": {"connectorId": 1}}, True),
        ("viewer", ["send_unlock"], {"intent": "reset"}, False),
        ("viewer", ["send_raw"], {"action": "UnlockConnector", "payload": {"connectorId": 1}}, True),
        ("viewer", ["send_raw"], {"intent": "unlock", "connector": 1}, False),
        ("partner", [], {"intent": "remote_start", "id_token": "T"}, True),
        ("partner", [], {"action": "RemoteStartTransaction", "payload": {"idTag": "T"}}, True),
        ("partner", [], {"action": "Reset", "payload": {"type": "Soft"}}, False),
        ("maintenance", [], {"intent": "reset"}, True),
        ("maintenance", [], {"action": "RemoteStartTransaction", "payload": {"idTag": "T"}}, False),
    ],
)
def test_permissions_are_per_intent_kind(role, grants, request_body, allowed):
    response = _client(role, *grants).post(URL, request_body, format="json")
    assert response.status_code == (202 if allowed else 403)


def test_both_forms_are_in_the_schema_with_examples():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    post = schema["paths"]["/api/v1/chargers/{charge_point_id}/commands"]["post"]
    body = post["requestBody"]["content"]["application/json"]
    variants = {ref["$ref"].rsplit("/", 1)[1] for ref in schema["components"]["schemas"]["CommandRequest"]["oneOf"]}
    assert {"UnlockIntentRequest", "RemoteStartIntentRequest", "RawCommandRequest"} <= variants
    assert len(variants) == len(INTENT_TYPES) - 1  # rotate_key is not asked for here; raw is the raw form
    unlock = schema["components"]["schemas"]["UnlockIntentRequest"]
    assert set(unlock["required"]) == {"intent", "connector"}
    examples = [example["value"] for example in body["examples"].values()]
    assert {"intent": "unlock", "connector": 1} in examples
    assert {"action": "UnlockConnector", "payload": {"connectorId": 1}} in examples
