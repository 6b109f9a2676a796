"""The command API: 202 with the command, status and result by id, `wait`, errors as 4xx."""

import threading
import time

import pytest
from django.contrib.auth.models import Permission
from django.db import close_old_connections
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory
from ocpp_gateway.v16 import codec
from sites.commands import intent_of, settle_command
from sites.models import Command, CommandStatus
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db


def _charger_answers(command_id: int, result: dict) -> None:
    """Settle the command as the gateway does with the charger's 1.6 answer."""
    outcome = codec.decode(intent_of(Command.objects.get(pk=command_id)), result)
    settle_command(command_id=command_id, at=timezone.now(), outcome=outcome, result=result)


@pytest.fixture
def operator():
    """A viewer of the charger's organization, also allowed to send UnlockConnector."""
    charger = ChargerFactory(charge_point_id="API-1")
    ConnectorFactory(charger=charger, connector_id=1)
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="viewer")
    user.user_permissions.add(Permission.objects.get(codename="send_unlock"))
    client = APIClient()
    client.force_authenticate(user)
    return client, charger


def test_post_queues_the_command_and_answers_202(operator):
    client, charger = operator
    response = client.post(
        "/api/v1/chargers/API-1/commands", {"action": "UnlockConnector", "payload": {"connectorId": 1}}, format="json"
    )
    assert response.status_code == 202
    body = response.json()
    assert (body["action"], body["status"], body["payload"]) == ("UnlockConnector", "queued", {"connectorId": 1})
    command = Command.objects.get(pk=body["id"])
    assert (command.charger, command.requested_via) == (charger, "api")


def test_the_same_idempotency_key_returns_the_first_command(operator):
    client, _ = operator
    request = {"action": "UnlockConnector", "payload": {"connectorId": 1}, "idempotency_key": "k-1"}
    first = client.post("/api/v1/chargers/API-1/commands", request, format="json").json()
    second = client.post("/api/v1/chargers/API-1/commands", request, format="json").json()
    assert first["id"] == second["id"]
    assert Command.objects.count() == 1


@pytest.mark.parametrize(
    ("request_body", "field"),
    [
        ({"action": "SelfDestruct", "payload": {}}, "action"),
        ({"action": "UnlockConnector", "payload": {}}, "payload"),
        ({"action": "UnlockConnector", "payload": {"connectorId": "one"}}, "payload"),
        ({"action": "UnlockConnector", "payload": {"connectorId": 1, "extra": True}}, "payload"),
    ],
)
def test_bad_requests_get_400_with_a_message(operator, request_body, field):
    client, _ = operator
    response = client.post("/api/v1/chargers/API-1/commands", request_body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"][field]
    assert response.json()["detail"]
    assert not Command.objects.exists()


def test_a_command_kind_the_user_may_not_send_is_403(operator):
    client, _ = operator
    response = client.post(
        "/api/v1/chargers/API-1/commands", {"action": "Reset", "payload": {"type": "Hard"}}, format="json"
    )
    assert response.status_code == 403
    assert not Command.objects.exists()


def test_another_organizations_charger_and_commands_are_404(operator):
    client, _ = operator
    foreign = ChargerFactory(charge_point_id="FOREIGN-1")
    foreign_command = Command.objects.create(charger=foreign, action="Reset", expires_at=timezone.now())
    request = {"action": "UnlockConnector", "payload": {"connectorId": 1}}
    assert client.post("/api/v1/chargers/FOREIGN-1/commands", request, format="json").status_code == 404
    assert client.get("/api/v1/chargers/FOREIGN-1/commands").status_code == 404
    assert client.get(f"/api/v1/commands/{foreign_command.pk}").status_code == 404


def test_anonymous_callers_are_refused():
    assert APIClient().get("/api/v1/commands/1").status_code in (401, 403)


def test_get_returns_status_and_result(operator):
    client, _ = operator
    command_id = client.post(
        "/api/v1/chargers/API-1/commands", {"action": "UnlockConnector", "payload": {"connectorId": 1}}, format="json"
    ).json()["id"]
    _charger_answers(command_id, {"status": "Unlocked"})
    body = client.get(f"/api/v1/commands/{command_id}").json()
    assert (body["status"], body["result"]) == ("accepted", {"status": "Unlocked"})
    assert [c["id"] for c in client.get("/api/v1/chargers/API-1/commands").json()] == [command_id]


@pytest.mark.django_db(transaction=True)
def test_wait_holds_the_answer_until_the_command_finishes(operator):
    client, _ = operator
    command_id = client.post(
        "/api/v1/chargers/API-1/commands", {"action": "UnlockConnector", "payload": {"connectorId": 1}}, format="json"
    ).json()["id"]

    def charger_answers_later() -> None:
        time.sleep(0.5)
        _charger_answers(command_id, {"status": "Unlocked"})
        close_old_connections()

    answer = threading.Thread(target=charger_answers_later)
    answer.start()
    started = time.monotonic()
    body = client.get(f"/api/v1/commands/{command_id}", {"wait": 10}).json()
    answer.join()
    assert body["status"] == CommandStatus.ACCEPTED
    assert 0.4 < time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["soon", "-1", "31"])
def test_a_bad_wait_is_400(operator, wait):
    client, charger = operator
    command = Command.objects.create(charger=charger, action="Reset", expires_at=timezone.now())
    response = client.get(f"/api/v1/commands/{command.pk}", {"wait": wait})
    assert response.status_code == 400
    assert response.json()["errors"]["wait"]


@pytest.mark.parametrize(
    ("role", "action", "payload", "allowed"),
    [
        ("viewer", "Reset", {"type": "Soft"}, False),
        ("maintenance", "Reset", {"type": "Soft"}, True),
        ("maintenance", "RemoteStartTransaction", {"idTag": "T"}, False),
        ("operator", "RemoteStartTransaction", {"idTag": "T"}, True),
        ("partner", "RemoteStartTransaction", {"idTag": "T"}, True),
        ("partner", "Reset", {"type": "Soft"}, False),
    ],
)
def test_roles_decide_which_commands_a_member_may_send(role, action, payload, allowed):
    """S16: view-only roles cannot send commands; maintenance sends maintenance commands only."""
    charger = ChargerFactory(charge_point_id="ROLE-1")
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    client = APIClient()
    client.force_authenticate(user)
    response = client.post("/api/v1/chargers/ROLE-1/commands", {"action": action, "payload": payload}, format="json")
    assert response.status_code == (202 if allowed else 403)


def test_a_role_in_one_organization_gives_nothing_in_another():
    mine, theirs = ChargerFactory(charge_point_id="MINE"), ChargerFactory(charge_point_id="THEIRS")
    user = UserFactory()
    MembershipFactory(user=user, organization=mine.site.organization, role="operator")
    MembershipFactory(user=user, organization=theirs.site.organization, role="viewer")
    client = APIClient()
    client.force_authenticate(user)
    request = {"action": "Reset", "payload": {"type": "Soft"}}
    assert client.post("/api/v1/chargers/MINE/commands", request, format="json").status_code == 202
    assert client.post("/api/v1/chargers/THEIRS/commands", request, format="json").status_code == 403


@pytest.mark.django_db(transaction=True)
def test_waits_beyond_half_the_request_threads_are_answered_at_once(operator, monkeypatch):
    """A waiting request holds a request thread (S24): the others are kept for everyone else."""
    from ocpp_gateway.api import views

    client, _ = operator
    command_id = client.post(
        "/api/v1/chargers/API-1/commands", {"action": "UnlockConnector", "payload": {"connectorId": 1}}, format="json"
    ).json()["id"]
    monkeypatch.setattr(views, "_waiting", threading.BoundedSemaphore(1))
    assert views._waiting.acquire(blocking=False)  # someone else is waiting already
    started = time.monotonic()
    body = client.get(f"/api/v1/commands/{command_id}", {"wait": 10}).json()
    assert body["status"] == CommandStatus.QUEUED
    assert time.monotonic() - started < 2


@pytest.fixture
def operator_client():
    """An operator of a charger with connectors 1 and 2 (may send every command kind)."""
    charger = ChargerFactory(charge_point_id="API-2")
    ConnectorFactory(charger=charger, connector_id=1)
    ConnectorFactory(charger=charger, connector_id=2)
    user = UserFactory()
    MembershipFactory(user=user, organization=charger.site.organization, role="operator")
    client = APIClient()
    client.force_authenticate(user)
    return client


def _post(client: APIClient, action: str, payload: dict):
    return client.post("/api/v1/chargers/API-2/commands", {"action": action, "payload": payload}, format="json")


@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationkey", "SecurityProfile"])
def test_a_charger_key_cannot_be_set_through_the_api(operator_client, key):
    """Issue 15, item 2: answered 202 before, then locked the charger out, key in clear."""
    secret = "0123456789abcdef0123456789abcdef01234567"
    response = _post(operator_client, "ChangeConfiguration", {"key": key, "value": secret})
    assert response.status_code == 400
    assert "cannot be" in response.json()["errors"]["payload"][0]
    assert secret not in response.content.decode()
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("action", "location"),
    [
        ("UpdateFirmware", "file:///etc/passwd"),
        ("UpdateFirmware", "http://169.254.169.254/latest/meta-data/"),
        ("GetDiagnostics", "http://10.0.0.1/"),
        ("GetDiagnostics", "http://[::1]/"),
        ("UpdateFirmware", "http://2130706433/"),
        ("GetDiagnostics", "http://localhost:8000/"),
    ],
)
def test_urls_into_our_own_network_are_400(operator_client, action, location):
    """Issue 15, item 6a (S20): six of six were accepted with 202."""
    payload = {"location": location}
    if action == "UpdateFirmware":
        payload["retrieveDate"] = "2026-01-01T00:00:00Z"
    response = _post(operator_client, action, payload)
    assert response.status_code == 400
    assert response.json()["errors"]["payload"][0].startswith("location: ")
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("action", "payload", "message"),
    [
        ("UnlockConnector", {"connectorId": 99}, "API-2 has no connector 99; its connectors: 1, 2."),
        ("UnlockConnector", {"connectorId": 0}, "connector 0 (the whole charger) is not allowed"),
        ("ChangeAvailability", {"connectorId": 3, "type": "Inoperative"}, "(or 0 for the whole charger)"),
        ("RemoteStopTransaction", {"transactionId": 12345}, "is not a transaction in progress on API-2"),
    ],
)
def test_values_that_do_not_fit_this_charger_are_400(operator_client, action, payload, message):
    """Issue 15, item 6c: valid for the schema, wrong for this charger."""
    response = _post(operator_client, action, payload)
    assert response.status_code == 400
    assert message in response.json()["errors"]["payload"][0]
    assert not Command.objects.exists()


def test_connector_zero_means_the_whole_charger_where_the_spec_allows_it(operator_client):
    assert _post(operator_client, "ChangeAvailability", {"connectorId": 0, "type": "Inoperative"}).status_code == 202


def test_the_command_list_shows_the_callers_chargers_filtered_and_ordered(operator):
    client, charger = operator
    other_charger = ChargerFactory(charge_point_id="API-2", site=charger.site)
    ConnectorFactory(charger=other_charger, connector_id=1)
    stranger = ChargerFactory(charge_point_id="ELSEWHERE")  # another organization's
    for target in (charger, other_charger, stranger):
        response = client.post(
            f"/api/v1/chargers/{target.charge_point_id}/commands",
            {"action": "UnlockConnector", "payload": {"connectorId": 1}},
            format="json",
        )
        if target is stranger:
            assert response.status_code == 404
    Command.objects.create(charger=stranger, intent="reset", expires_at=timezone.now())
    first = Command.objects.filter(charger=charger).get()
    _charger_answers(first.pk, {"status": "Unlocked"})

    listed = client.get("/api/v1/commands").json()
    assert [row["charge_point_id"] for row in listed["results"]] == ["API-2", "API-1"]  # newest first
    only_one = client.get("/api/v1/commands", {"charge_point_id": "API-1", "status": "accepted"}).json()
    assert [row["id"] for row in only_one["results"]] == [first.pk]
    by_finish = client.get("/api/v1/commands", {"ordering": "-finished_at", "requested_via": "api"}).json()
    assert by_finish["count"] == 2
    assert client.get("/api/v1/commands", {"charge_point_id": "ELSEWHERE"}).json()["count"] == 0
    assert client.get("/api/v1/commands", {"status": "exploded"}).status_code == 400
