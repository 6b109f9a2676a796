"""Charger keys in the admin (issue 15, item 2): replacing HTTP Basic keys needs the
charger-key permission and a confirmation; the command forms cannot set a key."""

import pytest
from django.contrib import admin
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory
from django.urls import reverse

from accounts.models import Activity
from accounts.tests.factories import MembershipFactory, UserFactory
from sites.admin import ChargerAdmin, ConfigurationInline
from sites.commands import intent_of
from sites.commands.intents import GetDiagnostics
from sites.models import Charger, Command, ConfigurationKey
from sites.services import register_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db

CHANGELIST = "admin:sites_charger_changelist"
OLD_HASH = "sha256$salt$old"


def member_client(client, charger: Charger, role: str):
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=charger.site.organization, role=role)
    client.force_login(user)
    return client


def offered_actions(client) -> set[str]:
    action_form = client.get(reverse(CHANGELIST)).context["action_form"]  # None when no action is offered
    return {name for name, _ in action_form.fields["action"].choices} if action_form else set()


@pytest.mark.parametrize(("role", "allowed"), [("admin", True), ("operator", True), ("maintenance", False),
                                               ("viewer", False)])  # fmt: skip
def test_only_roles_with_the_key_permission_are_offered_the_action(client, role, allowed):
    charger = ChargerFactory(auth_key_hash=OLD_HASH)
    client = member_client(client, charger, role)
    assert ("generate_auth_key" in offered_actions(client)) is allowed
    response = client.post(
        reverse(CHANGELIST), {"action": "generate_auth_key", "_selected_action": [charger.pk], "post": "yes"}
    )
    charger.refresh_from_db()
    if allowed:
        assert response.status_code == 200
        assert charger.auth_key_hash != OLD_HASH
        assert response.context["issued"][0][0] == charger.charge_point_id
    else:
        # Not an action of theirs: Django runs nothing ("No action selected", or the plain
        # list when the user is offered no action at all).
        assert response.status_code in (200, 302)
        assert "issued" not in (response.context or {})
        assert charger.auth_key_hash == OLD_HASH


COMMAND_ACTIONS = {"rotate_auth_key", "soft_reset", "clear_cache", "trigger_status"}


def test_command_actions_are_offered_to_those_who_may_send_them(client):
    """S16: a viewer is offered no command action at all; maintenance all of these."""
    charger = ChargerFactory()
    assert not COMMAND_ACTIONS & offered_actions(member_client(client, charger, "viewer"))
    assert offered_actions(member_client(client, charger, "maintenance")) >= COMMAND_ACTIONS


def test_new_keys_are_issued_only_after_a_confirmation_page(admin_client):
    chargers = [ChargerFactory(auth_key_hash=OLD_HASH), ChargerFactory(auth_key_hash=OLD_HASH)]
    selected = {"action": "generate_auth_key", "_selected_action": [c.pk for c in chargers]}
    page = admin_client.post(reverse(CHANGELIST), selected)
    assert page.status_code == 200
    assert "admin/sites/charger/issue_keys_confirmation.html" in [t.name for t in page.templates]
    body = page.content.decode()
    for charger in chargers:
        assert charger.charge_point_id in body
        assert f'name="_selected_action" value="{charger.pk}"' in body
    assert 'name="post" value="yes"' in body
    assert 'name="action" value="generate_auth_key"' in body
    assert set(Charger.objects.values_list("auth_key_hash", flat=True)) == {OLD_HASH}  # nothing done yet

    done = admin_client.post(reverse(CHANGELIST), {**selected, "post": "yes"})
    assert done.status_code == 200
    assert len(done.context["issued"]) == 2
    assert OLD_HASH not in set(Charger.objects.values_list("auth_key_hash", flat=True))
    audit = Activity.objects.filter(verb="issued a new HTTP Basic key")
    assert sorted(audit.values_list("object_id", flat=True)) == sorted(str(c.pk) for c in chargers)


def test_an_operator_elsewhere_cannot_replace_the_keys_of_an_organization_they_only_view(client):
    mine, theirs = ChargerFactory(auth_key_hash=OLD_HASH), ChargerFactory(auth_key_hash=OLD_HASH)
    user = UserFactory(is_staff=True)
    MembershipFactory(user=user, organization=mine.site.organization, role="operator")
    MembershipFactory(user=user, organization=theirs.site.organization, role="viewer")
    client.force_login(user)
    for post in ({}, {"post": "yes"}):
        response = client.post(
            reverse(CHANGELIST), {"action": "generate_auth_key", "_selected_action": [theirs.pk], **post}
        )
        assert response.status_code == 403
    theirs.refresh_from_db()
    assert theirs.auth_key_hash == OLD_HASH


@pytest.mark.parametrize("key", ["AuthorizationKey", "authorizationkey", "SECURITYPROFILE"])
def test_the_command_form_refuses_protected_keys_whatever_their_case(admin_client, key):
    charger = ChargerFactory()
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    response = admin_client.post(
        url + "?intent=change_setting", {"command_intent": "change_setting", "key": key, "value": "a" * 40}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["key"]
    assert not Command.objects.exists()


def test_a_protected_key_in_the_configuration_snapshot_is_not_sent(admin_user):
    charger = ChargerFactory()
    entry = ConfigurationKey.objects.create(charger=charger, key="authorizationKey", value="")
    request = RequestFactory().post("/")
    request.user, request.session = admin_user, {}
    request._messages = FallbackStorage(request)
    inline = ConfigurationInline(Charger, admin.site)
    formset_class = inline.get_formset(request, charger)
    prefix = formset_class.get_default_prefix()
    data = {
        f"{prefix}-TOTAL_FORMS": "1",
        f"{prefix}-INITIAL_FORMS": "1",
        f"{prefix}-0-id": str(entry.pk),
        f"{prefix}-0-charger": str(charger.pk),
        f"{prefix}-0-value": "b" * 40,
    }
    formset = formset_class(data=data, instance=charger, prefix=prefix)
    assert formset.is_valid(), formset.errors
    ChargerAdmin(Charger, admin.site).save_formset(request, None, formset, change=True)
    assert not Command.objects.exists()
    assert any("Rotate key over OCPP" in str(message) for message in get_messages(request))


@pytest.mark.parametrize(
    ("kind", "fields"),
    [
        ("unlock", {"connector": 99}),
        ("change_availability", {"connector": 3, "operative": "inoperative"}),
        ("update_firmware", {"location": "http://169.254.169.254/latest"}),
        ("get_diagnostics", {"location": "file:///etc/passwd"}),
        ("get_diagnostics", {"location": "ftp://10.0.0.1/"}),
    ],
)
def test_what_the_port_refuses_is_a_form_error(admin_client, kind, fields):
    charger = register_charger(site=SiteFactory(), charge_point_id="FORM-1", connector_count=2)
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    response = admin_client.post(url + f"?intent={kind}", {"command_intent": kind, **fields})
    assert response.status_code == 200
    assert response.context["form"].errors
    assert not Command.objects.exists()


def test_an_sftp_diagnostics_location_is_accepted_by_the_form(admin_client):
    charger = ChargerFactory()
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    location = "sftp://logs.example.com/in/"
    response = admin_client.post(
        url + "?intent=get_diagnostics", {"command_intent": "get_diagnostics", "location": location}
    )
    assert response.status_code == 302
    command = Command.objects.get()
    # The port gives the upload its request id, the command's own (sites.commands._give_request_id).
    assert intent_of(command) == GetDiagnostics(location=location, request_id=command.pk)


@pytest.mark.parametrize(("version", "queued"), [("2.0.1", True), ("1.6", False)])
def test_a_36_character_id_token_starts_a_201_session_and_is_a_form_error_on_16(admin_client, version, queued):
    """2.0.1 id tokens take 36 characters (IdTokenType), 1.6 idTags 20 (CiString20Type): the
    form takes the longer, the charger's version says no with the limit in the form."""
    charger = ChargerFactory(ocpp_version=version)
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    token = "04A1B2C3D4E5F6A7B8C9D0E1F2A3B4C5D6E7"
    response = admin_client.post(url + "?intent=remote_start", {"command_intent": "remote_start", "id_token": token})
    assert Command.objects.filter(intent="remote_start", fields__id_token=token).exists() is queued
    if not queued:
        assert response.status_code == 200
        assert "20 characters" in str(response.context["form"].errors)


def test_a_status_report_asks_each_evse_connector_of_a_201_station_and_a_16_charger_once(admin_client):
    """1.6 sec. 5.17: no connectorId asks for every connector; 2.0.1 names one (F06.FR.13). A
    2.0.1 station whose connectors are not known yet is named in a warning, not asked."""
    charger = ChargerFactory(ocpp_version="1.6")
    ConnectorFactory(charger=charger, connector_id=1)
    station = ChargerFactory(ocpp_version="2.0.1")
    for evse in (1, 2):
        ConnectorFactory(charger=station, evse_id=evse, connector_id=1)
    unknown = ChargerFactory(ocpp_version="2.0.1")
    selected = [charger.pk, station.pk, unknown.pk]
    response = admin_client.post(
        reverse(CHANGELIST), {"action": "trigger_status", "_selected_action": selected}, follow=True
    )
    fields = sorted(
        (c.charger_id, c.fields.get("evse"), c.fields.get("connector"))
        for c in Command.objects.filter(intent="trigger_message")
    )
    assert fields == [(charger.pk, None, None), (station.pk, 1, 1), (station.pk, 2, 1)]
    shown = [str(message) for message in response.context["messages"]]
    assert "3 status request(s) queued" in shown[0]
    assert unknown.charge_point_id in shown[1]
