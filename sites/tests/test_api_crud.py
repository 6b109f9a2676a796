"""Sites, chargers and connectors written through the partner API (issue 20): the same rules and
audit records as the admin, the permission of the caller's role (or API client's scopes) in the
object's organization, and another organization's objects answering 404."""

import pytest

from accounts.models import Activity
from accounts.tests.api import api_client_of, authenticated
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.tests.factories import ChargingSessionFactory
from sites.credentials import verify_charger_key
from sites.models import Charger, Connector, Site
from sites.tests.factories import ChargerFactory, ConnectorFactory, SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def org():
    return OrganizationFactory(name="Mine", slug="mine")


@pytest.fixture
def other_org():
    return OrganizationFactory(name="Theirs", slug="theirs")


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


def _activities(verb: str, model) -> list[Activity]:
    return list(Activity.objects.filter(verb=verb, object_type=model._meta.label_lower).order_by("id"))


SITE = {"name": "Depot", "city": "Berlin", "country": "DE", "timezone": "Europe/Berlin", "latitude": "52.5"}


# --- sites ----------------------------------------------------------------------------------


def test_an_operator_creates_a_site_in_their_organization(api, org, operator):
    response = api.post("/api/v1/sites", {**SITE, "organization": org.pk}, format="json")
    assert response.status_code == 201, response.json()
    site = Site.objects.get(pk=response.json()["id"])
    assert (site.organization, site.name, site.timezone) == (org, "Depot", "Europe/Berlin")
    [created] = _activities("created", Site)
    assert (created.actor, created.via, created.organization_id) == (operator, "api", org.pk)


def test_a_site_cannot_be_created_in_another_organization(api, other_org):
    response = api.post("/api/v1/sites", {**SITE, "organization": other_org.pk}, format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["errors"]
    assert not Site.objects.exists()


def test_a_viewer_may_not_create_change_or_delete_sites(viewer_api, org):
    site = SiteFactory(organization=org)
    assert viewer_api.post("/api/v1/sites", {**SITE, "organization": org.pk}, format="json").status_code == 403
    assert viewer_api.patch(f"/api/v1/sites/{site.pk}", {"name": "X"}, format="json").status_code == 403
    assert viewer_api.delete(f"/api/v1/sites/{site.pk}").status_code == 403
    assert Site.objects.get().name == site.name


@pytest.mark.parametrize(
    ("fields", "field"),
    [({"timezone": "Mars/Olympus"}, "timezone"), ({"latitude": "91"}, "latitude"), ({"name": ""}, "name")],
)
def test_a_site_that_makes_no_sense_is_refused(api, org, fields, field):
    response = api.post("/api/v1/sites", {**SITE, "organization": org.pk, **fields}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_a_duplicate_site_name_is_400(api, org):
    SiteFactory(organization=org, name="Depot")
    response = api.post("/api/v1/sites", {**SITE, "organization": org.pk}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]


def test_a_sites_organization_never_changes(api, org, other_org, operator):
    MembershipFactory(user=operator, organization=other_org, role="admin")
    site = SiteFactory(organization=org, name="Old")
    response = api.patch(f"/api/v1/sites/{site.pk}", {"name": "New", "organization": other_org.pk}, format="json")
    assert response.status_code == 200
    site.refresh_from_db()
    assert (site.name, site.organization) == ("New", org)
    [changed] = _activities("changed", Site)
    assert changed.changes == {"name": ["Old", "New"]}
    assert changed.via == "api"


def test_another_organizations_site_answers_404(api, other_org):
    site = SiteFactory(organization=other_org)
    assert api.patch(f"/api/v1/sites/{site.pk}", {"name": "X"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/sites/{site.pk}").status_code == 404


def test_a_site_with_chargers_is_not_deleted(api, org):
    site = SiteFactory(organization=org)
    ChargerFactory(site=site)
    response = api.delete(f"/api/v1/sites/{site.pk}")
    assert response.status_code == 409
    assert response.json()["detail"] == "It cannot be deleted: still in use by 1 charger. Delete or move those first."
    assert Site.objects.filter(pk=site.pk).exists()
    assert not _activities("deleted", Site)


def test_an_empty_site_is_deleted_and_audited(api, org):
    site = SiteFactory(organization=org)
    assert api.delete(f"/api/v1/sites/{site.pk}").status_code == 204
    assert not Site.objects.exists()
    [deleted] = _activities("deleted", Site)
    assert deleted.object_id == str(site.pk)


def test_sites_order_by_creation_time(api, org):
    SiteFactory(organization=org, name="B")
    SiteFactory(organization=org, name="A")
    names = [s["name"] for s in api.get("/api/v1/sites", {"ordering": "-created_at"}).json()["results"]]
    assert names == ["A", "B"]


# --- chargers -------------------------------------------------------------------------------


def test_registering_a_charger_shows_its_key_once(api, org, operator):
    site = SiteFactory(organization=org)
    body = {"charge_point_id": "NEW-1", "site": site.pk, "connector_count": 2, "vendor": "ACME",
            "heartbeat_interval": 120, "registration_status": "Pending"}  # fmt: skip
    response = api.post("/api/v1/chargers", body, format="json")
    assert response.status_code == 201, response.json()
    answer = response.json()
    charger = Charger.objects.get(charge_point_id="NEW-1")
    assert verify_charger_key(answer["auth_key"], charger.auth_key_hash)
    assert (charger.vendor, charger.heartbeat_interval, charger.registration_status) == ("ACME", 120, "Pending")
    assert [c["connector_id"] for c in answer["connectors"]] == [1, 2]
    shown = api.get("/api/v1/chargers/NEW-1").json()
    assert "auth_key" not in shown
    assert answer["auth_key"] not in str(shown)
    verbs = list(Activity.objects.filter(object_type="sites.charger").order_by("id").values_list("verb", "via"))
    assert verbs == [("created", "api"), ("issued a new HTTP Basic key", "api")]
    assert answer["auth_key"] not in str(list(Activity.objects.values_list("changes", flat=True)))


def test_a_charger_cannot_be_registered_at_another_organizations_site(api, other_org):
    site = SiteFactory(organization=other_org)
    response = api.post("/api/v1/chargers", {"charge_point_id": "NEW-1", "site": site.pk}, format="json")
    assert response.status_code == 400
    assert "site" in response.json()["errors"]
    assert not Charger.objects.exists()


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"charge_point_id": "TAKEN"}, "charge_point_id"),
        ({"charge_point_id": "bad id/with slash"}, "charge_point_id"),
        ({"registration_status": "Maybe"}, "registration_status"),
        ({"connector_count": 0}, "connector_count"),
    ],
)
def test_a_charger_that_makes_no_sense_is_refused(api, org, fields, field):
    site = SiteFactory(organization=org)
    ChargerFactory(charge_point_id="TAKEN", site=SiteFactory(organization=OrganizationFactory()))
    response = api.post("/api/v1/chargers", {"charge_point_id": "NEW-1", "site": site.pk, **fields}, format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]
    assert Charger.objects.count() == 1


def test_a_viewer_may_not_register_change_or_delete_chargers(viewer_api, org):
    site = SiteFactory(organization=org)
    ChargerFactory(site=site, charge_point_id="CP-1")
    new = {"charge_point_id": "N", "site": site.pk}
    assert viewer_api.post("/api/v1/chargers", new, format="json").status_code == 403
    assert viewer_api.patch("/api/v1/chargers/CP-1", {"heartbeat_interval": 60}, format="json").status_code == 403
    assert viewer_api.delete("/api/v1/chargers/CP-1").status_code == 403
    assert viewer_api.post("/api/v1/chargers/CP-1/disconnect").status_code == 403


def test_an_operator_changes_what_the_admin_lets_them_change(api, org, operator):
    site, other_site = SiteFactory(organization=org), SiteFactory(organization=org)
    charger = ChargerFactory(site=site, charge_point_id="CP-1", vendor="ACME")
    body = {"site": other_site.pk, "heartbeat_interval": 60, "preferred_ocpp_version": "2.0.1",
            "registration_status": "Rejected",
            # What the charger reports, and its security, are not written through the API.
            "vendor": "Hacked", "ocpp_version": "2.0.1", "is_online": True, "security_profile": 0}  # fmt: skip
    response = api.patch("/api/v1/chargers/CP-1", body, format="json")
    assert response.status_code == 200, response.json()
    charger.refresh_from_db()
    assert (charger.site, charger.heartbeat_interval, charger.preferred_ocpp_version, charger.registration_status) == (
        other_site, 60, "2.0.1", "Rejected",
    )  # fmt: skip
    reported = (charger.vendor, charger.ocpp_version, charger.is_online, charger.security_profile)
    assert reported == ("ACME", "1.6", False, 1)
    [changed] = _activities("changed", Charger)
    assert changed.changes["heartbeat_interval"] == [300, 60]
    assert changed.actor == operator


def test_a_charger_moves_only_within_its_organization(api, org, other_org, operator):
    MembershipFactory(user=operator, organization=other_org, role="admin")
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    response = api.patch("/api/v1/chargers/CP-1", {"site": SiteFactory(organization=other_org).pk}, format="json")
    assert response.status_code == 400
    assert "site" in response.json()["errors"]
    charger.refresh_from_db()
    assert charger.site.organization == org


def test_another_organizations_charger_answers_404(api, other_org):
    ChargerFactory(site=SiteFactory(organization=other_org), charge_point_id="THEIRS")
    assert api.patch("/api/v1/chargers/THEIRS", {"heartbeat_interval": 60}, format="json").status_code == 404
    assert api.delete("/api/v1/chargers/THEIRS").status_code == 404
    assert api.post("/api/v1/chargers/THEIRS/disconnect").status_code == 404
    assert api.post("/api/v1/chargers/THEIRS/connectors", {"connector_id": 3}, format="json").status_code == 404


def test_a_charger_with_sessions_is_not_deleted(api, org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    ChargingSessionFactory(charger=charger, connector=ConnectorFactory(charger=charger))
    response = api.delete("/api/v1/chargers/CP-1")
    assert response.status_code == 409
    assert "still in use by 1 charging session." in response.json()["detail"]
    assert Charger.objects.filter(pk=charger.pk).exists()


def test_a_charger_is_deleted_and_audited(api, org):
    ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    assert api.delete("/api/v1/chargers/CP-1").status_code == 204
    assert not Charger.objects.exists()
    assert len(_activities("deleted", Charger)) == 1


def test_disconnecting_an_offline_charger_says_so(api, org):
    ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    response = api.post("/api/v1/chargers/CP-1/disconnect")
    assert response.status_code == 200
    assert response.json() == {"charge_point_id": "CP-1", "disconnected": False}
    assert not _activities("disconnected", Charger)


def test_chargers_order_by_time_fields(api, org):
    site = SiteFactory(organization=org)
    ChargerFactory(site=site, charge_point_id="OLD")
    ChargerFactory(site=site, charge_point_id="NEW")
    ids = [c["charge_point_id"] for c in api.get("/api/v1/chargers", {"ordering": "-created_at"}).json()["results"]]
    assert ids == ["NEW", "OLD"]


# --- connectors -----------------------------------------------------------------------------


def test_an_operator_adds_and_deletes_connectors(api, org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    ConnectorFactory(charger=charger, connector_id=1)
    created = api.post("/api/v1/chargers/CP-1/connectors", {"connector_id": 2}, format="json")
    assert created.status_code == 201, created.json()
    evse = api.post("/api/v1/chargers/CP-1/connectors", {"connector_id": 1, "evse_id": 2}, format="json")
    assert evse.status_code == 201
    listed = api.get("/api/v1/chargers/CP-1/connectors").json()["results"]
    assert [(c["evse_id"], c["connector_id"]) for c in listed] == [(None, 1), (None, 2), (2, 1)]
    assert api.delete(f"/api/v1/chargers/CP-1/connectors/{created.json()['id']}").status_code == 204
    assert Connector.objects.filter(charger=charger).count() == 2
    assert [a.verb for a in Activity.objects.filter(object_type="sites.connector").order_by("id")] == [
        "created", "created", "deleted",
    ]  # fmt: skip


def test_a_duplicate_connector_is_400(api, org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    ConnectorFactory(charger=charger, connector_id=1)
    response = api.post("/api/v1/chargers/CP-1/connectors", {"connector_id": 1}, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]
    assert api.post("/api/v1/chargers/CP-1/connectors", {"connector_id": 0}, format="json").status_code == 400


def test_a_connector_with_sessions_is_not_deleted(api, org):
    charger = ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    connector = ConnectorFactory(charger=charger)
    ChargingSessionFactory(charger=charger, connector=connector)
    assert api.delete(f"/api/v1/chargers/CP-1/connectors/{connector.pk}").status_code == 409


def test_a_connector_of_another_charger_answers_404(api, org):
    site = SiteFactory(organization=org)
    ChargerFactory(site=site, charge_point_id="CP-1")
    elsewhere = ConnectorFactory(charger=ChargerFactory(site=site, charge_point_id="CP-2"))
    assert api.delete(f"/api/v1/chargers/CP-1/connectors/{elsewhere.pk}").status_code == 404


def test_a_viewer_may_not_add_connectors(viewer_api, org):
    ChargerFactory(site=SiteFactory(organization=org), charge_point_id="CP-1")
    assert viewer_api.post("/api/v1/chargers/CP-1/connectors", {"connector_id": 2}, format="json").status_code == 403


# --- API clients ----------------------------------------------------------------------------


def test_an_api_client_with_the_tariffs_scope_may_not_write_sites(org):
    api = api_client_of(org, ["tariffs"], name="Billing")
    assert api.post("/api/v1/sites", {**SITE, "organization": org.pk}, format="json").status_code == 403
    site = SiteFactory(organization=org)
    assert api.post("/api/v1/chargers", {"charge_point_id": "N", "site": site.pk}, format="json").status_code == 403
    assert not Site.objects.exclude(pk=site.pk).exists()
