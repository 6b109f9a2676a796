"""Tenant isolation in the API (S14, S17, S22): walk every route of the generated OpenAPI
schema as a member of organization A against the objects of organization B."""

import datetime as dt
import re

import pytest
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from csms.tests.tenants import populate
from sites.models import Charger, SecurityProfile, UnknownCharger

pytestmark = pytest.mark.django_db

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
# B's rows show up under these names in any response.
B_MARKERS = ("B-CP", "B-TAG", "B site", "B cap", "b-org")
PERIOD = {"startPeriod": 0, "limit": 16}
SOON = (timezone.now() + dt.timedelta(days=1)).isoformat()
# A minimal valid body per writable route, so a refusal is about the tenant, not the body.
BODIES = {
    "/api/v1/chargers/{charge_point_id}/commands": {"action": "Reset", "payload": {"type": "Soft"}},
    "/api/v1/id-tokens/{id}": {"id_tag": "NEW-TAG", "kind": "ISO14443", "status": "Accepted"},
    "/api/v1/sites/{id}": {"name": "Renamed"},
    "/api/v1/chargers/{charge_point_id}": {"heartbeat_interval": 60},
    "/api/v1/chargers/{charge_point_id}/connectors": {"connector_id": 5},
    "/api/v1/tariffs/{id}": {"name": "Renamed", "price_per_kwh": "1"},
    "/api/v1/tariff-assignments/{id}": {"valid_to": "2030-01-01T00:00:00Z"},
    "/api/v1/charging-profiles/{id}": {"name": "Renamed", "periods": [{"startPeriod": 0, "limit": 2}]},
    # A's own charger: the profile named in the path is B's.
    "/api/v1/charging-profiles/{id}/assign": {"charge_point_id": "A-CP", "connector_id": 0},
}
# Which of B's objects a path's {id} names, by the path's collection.
ID_OF = {
    "organizations": lambda b: b["organization"].pk,
    "sites": lambda b: b["site"].pk,
    "id-tokens": lambda b: b["token"].pk,
    "sessions": lambda b: b["session"].pk,
    "reservations": lambda b: b["reservation"].pk,
    "charging-profiles": lambda b: b["profile"].pk,
    "charging-profile-assignments": lambda b: b["profile_assignment"].pk,
    "unknown-chargers": lambda b: b["unknown"].pk,
    "session-costs": lambda b: b["cost"].pk,
    "report-exports": lambda b: b["export"].pk,
    "security-events": lambda b: b["security_event"].pk,
    "tariffs": lambda b: b["tariff"].pk,
    "tariff-assignments": lambda b: b["tariff_assignment"].pk,
    "alerts": lambda b: b["alert"].pk,
    "command-batches": lambda b: b["batch"].pk,
    "webhook-subscriptions": lambda b: b["webhook"].pk,
}


def _routes():
    for path, operations in SCHEMA["paths"].items():
        if "/auth/" in path:
            continue
        for method in operations:
            if method in ("get", "post", "put", "patch", "delete"):
                yield path, method


DETAIL_ROUTES = [(path, method) for path, method in _routes() if "{" in path]
LIST_ROUTES = [path for path, method in _routes() if "{" not in path and method == "get"]


@pytest.fixture
def tenants():
    org_a, org_b = OrganizationFactory(name="A Org", slug="a-org"), OrganizationFactory(name="B Org", slug="b-org")
    rows_a, rows_b = populate(org_a, "A"), populate(org_b, "B")
    rows_b["organization"] = org_b
    rows_b["unknown"] = UnknownCharger.objects.create(charge_point_id="STRANGER")
    member = UserFactory()
    MembershipFactory(user=member, organization=org_a, role="operator")
    client = APIClient()
    client.force_authenticate(member)
    return client, org_a, org_b, rows_a, rows_b


def _fill(path: str, rows_b: dict) -> str:
    collection = path.split("/")[3]
    values = {
        "charge_point_id": rows_b["charger"].charge_point_id,
        "session_pk": rows_b["session"].pk,
        "command_id": rows_b["command"].pk,
        "delivery_pk": rows_b["delivery"].pk,
        "id": ID_OF[collection](rows_b) if collection in ID_OF else 0,
    }
    return re.sub(r"\{(\w+)\}", lambda match: str(values[match.group(1)]), path)


def test_the_schema_documents_every_resource():
    paths = set(SCHEMA["paths"])
    for expected in ("/api/v1/chargers", "/api/v1/sessions/{session_pk}/meter-values", "/api/v1/commands/{command_id}",
                     "/api/v1/id-tokens", "/api/v1/unknown-chargers", "/api/v1/auth/token/refresh"):  # fmt: skip
        assert expected in paths


@pytest.mark.parametrize(("path", "method"), DETAIL_ROUTES, ids=lambda value: value)
def test_another_tenants_objects_answer_404_on_every_route(tenants, path, method):
    client, *_, rows_b = tenants
    url = _fill(path, rows_b)
    response = getattr(client, method)(url, BODIES.get(path, {}), format="json")
    expected = 403 if "unknown-chargers" in path else 404  # the inbox is for platform administrators
    assert response.status_code == expected, (url, response.status_code, response.content[:200])
    assert not any(marker in response.content.decode() for marker in B_MARKERS)


@pytest.mark.parametrize("path", LIST_ROUTES, ids=lambda value: value)
def test_lists_never_include_another_tenants_rows(tenants, path):
    client, *_ = tenants
    response = client.get(path)
    assert response.status_code in (200, 403), (path, response.content[:200])
    assert not any(marker in response.content.decode() for marker in B_MARKERS)


def test_lists_do_show_the_users_own_rows(tenants):
    client, *_ = tenants
    assert "A-CP" in client.get("/api/v1/chargers").content.decode()
    assert "A-TAG" in client.get("/api/v1/id-tokens").content.decode()
    assert "A tariff" in client.get("/api/v1/tariffs").content.decode()


def test_writes_cannot_attach_another_tenants_objects(tenants):
    client, org_a, org_b, rows_a, rows_b = tenants
    body = {"organization": org_b.pk, "id_tag": "SNEAKY", "kind": "ISO14443", "status": "Accepted"}
    response = client.post("/api/v1/id-tokens", body, format="json")
    assert response.status_code == 400
    assert "organization" in response.json()["errors"]
    created = client.post("/api/v1/id-tokens", {**body, "organization": org_a.pk}, format="json")
    assert created.status_code == 201
    for path, write in (
        ("/api/v1/sites", {"organization": org_b.pk, "name": "Sneaky"}),
        ("/api/v1/chargers", {"site": rows_b["site"].pk, "charge_point_id": "SNEAKY"}),
        ("/api/v1/chargers", {"site": rows_a["site"].pk, "charge_point_id": "B-CP"}),  # taken: no tenant named
        ("/api/v1/tariffs", {"organization": org_b.pk, "name": "Sneaky"}),
        ("/api/v1/tariff-assignments", {"tariff": rows_b["tariff"].pk, "organization": org_a.pk}),
        ("/api/v1/tariff-assignments", {"tariff": rows_a["tariff"].pk, "site": rows_b["site"].pk}),
        ("/api/v1/charging-profiles", {"organization": org_b.pk, "name": "Sneaky", "periods": [PERIOD]}),
        ("/api/v1/reservations", {"charge_point_id": "B-CP", "id_token": rows_a["token"].pk, "expires_at": SOON}),
        ("/api/v1/reservations", {"charge_point_id": "A-CP", "id_token": rows_b["token"].pk, "expires_at": SOON}),
        (f"/api/v1/charging-profiles/{rows_a['profile'].pk}/assign", {"charge_point_id": "B-CP"}),
    ):
        response = client.post(path, write, format="json")
        assert response.status_code == 400, (path, response.content)
        assert not any(marker in response.content.decode() for marker in B_MARKERS)


def test_the_tenant_of_an_object_is_not_writable(tenants):
    client, org_a, org_b, rows_a, _ = tenants
    token = rows_a["token"]
    response = client.patch(f"/api/v1/id-tokens/{token.pk}", {"organization": org_b.pk}, format="json")
    assert response.status_code == 200
    token.refresh_from_db()
    assert token.organization == org_a


def test_the_tenant_is_never_taken_from_a_client_header(tenants):
    client, _, org_b, *_ = tenants
    response = client.get("/api/v1/chargers", HTTP_X_ORGANIZATION=str(org_b.pk), HTTP_X_TENANT="b-org")
    assert "B-CP" not in response.content.decode()


def test_charger_secrets_and_security_profile_are_not_exposed(tenants):
    client, *_ = tenants
    body = client.get("/api/v1/chargers/A-CP").json()
    assert not {"auth_key_hash", "pending_auth_key_hash", "security_profile"} & set(body)
    # Written only by the admin: the API shows and changes neither (the field is ignored).
    assert client.patch("/api/v1/chargers/A-CP", {"security_profile": 0}, format="json").status_code == 200
    assert Charger.objects.get(charge_point_id="A-CP").security_profile == SecurityProfile.BASIC


def test_a_viewer_cannot_change_id_tokens(tenants):
    _, org_a, _, rows_a, _ = tenants
    viewer = UserFactory()
    MembershipFactory(user=viewer, organization=org_a, role="viewer")
    client = APIClient()
    client.force_authenticate(viewer)
    response = client.patch(f"/api/v1/id-tokens/{rows_a['token'].pk}", {"holder_name": "x"}, format="json")
    assert response.status_code == 403
    assert client.post(
        "/api/v1/id-tokens", {"organization": org_a.pk, "id_tag": "V", "kind": "ISO14443", "status": "Accepted"},
        format="json",
    ).status_code == 400  # fmt: skip


def test_every_error_has_the_same_shape(tenants):
    client, *_ = tenants
    not_found = client.get("/api/v1/chargers/NOPE").json()
    invalid = client.post("/api/v1/id-tokens", {"id_tag": ""}, format="json").json()
    not_allowed = client.put("/api/v1/chargers/A-CP", {}, format="json").json()
    anonymous = APIClient().get("/api/v1/chargers").json()
    for body in (not_found, invalid, not_allowed, anonymous):
        assert isinstance(body["detail"], str)
        assert body["detail"]
    assert set(invalid["errors"]) >= {"id_tag", "organization"}
