"""API rate limits (S24): per user, per address without credentials, logins per address; the
address is never taken from a client's X-Forwarded-For; a cache outage fails open."""

import copy
import logging

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.tests.factories import UserFactory
from csms import throttling

pytestmark = pytest.mark.django_db


def _rates(**rates: str):
    framework = copy.deepcopy(settings.REST_FRAMEWORK)
    framework["DEFAULT_THROTTLE_RATES"].update(rates)
    return override_settings(REST_FRAMEWORK=framework)


def _verify(client: APIClient, **headers: str) -> int:
    """An endpoint open to anonymous clients (protected ones answer 401 before any throttle)."""
    return client.post("/api/v1/auth/token/verify", {"token": "not-a-token"}, format="json", **headers).status_code


def test_anonymous_requests_are_limited_per_address_whatever_x_forwarded_for():
    client = APIClient(REMOTE_ADDR="192.0.2.1")
    with _rates(anon="3/minute"):
        statuses = [_verify(client, HTTP_X_FORWARDED_FOR=f"198.51.100.{n}") for n in range(4)]
        assert statuses == [401, 401, 401, 429]
        assert _verify(APIClient(REMOTE_ADDR="192.0.2.2")) == 401  # another address


def test_requests_are_limited_per_user():
    first, second = APIClient(), APIClient()
    first.force_authenticate(UserFactory())
    second.force_authenticate(UserFactory())
    with _rates(user="3/minute"):
        assert [first.get("/api/v1/organizations").status_code for _ in range(4)] == [200, 200, 200, 429]
        limited = first.get("/api/v1/organizations")
        assert int(limited["Retry-After"]) > 0
        assert limited.json()["detail"].startswith("Request was throttled")
        assert second.get("/api/v1/organizations").status_code == 200


def test_the_token_endpoint_has_a_stricter_limit():
    client = APIClient()
    body = {"email": "nobody@example.com", "password": "wrong"}
    with _rates(login="2/minute", anon="100/minute"):
        statuses = [client.post("/api/v1/auth/token", body, format="json").status_code for _ in range(3)]
        assert statuses == [401, 401, 429]
        assert _verify(client) == 401  # other views keep the anonymous rate


@override_settings(
    CACHES={
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
)
def test_a_cache_outage_lets_requests_through_with_one_log_line(caplog, monkeypatch):
    monkeypatch.setattr(throttling, "_last_failure_logged", float("-inf"))
    user_client = APIClient()
    user_client.force_authenticate(UserFactory())
    with caplog.at_level(logging.WARNING, logger="csms.throttling"):
        assert [user_client.get("/api/v1/organizations").status_code for _ in range(3)] == [200] * 3
        assert _verify(APIClient()) == 401
        login = APIClient().post("/api/v1/auth/token", {"email": "a@example.com", "password": "x"}, format="json")
        assert login.status_code == 401
    assert [record.getMessage() for record in caplog.records if record.name == "csms.throttling"] == [
        "API throttling is off while its cache is unreachable: ConnectionError"
    ]
