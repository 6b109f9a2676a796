"""JWT for the partner API (S18)."""

import jwt
import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.factories import MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def member():
    user = UserFactory(email="partner@example.com")
    MembershipFactory(user=user, role="viewer")
    return user


def _tokens(client: APIClient) -> dict:
    response = client.post("/api/v1/auth/token", {"email": "partner@example.com", "password": PASSWORD}, format="json")
    assert response.status_code == 200, response.content
    return response.json()


def test_an_access_token_opens_the_api(member):
    client = APIClient()
    access = _tokens(client)["access"]
    assert client.get("/api/v1/chargers").status_code == 401
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access}")
    assert client.get("/api/v1/chargers").status_code == 200


def test_access_tokens_are_short_lived():
    assert settings.SIMPLE_JWT["ACCESS_TOKEN_LIFETIME"].total_seconds() <= 15 * 60


def test_a_refresh_rotates_and_the_old_refresh_token_is_refused(member):
    client = APIClient()
    first = _tokens(client)["refresh"]
    rotated = client.post("/api/v1/auth/token/refresh", {"refresh": first}, format="json")
    assert rotated.status_code == 200
    assert rotated.json()["refresh"] != first
    assert client.post("/api/v1/auth/token/refresh", {"refresh": first}, format="json").status_code == 401


def test_logout_blacklists_the_refresh_token(member):
    client = APIClient()
    refresh = _tokens(client)["refresh"]
    assert client.post("/api/v1/auth/logout", {"refresh": refresh}, format="json").status_code == 205
    assert client.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json").status_code == 401


def test_an_inactive_user_cannot_refresh(member):
    client = APIClient()
    refresh = _tokens(client)["refresh"]
    member.is_active = False
    member.save()
    response = client.post("/api/v1/auth/token/refresh", {"refresh": refresh}, format="json")
    assert response.status_code == 401
    assert "access" not in response.json()


@pytest.mark.parametrize("algorithm", ["HS512", "none"])
def test_tokens_signed_with_another_algorithm_are_refused(member, algorithm):
    """The algorithm is pinned: a token claiming another one is not accepted."""
    access = _tokens(APIClient())["access"]
    claims = jwt.decode(access, options={"verify_signature": False})
    key = settings.SIMPLE_JWT["SIGNING_KEY"] if algorithm != "none" else None
    forged = jwt.encode(claims, key, algorithm=algorithm)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert client.get("/api/v1/chargers").status_code == 401


def test_wrong_password_gets_401_with_a_message(member):
    response = APIClient().post(
        "/api/v1/auth/token", {"email": "partner@example.com", "password": "wrong"}, format="json"
    )
    assert response.status_code == 401
    assert response.json()["detail"]


def test_the_schema_and_docs_are_served_without_a_cdn():
    client = APIClient()
    schema = client.get("/api/schema/", {"format": "json"})
    assert schema.status_code == 200
    assert "/api/v1/chargers" in schema.json()["paths"]
    for page in ("/api/docs/", "/api/redoc/"):
        html = client.get(page).content.decode()
        assert "cdn" not in html.lower()
        assert "/static/drf_spectacular_sidecar/" in html
