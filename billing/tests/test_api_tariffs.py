"""Tariffs (with their bands) and tariff assignments through the partner API (issue 20): the
admin's money rules as 400s with field errors, the permission of the caller's role or API
client's scopes, another organization's tariffs answering 404, every change audited."""

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Activity
from accounts.tests.api import api_client_of, authenticated
from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from billing.models import Tariff, TariffAssignment
from sites.tests.factories import ChargerFactory, SiteFactory

pytestmark = pytest.mark.django_db

T0 = "2026-03-01T08:00:00Z"


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


def _tariff(org, **fields) -> dict:
    return {
        "organization": org.pk, "name": "Standard", "currency": "EUR", "vat_percent": "19", "price_per_kwh": "0.39",
        "bands": [{"start_time": "22:00", "end_time": "06:00", "price_per_kwh": "0.25"}], **fields,
    }  # fmt: skip


# --- tariffs --------------------------------------------------------------------------------


def test_an_operator_creates_a_tariff_with_its_bands(api, org, operator):
    response = api.post("/api/v1/tariffs", _tariff(org), format="json")
    assert response.status_code == 201, response.json()
    tariff = Tariff.objects.get()
    assert (tariff.organization, tariff.price_per_kwh, tariff.vat_percent) == (org, Decimal("0.39"), Decimal("19"))
    [band] = tariff.bands.all()
    assert (band.start_time, band.end_time, band.price_per_kwh) == (dt.time(22), dt.time(6), Decimal("0.25"))
    assert response.json()["bands"] == [
        {"start_time": "22:00:00", "end_time": "06:00:00", "price_per_kwh": "0.2500", "price_per_minute": None}
    ]
    [created] = Activity.objects.filter(object_type="billing.tariff")
    assert (created.verb, created.via, created.actor, created.organization_id) == ("created", "api", operator, org.pk)
    assert created.changes["bands"][1][0]["start_time"] == "22:00:00"


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"price_per_kwh": "-0.10"}, "price_per_kwh", "cannot be negative"),
        ({"flat_fee": "-1"}, "flat_fee", "cannot be negative"),
        ({"min_price": "-2"}, "min_price", "cannot be negative"),
        ({"min_price": "10", "max_price": "5"}, "max_price", "cannot be below the minimum"),
        ({"vat_percent": "120"}, "vat_percent", "less than or equal to 100"),
        ({"vat_percent": "-1"}, "vat_percent", "greater than or equal to 0"),
        ({"currency": "EURO"}, "currency", "not a valid choice"),
        ({"currency": "XAU"}, "currency", "not a valid choice"),  # gold is not money for a tariff
        ({"currency": "KWD"}, "currency", "not a valid choice"),  # three minor units: not offered
        ({"bands": [{"start_time": "08:00", "end_time": "18:00", "price_per_kwh": "-1"}]}, "bands", "negative"),
        ({"bands": [{"start_time": "25:00", "end_time": "18:00"}]}, "bands", "Time has wrong format"),
    ],
)
def test_a_tariff_that_makes_no_sense_is_refused(api, org, fields, field, message):
    response = api.post("/api/v1/tariffs", _tariff(org, **fields), format="json")
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert message in str(errors[field]), errors
    assert not Tariff.objects.exists()


def test_a_yen_tariff_is_accepted(api, org):
    assert (
        api.post("/api/v1/tariffs", _tariff(org, currency="JPY", price_per_kwh="45"), format="json").status_code == 201
    )
    assert Tariff.objects.get().currency == "JPY"


def test_a_duplicate_tariff_name_is_400(api, org):
    Tariff.objects.create(organization=org, name="Standard")
    response = api.post("/api/v1/tariffs", _tariff(org), format="json")
    assert response.status_code == 400
    assert "non_field_errors" in response.json()["errors"]


def test_a_tariff_cannot_be_created_in_another_organization(api, other_org):
    response = api.post("/api/v1/tariffs", _tariff(other_org), format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["errors"]


def test_a_tariff_update_keeps_its_organization_and_replaces_bands(api, org, other_org, operator):
    MembershipFactory(user=operator, organization=other_org, role="admin")
    tariff = Tariff.objects.create(organization=org, name="Standard", price_per_kwh=Decimal("0.30"))
    tariff.bands.create(start_time=dt.time(22), end_time=dt.time(6))
    body = {"organization": other_org.pk, "price_per_kwh": "0.45", "bands": []}
    response = api.patch(f"/api/v1/tariffs/{tariff.pk}", body, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["bands"] == []
    tariff.refresh_from_db()
    assert (tariff.organization, tariff.price_per_kwh, tariff.bands.count()) == (org, Decimal("0.45"), 0)
    [changed] = Activity.objects.filter(object_type="billing.tariff", verb="changed")
    assert changed.changes["price_per_kwh"] == ["0.3000", "0.4500"]
    assert changed.changes["bands"][1] == []


def test_a_tariff_update_is_checked_as_a_whole(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard", min_price=Decimal("5"))
    response = api.patch(f"/api/v1/tariffs/{tariff.pk}", {"max_price": "4"}, format="json")
    assert response.status_code == 400
    assert "max_price" in response.json()["errors"]
    tariff.refresh_from_db()
    assert tariff.max_price is None


def test_a_tariff_is_deleted_and_audited(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    assert api.delete(f"/api/v1/tariffs/{tariff.pk}").status_code == 204
    assert not Tariff.objects.exists()
    assert Activity.objects.filter(object_type="billing.tariff", verb="deleted", via="api").count() == 1


def test_a_viewer_may_not_write_tariffs(org):
    viewer = UserFactory()
    MembershipFactory(user=viewer, organization=org, role="viewer")
    api = authenticated(viewer)
    tariff = Tariff.objects.create(organization=org, name="Standard")
    assert api.post("/api/v1/tariffs", _tariff(org, name="New"), format="json").status_code == 403
    assert api.patch(f"/api/v1/tariffs/{tariff.pk}", {"price_per_kwh": "1"}, format="json").status_code == 403
    assert api.delete(f"/api/v1/tariffs/{tariff.pk}").status_code == 403
    assert api.get(f"/api/v1/tariffs/{tariff.pk}").status_code == 200


def test_another_organizations_tariff_answers_404(api, other_org):
    tariff = Tariff.objects.create(organization=other_org, name="Theirs")
    assert api.get(f"/api/v1/tariffs/{tariff.pk}").status_code == 404
    assert api.patch(f"/api/v1/tariffs/{tariff.pk}", {"price_per_kwh": "1"}, format="json").status_code == 404
    assert api.delete(f"/api/v1/tariffs/{tariff.pk}").status_code == 404
    assert "Theirs" not in api.get("/api/v1/tariffs").content.decode()


# --- assignments ----------------------------------------------------------------------------


def test_an_operator_assigns_a_tariff_to_a_site(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    site = SiteFactory(organization=org)
    body = {"tariff": tariff.pk, "site": site.pk, "valid_from": T0}
    response = api.post("/api/v1/tariff-assignments", body, format="json")
    assert response.status_code == 201, response.json()
    assignment = TariffAssignment.objects.get()
    assert (assignment.tariff, assignment.site, assignment.organization) == (tariff, site, None)
    [created] = Activity.objects.filter(object_type="billing.tariffassignment")
    assert (created.verb, created.via, created.organization_id) == ("created", "api", org.pk)


@pytest.mark.parametrize("targets", [{}, "two"])
def test_an_assignment_names_exactly_one_target(api, org, targets):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    if targets == "two":
        targets = {"organization": org.pk, "site": SiteFactory(organization=org).pk}
    response = api.post("/api/v1/tariff-assignments", {"tariff": tariff.pk, **targets}, format="json")
    assert response.status_code == 400
    assert "Choose exactly one target" in str(response.json()["errors"]["non_field_errors"])


def test_an_assignment_ends_after_it_starts(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    body = {"tariff": tariff.pk, "organization": org.pk, "valid_from": T0, "valid_to": "2026-02-01T00:00:00Z"}
    response = api.post("/api/v1/tariff-assignments", body, format="json")
    assert response.status_code == 400
    assert "valid_to" in response.json()["errors"]


def test_an_assignment_targets_the_tariffs_own_organization(api, org, other_org, operator):
    MembershipFactory(user=operator, organization=other_org, role="admin")
    tariff = Tariff.objects.create(organization=org, name="Standard")
    body = {"tariff": tariff.pk, "charger": ChargerFactory(site=SiteFactory(organization=other_org)).pk}
    response = api.post("/api/v1/tariff-assignments", body, format="json")
    assert response.status_code == 400
    assert "charger" in response.json()["errors"]


def test_another_organizations_tariff_or_target_cannot_be_named(api, org, other_org):
    theirs = Tariff.objects.create(organization=other_org, name="Theirs")
    mine = Tariff.objects.create(organization=org, name="Mine")
    refused = api.post("/api/v1/tariff-assignments", {"tariff": theirs.pk, "organization": org.pk}, format="json")
    assert "tariff" in refused.json()["errors"]
    site = SiteFactory(organization=other_org)
    refused = api.post("/api/v1/tariff-assignments", {"tariff": mine.pk, "site": site.pk}, format="json")
    assert "site" in refused.json()["errors"]
    assignment = TariffAssignment.objects.create(tariff=theirs, organization=other_org)
    assert (
        api.patch(f"/api/v1/tariff-assignments/{assignment.pk}", {"valid_to": None}, format="json").status_code == 404
    )
    assert api.delete(f"/api/v1/tariff-assignments/{assignment.pk}").status_code == 404


def test_an_assignment_changes_target_and_validity_but_not_tariff(api, org):
    tariff, other = (Tariff.objects.create(organization=org, name=name) for name in ("Standard", "Other"))
    assignment = TariffAssignment.objects.create(tariff=tariff, organization=org)
    charger = ChargerFactory(site=SiteFactory(organization=org))
    body = {"tariff": other.pk, "organization": None, "charger": charger.pk, "valid_to": "2030-01-01T00:00:00Z"}
    response = api.patch(f"/api/v1/tariff-assignments/{assignment.pk}", body, format="json")
    assert response.status_code == 200, response.json()
    assignment.refresh_from_db()
    assert (assignment.tariff, assignment.organization, assignment.charger) == (tariff, None, charger)
    assert assignment.valid_to == dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
    [changed] = Activity.objects.filter(object_type="billing.tariffassignment", verb="changed")
    assert changed.changes["charger"] == [None, charger.pk]


def test_assignments_filter_by_charger_and_order_by_validity(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    charger = ChargerFactory(site=SiteFactory(organization=org))
    early = TariffAssignment.objects.create(tariff=tariff, charger=charger, valid_from="2026-01-01T00:00Z")
    late = TariffAssignment.objects.create(tariff=tariff, charger=charger, valid_from="2026-06-01T00:00Z")
    TariffAssignment.objects.create(tariff=tariff, organization=org)
    ids = [a["id"] for a in api.get("/api/v1/tariff-assignments", {"charger": charger.pk}).json()["results"]]
    assert ids == [late.pk, early.pk]
    ordered = api.get("/api/v1/tariff-assignments", {"charger": charger.pk, "ordering": "valid_from"}).json()
    assert [a["id"] for a in ordered["results"]] == [early.pk, late.pk]


def test_an_assignment_is_deleted_and_audited(api, org):
    tariff = Tariff.objects.create(organization=org, name="Standard")
    assignment = TariffAssignment.objects.create(tariff=tariff, organization=org)
    assert api.delete(f"/api/v1/tariff-assignments/{assignment.pk}").status_code == 204
    assert not TariffAssignment.objects.exists()
    assert Activity.objects.filter(object_type="billing.tariffassignment", verb="deleted").count() == 1


# --- API clients ----------------------------------------------------------------------------


def test_an_api_client_with_the_tariffs_scope_writes_tariffs_but_not_sites(org):
    api = api_client_of(org, ["tariffs"], name="System")
    created = api.post("/api/v1/tariffs", _tariff(org), format="json")
    assert created.status_code == 201, created.json()
    tariff_id = created.json()["id"]
    assert api.patch(f"/api/v1/tariffs/{tariff_id}", {"price_per_kwh": "0.5"}, format="json").status_code == 200
    body = {"tariff": tariff_id, "organization": org.pk}
    assert api.post("/api/v1/tariff-assignments", body, format="json").status_code == 201
    assert api.post("/api/v1/sites", {"organization": org.pk, "name": "Depot"}, format="json").status_code == 403
    [created_activity] = Activity.objects.filter(object_type="billing.tariff", verb="created")
    assert created_activity.actor.full_name == "API client: System"


def test_an_api_client_without_the_tariffs_scope_may_not_write_tariffs(org):
    api = api_client_of(org, ["read", "tokens"])
    assert api.post("/api/v1/tariffs", _tariff(org), format="json").status_code == 403
    assert not Tariff.objects.exists()
