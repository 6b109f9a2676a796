"""Charging profiles through the partner API (issue 20): create, change and delete them with the
admin's checks and audit records, send one to a charger (an assignment, SetChargingProfile via
the API) with the admin's purpose rules, and clear it there."""

import pytest

from accounts.models import Activity
from accounts.tests.api import api_client_of, authenticated
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.models import ChargingProfile, ChargingProfileAssignment
from charging.tests.factories import ChargingSessionFactory
from sites.commands import intent_of
from sites.commands.intents import ClearChargingProfile, SetChargingProfile
from sites.models import Command
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory
from sites.tests.helpers import answer_command, rejected

pytestmark = pytest.mark.django_db

PERIODS = [{"startPeriod": 0, "limit": 11000}, {"startPeriod": 3600, "limit": 7400}]


@pytest.fixture
def org():
    return OrganizationFactory(name="Mine", slug="mine")


@pytest.fixture
def operator(org):
    user = UserFactory()
    MembershipFactory(user=user, organization=org, role="operator")
    return user


@pytest.fixture
def api(operator):
    return authenticated(operator)


@pytest.fixture
def viewer_api(org):
    user = UserFactory()
    MembershipFactory(user=user, organization=org, role="viewer")
    return authenticated(user)


@pytest.fixture
def charger(org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    ConnectorFactory(charger=charger, connector_id=1)
    return charger


def _profile(org, **fields) -> ChargingProfile:
    return ChargingProfile.objects.create(organization=org, **{"name": "Night cap", "periods": PERIODS, **fields})


def _activities(verb: str, model) -> list[Activity]:
    return list(Activity.objects.filter(verb=verb, object_type=model._meta.label_lower).order_by("id"))


# --- profiles -------------------------------------------------------------------------------


def test_an_operator_creates_changes_and_deletes_a_profile(api, org, operator):
    body = {"organization": org.pk, "name": "Night cap", "purpose": "TxDefaultProfile", "stack_level": 1,
            "charging_rate_unit": "A", "periods": PERIODS}  # fmt: skip
    response = api.post("/api/v1/charging-profiles", body, format="json")
    assert response.status_code == 201, response.content
    profile = ChargingProfile.objects.get(pk=response.json()["id"])
    assert (profile.organization, profile.charging_rate_unit, profile.periods) == (org, "A", PERIODS)
    changed = api.patch(f"/api/v1/charging-profiles/{profile.pk}", {"stack_level": 3}, format="json")
    assert changed.status_code == 200, changed.content
    assert changed.json()["stack_level"] == 3
    assert api.delete(f"/api/v1/charging-profiles/{profile.pk}").status_code == 204
    assert not ChargingProfile.objects.exists()
    created, updated, deleted = (_activities(verb, ChargingProfile) for verb in ("created", "changed", "deleted"))
    assert [(a.via, a.actor) for a in created + updated + deleted] == [("api", operator)] * 3
    assert updated[0].changes["stack_level"] == [1, 3]


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"periods": []}, "periods"),
        ({"periods": [{"startPeriod": 10, "limit": 1}]}, "periods"),
        ({"periods": [{"startPeriod": 0, "limit": 0}]}, "periods"),
        ({"periods": "not a list"}, "periods"),
        ({"purpose": "Whatever"}, "purpose"),
        ({"charging_rate_unit": "kW"}, "charging_rate_unit"),
        ({"name": ""}, "name"),
    ],
)
def test_a_profile_that_makes_no_sense_is_400(api, org, fields, field):
    response = api.post(
        "/api/v1/charging-profiles", {"organization": org.pk, "name": "P", "periods": PERIODS, **fields}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not ChargingProfile.objects.exists()


def test_a_recurring_profile_needs_its_recurrency_and_names_are_unique(api, org):
    _profile(org)
    duplicate = api.post(
        "/api/v1/charging-profiles", {"organization": org.pk, "name": "Night cap", "periods": PERIODS}, format="json"
    )
    assert duplicate.status_code == 400
    recurring = api.post(
        "/api/v1/charging-profiles",
        {"organization": org.pk, "name": "Daily", "kind": "Recurring", "periods": PERIODS},
        format="json",
    )
    assert recurring.status_code == 400
    assert ChargingProfile.objects.count() == 1


def test_a_bad_change_is_400_and_the_organization_never_changes(api, org, operator):
    profile = _profile(org)
    other = OrganizationFactory(name="Second", slug="second")
    MembershipFactory(user=operator, organization=other, role="operator")
    bad = api.patch(f"/api/v1/charging-profiles/{profile.pk}", {"periods": [{"limit": 1}]}, format="json")
    assert bad.status_code == 400
    assert "periods" in bad.json()["errors"]
    moved = api.patch(f"/api/v1/charging-profiles/{profile.pk}", {"organization": other.pk}, format="json")
    assert moved.status_code == 200
    profile.refresh_from_db()
    assert (profile.organization, profile.periods) == (org, PERIODS)


def test_a_profile_sent_to_chargers_is_not_deleted(api, org, charger):
    profile = _profile(org)
    ChargingProfileAssignment.objects.create(profile=profile, charger=charger)
    response = api.delete(f"/api/v1/charging-profiles/{profile.pk}")
    assert response.status_code == 409
    assert ChargingProfile.objects.filter(pk=profile.pk).exists()
    assert not _activities("deleted", ChargingProfile)


def test_a_viewer_may_not_write_profiles(viewer_api, org, charger):
    profile = _profile(org)
    body = {"organization": org.pk, "name": "V", "periods": PERIODS}
    assert viewer_api.post("/api/v1/charging-profiles", body, format="json").status_code == 403
    assert viewer_api.patch(f"/api/v1/charging-profiles/{profile.pk}", {"name": "x"}, format="json").status_code == 403
    assert viewer_api.delete(f"/api/v1/charging-profiles/{profile.pk}").status_code == 403
    assign = f"/api/v1/charging-profiles/{profile.pk}/assign"
    assert viewer_api.post(assign, {"charge_point_id": "CP-1"}, format="json").status_code == 403
    assert not Command.objects.exists()


def test_api_clients_write_profiles_with_the_profiles_scope_and_send_them_with_commands(org, charger):
    body = {"organization": org.pk, "name": "P", "periods": PERIODS}
    assert (
        api_client_of(org, ["read", "commands"]).post("/api/v1/charging-profiles", body, format="json").status_code
        == 403
    )
    created = api_client_of(org, ["profiles"]).post("/api/v1/charging-profiles", body, format="json")
    assert created.status_code == 201, created.content
    assign = f"/api/v1/charging-profiles/{created.json()['id']}/assign"
    assert api_client_of(org, ["profiles"]).post(assign, {"charge_point_id": "CP-1"}, format="json").status_code == 403
    assert api_client_of(org, ["commands"]).post(assign, {"charge_point_id": "CP-1"}, format="json").status_code == 202


# --- sending a profile to a charger -------------------------------------------------------


def test_assigning_sends_the_profile_and_the_charger_decides(api, org, charger, operator):
    profile = _profile(org, stack_level=2)
    response = api.post(f"/api/v1/charging-profiles/{profile.pk}/assign", {"charge_point_id": "CP-1"}, format="json")
    assert response.status_code == 202, response.content
    body = response.json()
    assignment = ChargingProfileAssignment.objects.get()
    command = Command.objects.get()
    assert (body["id"], body["charge_point_id"], body["connector_id"], body["status"]) == (
        assignment.pk, "CP-1", 0, "requested"
    )  # fmt: skip
    assert body["sent_payload"] == assignment.sent_payload == intent_of(command).to_fields()
    assert (body["command"]["id"], body["command"]["intent"]) == (command.pk, SetChargingProfile.kind)
    assert (command.requested_via, command.requested_by) == (Command.Via.API, operator)
    intent = intent_of(command)
    assert isinstance(intent, SetChargingProfile)
    assert (intent.connector, intent.profile.profile_id, intent.profile.stack_level) == (0, profile.pk, 2)
    assert [a.via for a in _activities("created", ChargingProfileAssignment)] == ["api"]
    answer_command(command)
    shown = api.get(f"/api/v1/charging-profile-assignments/{assignment.pk}").json()
    assert shown["status"] == "accepted"


def test_a_rejected_profile_says_so(api, org, charger):
    profile = _profile(org)
    api.post(f"/api/v1/charging-profiles/{profile.pk}/assign", {"charge_point_id": "CP-1"}, format="json")
    answer_command(Command.objects.get(), rejected())
    assert ChargingProfileAssignment.objects.get().status == ChargingProfileAssignment.Status.REJECTED


def test_a_transaction_profile_goes_to_a_transaction_in_progress(api, org, charger):
    session = ChargingSessionFactory(connector=charger.connectors.get(connector_id=1))
    profile = _profile(org, purpose=ChargingProfile.Purpose.TX)
    url = f"/api/v1/charging-profiles/{profile.pk}/assign"
    missing = api.post(url, {"charge_point_id": "CP-1", "connector_id": 1}, format="json")
    assert missing.status_code == 400
    assert missing.json()["errors"]["transaction_id"] == ["A profile for one transaction needs that transaction's id."]
    elsewhere = api.post(url, {"charge_point_id": "CP-1", "connector_id": 1, "transaction_id": 999}, format="json")
    assert elsewhere.status_code == 400
    assert "not in progress" in elsewhere.json()["errors"]["non_field_errors"][0]
    body = {"charge_point_id": "CP-1", "connector_id": 1, "transaction_id": session.transaction_id}
    response = api.post(url, body, format="json")
    assert response.status_code == 202, response.content
    assert response.json()["transaction_id"] == session.transaction_id
    assert intent_of(Command.objects.get()).profile.transaction_id == str(session.transaction_id)


@pytest.mark.parametrize(
    ("purpose", "body", "field"),
    [
        (ChargingProfile.Purpose.CHARGE_POINT_MAX, {"connector_id": 1}, "connector_id"),
        (ChargingProfile.Purpose.TX_DEFAULT, {"connector_id": 5}, "non_field_errors"),  # no such connector
        (ChargingProfile.Purpose.TX_DEFAULT, {"connector_id": -1}, "connector_id"),
        (ChargingProfile.Purpose.TX_DEFAULT, {"charge_point_id": "NOPE"}, "charge_point_id"),
    ],
)
def test_an_assignment_the_admin_refuses_is_400(api, org, charger, purpose, body, field):
    profile = _profile(org, purpose=purpose)
    response = api.post(
        f"/api/v1/charging-profiles/{profile.pk}/assign", {"charge_point_id": "CP-1", **body}, format="json"
    )
    assert response.status_code == 400
    assert field in response.json()["errors"], response.json()
    assert not ChargingProfileAssignment.objects.exists()
    assert not Command.objects.exists()


def test_a_profile_goes_only_to_chargers_of_its_organization(api, org, charger, operator):
    second = OrganizationFactory(name="Second", slug="second")
    MembershipFactory(user=operator, organization=second, role="operator")
    ChargerFactory(site=SiteFactory(organization=second), charge_point_id="CP-SECOND")
    theirs = OrganizationFactory(name="Theirs", slug="theirs")
    ChargerFactory(site=SiteFactory(organization=theirs), charge_point_id="THEIRS")
    profile = _profile(org)
    url = f"/api/v1/charging-profiles/{profile.pk}/assign"
    own_other = api.post(url, {"charge_point_id": "CP-SECOND"}, format="json")
    assert own_other.status_code == 400
    assert own_other.json()["errors"]["charge_point_id"] == ["This profile belongs to another organization."]
    foreign = api.post(url, {"charge_point_id": "THEIRS"}, format="json")
    assert foreign.status_code == 400
    assert "THEIRS" not in foreign.content.decode()
    their_profile = _profile(theirs)
    assert (
        api.post(f"/api/v1/charging-profiles/{their_profile.pk}/assign", {"charge_point_id": "CP-1"}).status_code == 404
    )
    assert not Command.objects.exists()


# --- assignments and clearing ---------------------------------------------------------------


def test_clearing_an_accepted_profile_sends_clear_charging_profile(api, org, charger):
    profile = _profile(org)
    sent = api.post(f"/api/v1/charging-profiles/{profile.pk}/assign", {"charge_point_id": "CP-1"}, format="json")
    assignment_id = sent.json()["id"]
    clear = f"/api/v1/charging-profile-assignments/{assignment_id}/clear"
    assert api.post(clear).status_code == 409  # not held yet: the charger has not accepted it
    answer_command(Command.objects.get())
    response = api.post(clear)
    assert response.status_code == 202, response.content
    command = Command.objects.get(pk=response.json()["id"])
    assert command.requested_via == Command.Via.API
    assert intent_of(command) == ClearChargingProfile(profile_id=profile.pk, connector=0)
    answer_command(command)
    assert ChargingProfileAssignment.objects.get().status == ChargingProfileAssignment.Status.CLEARED
    assert api.post(clear).status_code == 409


def test_assignments_filter_by_profile_and_charger(api, org, charger):
    first, second = _profile(org, name="First"), _profile(org, name="Second")
    one = ChargingProfileAssignment.objects.create(profile=first, charger=charger)
    ChargingProfileAssignment.objects.create(profile=second, charger=charger)
    other = ChargingProfileAssignment.objects.create(profile=first, charger=ChargerFactory(site=charger.site))
    rows = api.get(f"/api/v1/charging-profile-assignments?profile={first.pk}").json()["results"]
    assert {row["id"] for row in rows} == {one.pk, other.pk}
    rows = api.get(f"/api/v1/charging-profile-assignments?profile={first.pk}&charger__charge_point_id=CP-1").json()
    assert [row["id"] for row in rows["results"]] == [one.pk]


def test_a_viewer_may_not_clear_and_another_tenants_assignment_is_404(api, viewer_api, org, charger):
    mine = ChargingProfileAssignment.objects.create(
        profile=_profile(org), charger=charger, status=ChargingProfileAssignment.Status.ACCEPTED
    )
    assert viewer_api.post(f"/api/v1/charging-profile-assignments/{mine.pk}/clear").status_code == 403
    theirs_org = OrganizationFactory(name="Theirs", slug="theirs")
    theirs = ChargingProfileAssignment.objects.create(
        profile=_profile(theirs_org),
        charger=ChargerFactory(site=SiteFactory(organization=theirs_org)),
        status=ChargingProfileAssignment.Status.ACCEPTED,
    )
    assert api.post(f"/api/v1/charging-profile-assignments/{theirs.pk}/clear").status_code == 404
    assert api.get(f"/api/v1/charging-profile-assignments/{theirs.pk}").status_code == 404
    assert not Command.objects.exists()
