"""Brute-force lockout (S19) on the admin login and the API token endpoint."""

import pytest
from django.conf import settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery staple"


@pytest.fixture
def staff():
    return UserFactory(email="ops@example.com", is_staff=True, is_superuser=True)


def _admin_login(client, password: str):
    return client.post("/admin/login/", {"username": "ops@example.com", "password": password, "next": "/admin/"})


def test_admin_login_locks_out_after_repeated_failures(client, staff):
    assert _admin_login(client, PASSWORD).status_code == 302  # the right password works
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _admin_login(client, "wrong")
    locked = _admin_login(client, PASSWORD)
    assert locked.status_code in (403, 429)
    assert "_auth_user_id" not in client.session


def test_token_endpoint_locks_out_after_repeated_failures(staff):
    client = APIClient()
    body = {"email": "ops@example.com", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert client.post("/api/v1/auth/token", body, format="json").status_code == 401
    # The failure that reaches the limit locks the account out, as on the admin.
    assert client.post("/api/v1/auth/token", body, format="json").status_code == 429
    locked = client.post("/api/v1/auth/token", {**body, "password": PASSWORD}, format="json")
    assert locked.status_code == 429
    assert "access" not in locked.json()


def test_failures_below_the_limit_do_not_lock_and_success_resets(staff):
    client = APIClient()
    body = {"email": "ops@example.com", "password": "wrong"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/api/v1/auth/token", body, format="json")
    assert client.post("/api/v1/auth/token", {**body, "password": PASSWORD}, format="json").status_code == 200
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/api/v1/auth/token", body, format="json")
    assert client.post("/api/v1/auth/token", {**body, "password": PASSWORD}, format="json").status_code == 200


def _token(address: str, password: str, **headers: str):
    client = APIClient(REMOTE_ADDR=address)
    body = {"email": "ops@example.com", "password": password}
    return client.post("/api/v1/auth/token", body, format="json", **headers)


def test_distributed_guessing_locks_the_account_from_every_address(staff, settings):
    """One failure from each of many addresses never reaches the pair limit; the account limit
    locks the account, also for a new address with the right password."""
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 8
    for n in range(settings.AXES_ACCOUNT_FAILURE_LIMIT - 1):
        assert _token(f"198.51.100.{n}", "wrong").status_code == 401
    # The failure that reaches the account limit is answered as a lockout, as for the pair limit.
    assert _token("198.51.100.99", "wrong").status_code == 429
    locked = _token("203.0.113.1", PASSWORD)
    assert locked.status_code == 429
    assert "access" not in locked.json()


def test_fewer_failures_than_the_account_limit_lock_only_their_own_address(staff, settings):
    settings.AXES_ACCOUNT_FAILURE_LIMIT = 8
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _token("198.51.100.1", "wrong")
    assert _token("198.51.100.1", PASSWORD).status_code == 429
    assert _token("203.0.113.1", PASSWORD).status_code == 200


def test_a_clients_own_x_forwarded_for_does_not_dodge_the_lockout(staff):
    """The address is REMOTE_ADDR (uvicorn resolves trusted proxies into it), never the header."""
    for n in range(settings.AXES_FAILURE_LIMIT):
        _token("192.0.2.9", "wrong", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    assert _token("192.0.2.9", PASSWORD, HTTP_X_FORWARDED_FOR="198.51.100.200").status_code == 429
