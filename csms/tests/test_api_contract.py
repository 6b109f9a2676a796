"""The API keeps its published contract (issue 15): every error is documented in the error
shape, parameters say what the views accept, CSV errors are readable text.

The last test runs schemathesis: it generates requests from /api/schema/ and sends them, with a
valid token, to a real server (`manage.py serve` on 127.0.0.1, its own database, the demo
fleet). It fails on a 5xx, on a response that does not match its schema, and on a status code
or content type the schema does not document. A fixed seed and a bounded number of examples per
operation keep it reproducible and to a minute or two; it runs in both CI stages (SQLite, then
PostgreSQL + Redis)."""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from charging.api.views import DUPLICATE_TAG, IdTokenSerializer
from charging.tests.factories import IdTokenFactory
from common.live_server import live_server
from sites.tests.factories import ChargerFactory, SiteFactory

SCHEMA = SchemaGenerator().get_schema(request=None, public=True)
OPERATIONS = [
    (method.upper(), path, operation)
    for path, operations in SCHEMA["paths"].items()
    for method, operation in operations.items()
]
ERROR_REF = {"$ref": "#/components/schemas/Error"}


@pytest.fixture
def member(db):
    user = UserFactory()
    organization = OrganizationFactory()
    MembershipFactory(user=user, organization=organization, role="admin")
    SiteFactory(organization=organization, name="Mine")
    client = APIClient()
    client.force_authenticate(user)
    return client, organization


def _query_parameter(operation: dict, name: str) -> dict:
    return next(p["schema"] for p in operation.get("parameters", []) if p["in"] == "query" and p["name"] == name)


# --- the schema -----------------------------------------------------------------------------


@pytest.mark.parametrize(("method", "path", "operation"), OPERATIONS, ids=[f"{m} {p}" for m, p, _ in OPERATIONS])
def test_every_operation_documents_its_errors_in_the_error_shape(method, path, operation):
    responses = operation["responses"]
    expected = {"401", "403", "429"}
    if method in ("POST", "PUT", "PATCH") or any(p["in"] == "query" for p in operation.get("parameters", [])):
        expected.add("400")
    if "{" in path or any(p["name"] == "page" for p in operation.get("parameters", [])):
        expected.add("404")
    assert expected <= set(responses)
    for status in expected:
        assert responses[status]["content"]["application/json"]["schema"] == ERROR_REF
    # A view that renders CSV answers its errors as CSV too (text, not JSON).
    if path.startswith("/api/v1/analytics/"):
        assert all(responses[status]["content"]["text/csv"]["schema"] == {"type": "string"} for status in expected)


def test_the_schema_is_valid_openapi_and_generates_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


def test_the_error_shape_is_a_component():
    error = SCHEMA["components"]["schemas"]["Error"]
    assert error["required"] == ["detail"]
    assert set(error["properties"]) == {"detail", "errors"}


def test_pages_and_page_sizes_are_bounded_integers():
    operation = SCHEMA["paths"]["/api/v1/sites"]["get"]
    assert _query_parameter(operation, "page_size") == {"type": "integer", "minimum": 1, "maximum": 200}
    assert _query_parameter(operation, "page") == {"type": "integer", "minimum": 1}


def test_related_filters_and_analytics_ids_are_positive_integers():
    for path in ("/api/v1/sites", "/api/v1/analytics/energy"):
        schema = _query_parameter(SCHEMA["paths"][path]["get"], "organization")
        assert (schema["type"], schema["minimum"]) == ("integer", 1)


def test_the_commands_wait_is_bounded():
    schema = _query_parameter(SCHEMA["paths"]["/api/v1/commands/{command_id}"]["get"], "wait")
    assert schema == {"type": "number", "minimum": 0, "maximum": 30.0}


@pytest.mark.parametrize("method", ["put", "patch"])
def test_an_id_tokens_organization_is_not_writable_by_update_in_the_schema(method):
    body = SCHEMA["paths"]["/api/v1/id-tokens/{id}"][method]["requestBody"]["content"]["application/json"]
    request = SCHEMA["components"]["schemas"][body["schema"]["$ref"].rsplit("/", 1)[1]]
    assert "organization" not in request["properties"]
    assert "organization" in SCHEMA["components"]["schemas"]["IdTokenRequest"]["required"]


# --- the views do what the schema says ------------------------------------------------------


@pytest.mark.parametrize("page_size", ["null", "true", "0", "-1", "201", "1.5", ""])
def test_a_page_size_outside_the_schema_is_refused(member, page_size):
    client, _ = member
    response = client.get("/api/v1/sites", {"page_size": page_size})
    assert response.status_code == 400
    assert response.json()["errors"]["page_size"] == ["A whole number from 1 to 200."]


def test_a_page_size_inside_the_schema_is_used(member):
    client, _ = member
    assert client.get("/api/v1/sites", {"page_size": 200}).json()["count"] == 1


@pytest.mark.parametrize("organization", ["999999", str(2**63 - 1)])
def test_an_unknown_id_in_a_list_filter_filters_to_nothing(member, organization):
    client, _ = member
    response = client.get("/api/v1/sites", {"organization": organization})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_known_id_in_a_list_filter_filters(member):
    client, organization = member
    assert [s["name"] for s in client.get("/api/v1/sites", {"organization": organization.pk}).json()["results"]] == [
        "Mine"
    ]


@pytest.mark.parametrize("organization", ["0", "abc", str(2**63)])
def test_an_id_outside_the_schema_in_a_list_filter_is_refused(member, organization):
    client, _ = member
    assert client.get("/api/v1/sites", {"organization": organization}).status_code == 400


@pytest.mark.parametrize("value", ["null", "yes", "2"])
def test_a_boolean_filter_that_is_neither_true_nor_false_is_refused(member, value):
    client, _ = member
    response = client.get("/api/v1/chargers", {"is_online": value})
    assert response.status_code == 400
    assert response.json()["errors"]["is_online"] == ["Either true or false."]


def test_a_boolean_filter_filters(member):
    client, organization = member
    ChargerFactory(site=organization.sites.get(), is_online=True, charge_point_id="ON-1")
    ChargerFactory(site=organization.sites.get(), is_online=False, charge_point_id="OFF-1")
    for value, expected in (("true", ["ON-1"]), ("0", ["OFF-1"]), ("", ["OFF-1", "ON-1"])):
        results = client.get("/api/v1/chargers", {"is_online": value}).json()["results"]
        assert sorted(c["charge_point_id"] for c in results) == expected


def test_a_duplicate_id_tag_that_races_past_the_check_is_400_not_500(member, monkeypatch):
    # Two writes of one tag at once both pass the serializer's check; the database decides.
    client, organization = member
    IdTokenFactory(organization=organization, id_tag="RACE-1")
    monkeypatch.setattr(IdTokenSerializer, "validate", lambda self, attrs: attrs)
    body = {"organization": organization.pk, "id_tag": "race-1", "kind": "ISO14443", "status": "Accepted"}
    response = client.post("/api/v1/id-tokens", body, format="json")
    assert response.status_code == 400
    assert response.json()["errors"]["id_tag"] == [DUPLICATE_TAG]


@pytest.mark.parametrize("parameter", ["organization", "site", "charger"])
def test_analytics_of_an_unknown_id_are_empty(member, parameter):
    client, _ = member
    response = client.get("/api/v1/analytics/energy", {parameter: 999999})
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_analytics_errors_in_csv_are_readable_text(member):
    client, _ = member
    response = client.get("/api/v1/analytics/energy", {"format": "csv", "site": "abc", "period": "year"})
    assert response.status_code == 400
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    assert "ErrorDetail" not in text
    assert text.splitlines()[:2] == ["field,message", ",The request is not valid."]
    assert "site,A valid integer is required." in text.splitlines()


def test_analytics_dates_before_2000_are_refused(member):
    client, _ = member
    response = client.get("/api/v1/analytics/energy", {"date_from": "1899-12-30", "date_to": "1899-12-31"})
    assert response.status_code == 400
    assert response.json()["errors"]["non_field_errors"] == ["Dates start at 2000-01-01."]


def test_a_path_no_api_route_matches_answers_json(member):
    client, _ = member
    response = client.get("/api/v1/charging-profiles/-5.96e-08")  # no route: Django, not DRF, answers
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


def test_a_path_no_admin_route_matches_is_still_a_page(client, db):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


def test_logout_with_a_token_that_is_not_valid_is_401():
    response = APIClient().post("/api/v1/auth/logout", {"refresh": "not-a-token"}, format="json")
    assert response.status_code == 401
    assert response.json()["detail"]


def test_a_locked_out_api_login_answers_429_in_the_error_shape(db):
    UserFactory(email="locked@example.com")
    client = APIClient()
    body = {"email": "locked@example.com", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token", body, format="json")
    locked = client.post("/api/v1/auth/token", body, format="json")
    assert locked.status_code == 429
    assert locked["Content-Type"] == "application/json"
    assert set(locked.json()) == {"detail"}
    assert int(locked["Retry-After"]) > 0


# --- schemathesis against a real server -----------------------------------------------------

SEED = 15
EXAMPLES_PER_OPERATION = 25
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance"
# Holding a request for a command to finish is tested on its own (ocpp_gateway/tests/test_commands_api.py);
# here it would hold one worker for up to 30 s per example.
CONFIG = """
[[operations]]
include-path = "/api/v1/commands/{command_id}"
parameters = { "query.wait" = 0 }
"""
SCHEMATHESIS = Path(sys.executable).with_name("schemathesis")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    # Throttling (when configured) must not stop the run: the rates are raised by environment.
    with live_server(
        tmp_path_factory.mktemp("contract"),
        API_THROTTLE_USER="1000000/minute",
        API_THROTTLE_ANON="1000000/minute",
        JWT_ACCESS_MINUTES="30",
    ) as running:
        yield running


@pytest.mark.timeout(900)
def test_the_api_keeps_its_schema(server, tmp_path):
    config = tmp_path / "schemathesis.toml"
    config.write_text(CONFIG)
    token = server.access_token()
    command = [
        str(SCHEMATHESIS),
        "--no-color",
        "--config-file",
        str(config),
        "run",
        f"{server.base_url}/api/schema/",
        "--header",
        "Authorization: Bearer <token>",
        "--checks",
        CHECKS,
        "--seed",
        str(SEED),
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        # One worker: schemathesis's threads trip a CPython 3.11 race in compiling its
        # generated code now and then ("AST constructor recursion depth mismatch").
        "--workers",
        "1",
        "--request-timeout",
        "20",
        "--suppress-health-check",
        "all",
    ]
    started = time.monotonic()
    result = subprocess.run(
        [f"Authorization: Bearer {token}" if part == "Authorization: Bearer <token>" else part for part in command],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=840,
    )
    report = result.stdout[-20000:] + result.stderr[-5000:]
    print(f"schemathesis took {time.monotonic() - started:.0f} s")
    report += "\nReproduce against a server of your own (a token from POST /api/v1/auth/token):\n" + " ".join(command)
    assert result.returncode == 0, report
