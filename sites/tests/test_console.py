"""The charger page as an operations console (issue 19): the page's data, the outcome
sentences, the buttons' views and their permissions, the status endpoint, read-only protocol fields."""

import datetime as dt

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from sites.commands import intent_of
from sites.commands.intents import ChangeAvailability, Reset, TriggerMessage, Unlock
from sites.console import charger_console, outcome_sentence, uptime_bar
from sites.models import Charger, Command, CommandStatus, ConnectionEvent, Connector, ConnectorStatus, SecurityEvent
from sites.tests.factories import ChargerFactory, ConnectorFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)


def member_client(client, charger: Charger, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    client.force_login(user)
    return client


def operation_url(charger: Charger, name: str) -> str:
    return reverse("admin:sites_charger_console", args=[charger.pk, name])


@pytest.fixture
def charger() -> Charger:
    charger = ChargerFactory(is_online=True, connected_at=NOW - dt.timedelta(hours=2))
    ConnectorFactory(charger=charger, connector_id=1, status=ConnectorStatus.AVAILABLE)
    ConnectorFactory(charger=charger, connector_id=2, status=ConnectorStatus.FAULTED, error_code="GroundFailure")
    return charger


# --- Outcome sentences ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "status", "detail", "error", "sentence"),
    [
        ("unlock", "accepted", "Unlocked", "", "Unlocked"),
        ("unlock", "rejected", "UnlockFailed", "", "Rejected: the connector could not be unlocked"),
        ("change_availability", "rejected", "Occupied", "", "Rejected: the connector is occupied"),
        ("change_availability", "accepted", "Scheduled", "", "Scheduled: done once the running session ends"),
        ("change_availability", "accepted", "Accepted", "", "Availability changed"),
        ("reset", "accepted", "Accepted", "", "Reset accepted: the charger restarts"),
        ("remote_stop", "rejected", "Rejected", "", "Rejected"),
        ("unlock", "rejected", "NotSupported", "", "Rejected: the charger does not support it"),
        ("reset", "failed", "", "NotImplemented: unknown action", "Failed: NotImplemented: unknown action"),
        ("reset", "timed_out", "", "", "No answer from the charger in time"),
        ("reset", "expired", "", "", "Expired: the charger did not come back online in time"),
        ("reset", "queued", "", "", "Waiting to be sent"),
        ("reset", "sent", "", "", "Sent: waiting for the charger's answer"),
        ("raw", "accepted", "", "", "Accepted"),
        ("unlock", "rejected", "SomethingNew", "", "Rejected: SomethingNew"),
    ],
)
def test_outcome_sentence(kind, status, detail, error, sentence):
    assert outcome_sentence(kind, status, detail, error) == sentence


def test_outcome_sentence_with_the_chargers_reason_and_offline():
    assert outcome_sentence("unlock", "rejected", "Rejected", reason="Occupied: cable locked") == (
        "Rejected (Occupied: cable locked)"
    )
    assert outcome_sentence("reset", "queued", online=False) == "Waiting: sent when the charger is back online"


# --- The page's data --------------------------------------------------------------------------


def test_console_cards_and_the_offline_state(charger):
    console = charger_console(charger, now=NOW)
    assert [card.title for card in console.cards] == ["Connector 1", "Connector 2"]
    assert [card.state for card in console.cards] == ["Available", "Faulted"]
    assert console.cards[1].error == "GroundFailure"
    assert console.state_since == charger.connected_at
    charger.is_online = False
    offline = charger_console(charger, now=NOW)
    assert {card.state for card in offline.cards} == {"Unknown since offline"}
    assert all(card.stale and card.colour == "default" for card in offline.cards)


def test_console_reads_in_a_fixed_number_of_queries(charger, django_assert_max_num_queries):
    for number in range(3, 9):
        ConnectorFactory(charger=charger, connector_id=number)
    for hours in range(20):
        ConnectionEvent.objects.create(
            charger=charger, kind="online" if hours % 2 else "offline", at=NOW - dt.timedelta(hours=hours), reason="x"
        )
    # connectors, active sessions, tariff assignments + bands, meter values, 2 x connection events,
    # commands, security events
    with django_assert_max_num_queries(9):
        console = charger_console(charger, now=NOW)
    assert len(console.cards) == 8


def test_uptime_bar_from_connection_events(charger):
    events = [("online", 6 * 24), ("offline", 3 * 24), ("online", 24)]  # hours before NOW
    ConnectionEvent.objects.create(charger=charger, kind="offline", at=NOW - dt.timedelta(days=30), reason="x")
    for kind, hours in events:
        ConnectionEvent.objects.create(charger=charger, kind=kind, at=NOW - dt.timedelta(hours=hours), reason="x")
    segments, percent, last_offline = uptime_bar(charger, now=NOW)
    assert [segment.online for segment in segments] == [False, True, False, True]
    assert segments[0].left == 0
    assert round(sum(segment.width for segment in segments), 1) == 100.0
    assert percent == round(4 / 7 * 100, 1)
    assert last_offline == NOW - dt.timedelta(days=3)


def test_uptime_counts_from_the_first_connection(charger):
    ConnectionEvent.objects.create(charger=charger, kind="online", at=NOW - dt.timedelta(days=1), reason="x")
    segments, percent, _ = uptime_bar(charger, now=NOW)
    assert percent == 100.0
    assert segments[0].left == pytest.approx(100 * 6 / 7, abs=0.01)
    assert uptime_bar(ChargerFactory(), now=NOW)[:2] == ([], None)


# --- The page ---------------------------------------------------------------------------------


def test_page_shows_the_console_and_buttons_for_an_operator(client, charger):
    body = (
        member_client(client, charger, "operator")
        .get(reverse("admin:sites_charger_change", args=[charger.pk]))
        .content.decode()
    )
    assert 'id="charger-console"' in body
    assert "GroundFailure" in body
    for operation in ("soft_reset", "hard_reset", "trigger_status", "unlock", "unavailable"):
        assert f'data-operation="{operation}"' in body
    assert "?q=" + charger.charge_point_id in body  # its conversation
    assert f"charger__id__exact={charger.pk}" in body


def test_a_viewer_sees_no_command_buttons(client, charger):
    response = member_client(client, charger, "viewer").get(reverse("admin:sites_charger_change", args=[charger.pk]))
    body = response.content.decode()
    assert response.status_code == 200
    assert 'id="charger-console"' in body
    assert "data-operation=" not in body


# --- Buttons ----------------------------------------------------------------------------------


def test_a_viewer_may_not_press_a_button(client, charger):
    connector = charger.connectors.first()
    response = member_client(client, charger, "viewer").post(
        operation_url(charger, "unlock"), {"connector": connector.pk}
    )
    assert response.status_code == 403
    assert not Command.objects.exists()


def test_another_organizations_charger_is_not_found(client, charger):
    other = ChargerFactory()
    ConnectorFactory(charger=other)
    response = member_client(client, charger, "operator").post(
        operation_url(other, "unlock"), {"connector": other.connectors.first().pk}
    )
    assert response.status_code == 404
    assert not Command.objects.exists()


@pytest.mark.parametrize(
    ("operation", "connector_number", "intent"),
    [
        ("unlock", 2, Unlock(connector=2)),
        ("unavailable", 1, ChangeAvailability(operative=False, connector=1)),
        ("available", 1, ChangeAvailability(operative=True, connector=1)),
        ("soft_reset", None, Reset(hard=False)),
        ("hard_reset", None, Reset(hard=True)),
        ("trigger_status", 2, TriggerMessage(message="status", connector=2)),
    ],
)
def test_an_operator_queues_the_buttons_intent(client, charger, operation, connector_number, intent):
    data = {}
    if connector_number:
        data["connector"] = Connector.objects.get(charger=charger, connector_id=connector_number).pk
    response = member_client(client, charger, "operator").post(
        operation_url(charger, operation), data, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200, response.content
    command = Command.objects.get()
    assert intent_of(command) == intent
    assert command.requested_via == Command.Via.ADMIN
    body = response.json()
    assert body["command"]["id"] == command.pk
    assert body["status_url"] == reverse("admin:sites_charger_console_command", args=[charger.pk, command.pk])


def test_without_javascript_a_button_returns_to_the_page(client, charger):
    response = member_client(client, charger, "operator").post(operation_url(charger, "soft_reset"))
    assert response.status_code == 302
    assert response.url == reverse("admin:sites_charger_change", args=[charger.pk])


def test_a_connector_of_another_charger_is_refused(client, charger):
    other = ConnectorFactory(charger=ChargerFactory(site=charger.site), connector_id=1)
    response = member_client(client, charger, "operator").post(
        operation_url(charger, "unlock"), {"connector": other.pk}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 400
    assert "No such connector" in response.json()["error"]
    assert not Command.objects.exists()


def test_stop_without_a_running_session_is_refused(client, charger):
    response = member_client(client, charger, "operator").post(
        operation_url(charger, "stop"),
        {"connector": charger.connectors.first().pk, "reason": "driver asked"},
        HTTP_ACCEPT="application/json",
    )
    assert response.status_code == 400
    assert not Command.objects.exists()


def test_unknown_operation_is_not_found(client, charger):
    assert member_client(client, charger, "operator").post(operation_url(charger, "explode")).status_code == 404


def test_buttons_need_post(client, charger):
    assert member_client(client, charger, "operator").get(operation_url(charger, "soft_reset")).status_code == 405


# --- The status endpoint ----------------------------------------------------------------------


def test_status_endpoint_renders_the_outcome(client, charger):
    command = Command.objects.create(
        charger=charger, intent="unlock", fields={"connector": 1, "evse": None}, status=CommandStatus.REJECTED,
        result={"status": "UnlockFailed"}, message_id="m-1", expires_at=timezone.now(),
    )  # fmt: skip
    url = reverse("admin:sites_charger_console_command", args=[charger.pk, command.pk])
    body = member_client(client, charger, "viewer").get(url).json()["command"]
    assert body == {
        "id": command.pk, "intent": "unlock", "status": "rejected", "finished": True,
        "sentence": "Rejected: the connector could not be unlocked", "message_id": "m-1",
        "result": {"status": "UnlockFailed"},
    }  # fmt: skip


def test_status_endpoint_of_another_chargers_command_is_not_found(client, charger):
    other = ChargerFactory(site=charger.site)
    command = Command.objects.create(charger=other, intent="reset", expires_at=timezone.now())
    url = reverse("admin:sites_charger_console_command", args=[charger.pk, command.pk])
    assert member_client(client, charger, "operator").get(url).status_code == 404


def test_state_endpoint_gives_each_cards_state(client, charger):
    url = reverse("admin:sites_charger_console_state", args=[charger.pk])
    state = member_client(client, charger, "viewer").get(url).json()
    second = charger.connectors.get(connector_id=2)
    assert state["online"] is True
    assert state["cards"][str(second.pk)] == {
        "state": "Faulted", "colour": "danger", "error": "GroundFailure", "session": None,
    }  # fmt: skip


# --- Read-only protocol fields ----------------------------------------------------------------


def test_connector_status_cannot_be_edited_in_the_admin(admin_client, charger):
    connector = charger.connectors.get(connector_id=2)
    url = reverse("admin:sites_connector_change", args=[connector.pk])
    form = admin_client.get(url).context["adminform"].form
    assert not {"status", "error_code", "status_timestamp", "info", "vendor_error_code"} & set(form.fields)
    admin_client.post(url, {"charger": charger.pk, "connector_id": 2, "status": "Available", "error_code": "NoError"})
    connector.refresh_from_db()
    assert (connector.status, connector.error_code) == (ConnectorStatus.FAULTED, "GroundFailure")


def test_charger_form_has_no_protocol_fields(admin_client, charger):
    form = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).context["adminform"].form
    protocol = {"status", "error_code", "status_timestamp", "last_seen_at", "last_heartbeat_at", "ocpp_version",
                "vendor", "model", "serial_number", "firmware_version", "boot_reason"}  # fmt: skip
    assert not protocol & set(form.fields)
    inline = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).context[
        "inline_admin_formsets"
    ][0]
    assert not {"status", "error_code"} & set(inline.formset.forms[0].fields)


def test_stop_reason_is_required_and_audited_with_the_session(charger):
    # The page's stop goes through charging's stop service (registered with sites.console).
    from charging.tests.factories import ChargingSessionFactory
    from sites.console import running_sessions, stop_session

    session = ChargingSessionFactory(connector=charger.connectors.get(connector_id=1), transaction_id=7)
    [running] = running_sessions(charger).values()
    with pytest.raises(ValidationError):
        stop_session(session=running, reason="  ", requested_by=None)
    command = stop_session(session=running, reason="driver called", requested_by=None)
    assert intent_of(command).transaction_id == "7"
    assert Activity.objects.filter(
        verb="stop requested", object_id=str(session.pk), changes__reason="driver called"
    ).exists()


def test_a_201_charger_gets_evse_addressed_intents_and_its_device_model_button(client):
    charger = ChargerFactory(is_online=True, ocpp_version="2.0.1")
    connector = ConnectorFactory(charger=charger, evse_id=2, connector_id=1)
    client = member_client(client, charger, "operator")
    body = client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert 'data-operation="device_model"' in body
    assert 'data-operation="read_settings"' not in body
    assert "EVSE 2 / connector 1" in body
    client.post(operation_url(charger, "unlock"), {"connector": connector.pk})
    assert intent_of(Command.objects.get()) == Unlock(connector=1, evse=2)


def test_a_16_charger_gets_its_configuration_button(client, charger):
    body = (
        member_client(client, charger, "operator")
        .get(reverse("admin:sites_charger_change", args=[charger.pk]))
        .content.decode()
    )
    assert 'data-operation="read_settings"' in body
    assert 'data-operation="device_model"' not in body


def test_maintenance_may_unlock_but_neither_stop_nor_reserve(client, charger):
    """Each button is checked on its own permission (the role map in accounts.roles): the
    maintenance role unlocks and resets, but stopping a driver's session and reserving are not its."""
    client = member_client(client, charger, "maintenance")
    body = client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert 'data-operation="unlock"' in body
    assert 'data-operation="soft_reset"' in body
    assert 'data-operation="reserve"' not in body
    connector = charger.connectors.first()
    assert client.post(operation_url(charger, "stop"), {"connector": connector.pk, "reason": "x"}).status_code == 403
    assert client.post(operation_url(charger, "unlock"), {"connector": connector.pk}).status_code == 302
    assert intent_of(Command.objects.get()) == Unlock(connector=connector.connector_id)


def test_the_page_shows_raised_security_events(admin_client, charger):
    SecurityEvent.objects.create(charger=charger, charge_point_id=charger.charge_point_id, kind="X", critical=True)
    SecurityEvent.objects.create(charger=charger, charge_point_id=charger.charge_point_id, kind="Y")
    body = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert body.count("1 critical, not acknowledged") == 2  # the console badge and the form field
