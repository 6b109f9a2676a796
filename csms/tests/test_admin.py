"""Admin smoke: every registered model's changelist, add and change views render for a superuser."""

import io

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib import admin
from django.contrib.auth.models import Group
from django.urls import reverse
from django.utils import timezone
from import_export.formats.base_formats import CSV
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.api_clients import create_api_client
from accounts.services import record_change
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import SessionCost, Tariff, TariffAssignment
from charging.models import ChargingProfile, ChargingProfileAssignment, IdToken, Reservation, UnmatchedStop
from charging.tests.factories import IdTokenFactory, MeterValueFactory
from csms.tests.tenants import device_model_rows
from integrations.models import WebhookDelivery, WebhookSubscription
from ocpp_gateway.models import MessageLog
from ocpp_gateway.v16 import codec as v16_codec
from reports.models import Alert, AlertSubscription, ReportExport
from sites.commands import claim_next_command, intent_of
from sites.commands.intents import Unlock
from sites.credentials import verify_charger_key
from sites.models import (
    Charger,
    ChargerReport,
    Command,
    CommandBatch,
    ConfigurationKey,
    ConnectionEvent,
    SecurityEvent,
    Site,
    StatusNotificationRecord,
    UnknownCharger,
)
from sites.resources import SiteResource
from sites.sharing import share_charger
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_of_everything(admin_user):
    meter_value = MeterValueFactory()
    charger = meter_value.charger
    MembershipFactory(user=admin_user, organization=charger.site.organization)
    IdTokenFactory(organization=charger.site.organization)
    Group.objects.create(name="Night shift")
    now = timezone.now()
    StatusNotificationRecord.objects.create(
        charger=charger, connector_id=1, status="Available", error_code="NoError", timestamp=now
    )
    ChargerReport.objects.create(charger=charger, kind="firmware", status="Installed")
    ConnectionEvent.objects.create(charger=charger, kind="online", at=now, reason="connected")
    UnknownCharger.objects.create(charge_point_id="STRANGER-1")
    SecurityEvent.objects.create(charger=charger, charge_point_id=charger.charge_point_id, kind="Test")
    UnmatchedStop.objects.create(charger=charger, transaction_id=-1, stopped_at=now, meter_stop_wh=10)
    Command.objects.create(charger=charger, action="Reset", payload={"type": "Soft"}, expires_at=now)
    ConfigurationKey.objects.create(charger=charger, key="HeartbeatInterval", value="300")
    device_model_rows(charger)
    Reservation.objects.create(charger=charger, id_token=IdToken.objects.first(), expires_at=now)
    RefreshToken.for_user(admin_user).blacklist()  # an issued token, then blacklisted
    record_change(actor=admin_user, verb="created", obj=charger, via="admin")
    share_charger(charger=charger, partner=OrganizationFactory(kind="partner"))
    tariff = Tariff.objects.create(organization=charger.site.organization, name="Standard")
    TariffAssignment.objects.create(tariff=tariff, organization=charger.site.organization)
    SessionCost.objects.create(session=meter_value.session, tariff=tariff, currency="EUR", net=1, vat=0, total=1)
    attempt = {"username": "x@example.com", "ip_address": "127.0.0.1", "user_agent": "test", "path_info": "/admin/"}
    AccessAttempt.objects.create(**attempt, failures_since_start=1, get_data="", post_data="", http_accept="")
    AccessFailureLog.objects.create(**attempt, http_accept="")
    AccessLog.objects.create(**attempt, http_accept="")
    profile = ChargingProfile.objects.create(
        organization=charger.site.organization, name="Cap", periods=[{"startPeriod": 0, "limit": 11000}]
    )
    ChargingProfileAssignment.objects.create(profile=profile, charger=charger)
    ReportExport.objects.create(organization=charger.site.organization, requested_by=admin_user, filters={"site": 1})
    Alert.objects.create(
        organization=charger.site.organization,
        kind="charger_offline",
        subject="offline:1:0",
        charger=charger,
        summary="offline",
    )
    AlertSubscription.objects.create(organization=charger.site.organization, user=admin_user)
    create_api_client(organization=charger.site.organization, name="CMS", scopes=["read"], by=admin_user)
    CommandBatch.objects.create(organization=charger.site.organization, intent="reset", charger_ids=[charger.pk])
    webhook = WebhookSubscription.objects.create(
        organization=charger.site.organization, url="https://hooks.example.com/x", secret="s"
    )
    WebhookDelivery.objects.create(subscription=webhook, event_id="e-1", event_type="charger.connected", body={})
    MessageLog.objects.create(
        charge_point_id=charger.charge_point_id, direction="in", message_type=2, message_id="1",
        action="Heartbeat", payload={}, timestamp=now,
    )  # fmt: skip
    return meter_value


def _registered_models():
    return sorted(admin.site._registry.items(), key=lambda item: item[0]._meta.label)


@pytest.mark.parametrize(("model", "model_admin"), _registered_models(), ids=lambda v: getattr(v, "__name__", ""))
def test_every_admin_page_renders(admin_client, one_of_everything, model, model_admin):
    opts = model._meta
    changelist = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
    assert changelist.status_code == 200

    add = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_add"))
    assert add.status_code == (200 if model_admin.has_add_permission(add.wsgi_request) else 403)

    obj = model._default_manager.first()
    assert obj is not None, f"the fixture should create a {opts.label}"
    change = admin_client.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
    assert change.status_code == 200


def test_charger_list_shows_online_state_and_connector_states_at_a_glance(admin_client):
    online = ChargerFactory(charge_point_id="CP-ON", is_online=True)
    ConnectorFactory(charger=online, connector_id=1, status="Charging")
    ConnectorFactory(charger=online, connector_id=2, status="Faulted", error_code="GroundFailure")
    ChargerFactory(charge_point_id="CP-OFF")
    body = admin_client.get(reverse("admin:sites_charger_changelist")).content.decode()
    assert "online" in body
    assert "offline" in body
    assert "1: Charging" in body
    assert "2: Faulted" in body
    assert 'title="GroundFailure"' in body


def test_charger_changelist_escapes_charger_supplied_strings(admin_client):
    charger = ChargerFactory(charge_point_id="CP-XSS")
    ConnectorFactory(charger=charger, error_code='"><script>alert(1)</script>')
    body = admin_client.get(reverse("admin:sites_charger_changelist")).content.decode()
    assert "<script>alert(1)</script>" not in body


def test_generate_key_action_shows_the_key_once_and_stores_only_a_hash(admin_client):
    charger = ChargerFactory()
    response = admin_client.post(
        reverse("admin:sites_charger_changelist"),
        {"action": "generate_auth_key", "_selected_action": [charger.pk], "post": "yes"},
    )
    assert response.status_code == 200
    charger.refresh_from_db()
    key = response.context["issued"][0][1]
    assert key in response.content.decode()
    assert verify_charger_key(key, charger.auth_key_hash)
    change_page = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert key not in change_page
    assert charger.auth_key_hash not in change_page
    assert "set (hidden)" in change_page


def _import(admin_client, url_name: str, csv_text: str):
    upload = io.BytesIO(csv_text.encode())
    upload.name = "fleet.csv"
    response = admin_client.post(reverse(url_name), {"import_file": upload, "format": "0", "resource": "0"})
    assert response.status_code == 200, response.content[:500]
    assert "confirm_form" in response.context, response.context.get("result") and [
        (row.number, row.errors) for row in response.context["result"].invalid_rows
    ]
    confirm = response.context["confirm_form"]
    data = {**confirm.initial, "resource": "0"}
    return admin_client.post(reverse(url_name.replace("_import", "_process_import")), data)


def test_operator_onboards_a_fleet_from_a_spreadsheet(admin_client):
    site = SiteFactory(name="Harbour")
    csv_text = (
        "charge_point_id,organization,site,vendor,model,serial_number,connectors\n"
        f"SHEET-1,{site.organization.slug},Harbour,ABB,Terra,S1,2\n"
        f"SHEET-2,{site.organization.slug},Harbour,Alpitronic,HYC,S2,1\n"
    )
    response = _import(admin_client, "admin:sites_charger_import", csv_text)
    assert response.status_code == 302
    imported = Charger.objects.get(charge_point_id="SHEET-1")
    assert imported.site == site
    assert imported.vendor == "ABB"
    assert imported.connectors.count() == 2
    assert not imported.auth_key_hash


def test_import_reports_invalid_rows_instead_of_saving_them(admin_client):
    site = SiteFactory(name="Harbour")
    upload = io.BytesIO(f"charge_point_id,organization,site\nBAD:ID,{site.organization.slug},Harbour\n".encode())
    upload.name = "fleet.csv"
    response = admin_client.post(
        reverse("admin:sites_charger_import"), {"import_file": upload, "format": "0", "resource": "0"}
    )
    assert response.status_code == 200
    assert response.context["result"].has_validation_errors()
    assert not Charger.objects.filter(charge_point_id="BAD:ID").exists()


def test_id_token_import_updates_case_insensitively(admin_client):
    token = IdTokenFactory(id_tag="CARD-ABC", holder_name="Old")
    csv_text = f"organization,id_tag,kind,status,holder_name\n{token.organization.slug},card-abc,ISO14443,Blocked,New\n"
    _import(admin_client, "admin:charging_idtoken_import", csv_text)
    token.refresh_from_db()
    assert (token.status, token.holder_name) == ("Blocked", "New")
    assert IdToken.objects.count() == 1


def test_id_token_export_escapes_spreadsheet_formulae(admin_client):
    IdTokenFactory(id_tag="TAG-F", holder_name='=HYPERLINK("http://evil")', parent_id_tag="@SUM(A1)")
    response = admin_client.post(
        reverse("admin:charging_idtoken_export"),
        {
            "format": "0",
            "resource": "0",
            **{f"idtokenresource_{f}": "on" for f in ("id_tag", "holder_name", "parent_id_tag")},
        },
    )
    assert response.status_code == 200
    text = response.content.decode()
    assert "TAG-F" in text
    assert "'=HYPERLINK" in text
    assert "'@SUM(A1)" in text


def test_sites_import_from_a_spreadsheet_and_export_with_formulae_escaped(admin_client):
    organization = OrganizationFactory(slug="harbour-ops")
    SiteFactory(organization=organization, name="Depot", city="Old")
    csv_text = (
        "organization,name,address,city,country,latitude,longitude,timezone\n"
        "harbour-ops,Depot,Quay 1,Hamburg,DE,53.5,9.9,Europe/Berlin\n"
        "harbour-ops,Airport,,Munich,DE,,,Europe/Berlin\n"
    )
    response = _import(admin_client, "admin:sites_site_import", csv_text)
    assert response.status_code == 302
    assert sorted(Site.objects.filter(organization=organization).values_list("name", "city")) == [
        ("Airport", "Munich"),
        ("Depot", "Hamburg"),  # updated in place: a site is known by its name in its organization
    ]
    SiteFactory(organization=organization, name="=cmd|' /C calc'!A0", address="+SUM(1)")
    exported = admin_client.post(
        reverse("admin:sites_site_export"),
        {"format": "0", "resource": "0", **{f"siteresource_{f}": "on" for f in ("organization", "name", "address")}},
    )
    text = exported.content.decode()
    assert "'=cmd|" in text
    assert "'+SUM(1)" in text
    assert "harbour-ops,Airport" in text


def test_site_import_refuses_rows_for_another_organization():
    mine, theirs = OrganizationFactory(slug="mine"), OrganizationFactory(slug="theirs")
    operator = UserFactory()
    MembershipFactory(user=operator, organization=mine, role="operator")
    dataset = CSV().create_dataset("organization,name,timezone\ntheirs,Sneaky,UTC\nmine,Fine,UTC\n")
    result = SiteResource().import_data(dataset, dry_run=False, user=operator, raise_errors=False)
    assert result.has_errors()
    assert not Site.objects.filter(organization=theirs).exists()


def test_operator_adopts_an_unknown_charger_into_a_site(admin_client):
    site = SiteFactory(name="Depot")
    unknown = UnknownCharger.objects.create(charge_point_id="NEWCOMER-1", vendor="ABB", model="Terra")
    url = reverse("admin:sites_unknowncharger_changelist")
    form_page = admin_client.post(url, {"action": "adopt", "_selected_action": [unknown.pk]})
    assert form_page.status_code == 200
    assert "NEWCOMER-1" in form_page.content.decode()
    done = admin_client.post(
        url,
        {"action": "adopt", "_selected_action": [unknown.pk], "apply": "1", "site": site.pk, "connector_count": 2},
    )
    assert done.status_code == 200
    charger = Charger.objects.get(charge_point_id="NEWCOMER-1")
    key = done.context["issued"][0][1]
    assert verify_charger_key(key, charger.auth_key_hash)
    assert (charger.site, charger.vendor, charger.connectors.count()) == (site, "ABB", 2)
    unknown.refresh_from_db()
    assert unknown.state == "adopted"
    assert unknown.adopted_charger == charger


def test_adopt_without_a_site_shows_the_form_error(admin_client):
    unknown = UnknownCharger.objects.create(charge_point_id="NEWCOMER-2")
    response = admin_client.post(
        reverse("admin:sites_unknowncharger_changelist"),
        {"action": "adopt", "_selected_action": [unknown.pk], "apply": "1", "connector_count": 1},
    )
    assert response.status_code == 200
    assert response.context["form"].errors["site"]
    assert not Charger.objects.filter(charge_point_id="NEWCOMER-2").exists()


def test_operator_sends_a_command_from_the_charger_page(admin_client):
    charger = ChargerFactory()
    ConnectorFactory(charger=charger, connector_id=1)
    ConnectorFactory(charger=charger, connector_id=2)
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    assert "Unlock a connector" in page.content.decode()
    form_page = admin_client.get(url, {"intent": "unlock"})
    assert 'name="connector"' in form_page.content.decode()
    done = admin_client.post(url + "?intent=unlock", {"command_intent": "unlock", "connector": 2})
    assert done.status_code == 302
    command = Command.objects.get(charger=charger)
    assert (intent_of(command), command.status, command.requested_via) == (
        Unlock(connector=2),
        "queued",  # the charger is offline: it waits
        "admin",
    )
    history = admin_client.get(reverse("admin:sites_charger_change", args=[charger.pk])).content.decode()
    assert "unlock" in history


def test_a_bad_command_form_shows_its_error_and_queues_nothing(admin_client):
    charger = ChargerFactory()
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    response = admin_client.post(url + "?intent=unlock", {"command_intent": "unlock", "connector": 0})
    assert response.status_code == 200
    assert response.context["form"].errors["connector"]
    assert not Command.objects.exists()


def test_a_user_without_the_command_permission_cannot_send_it(client):
    from django.contrib.auth.models import Permission

    from accounts.tests.factories import UserFactory

    charger = ChargerFactory()
    viewer = UserFactory(is_staff=True)
    MembershipFactory(user=viewer, organization=charger.site.organization, role="viewer")
    viewer.user_permissions.add(Permission.objects.get(codename="send_reset"))  # a platform grant
    client.force_login(viewer)
    url = reverse("admin:sites_charger_send_command", args=[charger.pk])
    page = client.get(url)
    assert page.context["intents_allowed"] == [("Reset", "reset")]
    denied = client.post(url + "?intent=unlock", {"command_intent": "unlock", "connector": 1})
    assert denied.status_code == 403
    offered = client.get(reverse("admin:sites_charger_changelist")).context["action_form"].fields["action"].choices
    assert "soft_reset" in dict(offered)
    assert "clear_cache" not in dict(offered)  # not offered at all: Django answers "No action selected"
    bulk = client.post(
        reverse("admin:sites_charger_changelist"), {"action": "clear_cache", "_selected_action": [charger.pk]}
    )
    assert bulk.status_code == 302
    assert not Command.objects.exists()


def test_bulk_action_queues_a_command_for_each_charger(admin_client):
    chargers = [ChargerFactory(), ChargerFactory()]
    admin_client.post(
        reverse("admin:sites_charger_changelist"),
        {"action": "soft_reset", "_selected_action": [c.pk for c in chargers]},
    )
    assert sorted(Command.objects.values_list("charger_id", "intent", "fields")) == sorted(
        (c.pk, "reset", {"hard": False, "evse": None}) for c in chargers
    )


def test_rotate_key_action_queues_a_masked_change_configuration(admin_client):
    charger = ChargerFactory(auth_key_hash="sha256$salt$old")
    admin_client.post(
        reverse("admin:sites_charger_changelist"), {"action": "rotate_auth_key", "_selected_action": [charger.pk]}
    )
    command = Command.objects.get(charger=charger)
    # A key rotation: the key is sealed on the row, never in its fields; its wire form (a
    # ChangeConfiguration of AuthorizationKey, masked) is written when it is sent
    # (ocpp_gateway/tests/test_codec_v16.py, test_commands.py).
    assert (command.intent, command.fields, command.action, command.payload) == ("rotate_key", {}, "", {})
    assert command.sealed_secret
    # Sent as the charger's version says, the new key masked wherever the command is shown.
    claim_next_command(charger_id=charger.pk, message_id="m", at=timezone.now(), encode=v16_codec.encode)
    command.refresh_from_db()
    assert (command.action, command.payload) == (
        "ChangeConfiguration",
        {"key": "AuthorizationKey", "value": "********"},
    )
    charger.refresh_from_db()
    assert charger.auth_key_hash == "sha256$salt$old"  # unchanged until the charger accepts
    assert charger.pending_auth_key_hash
