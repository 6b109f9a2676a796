"""GET /api/health against the real parts of the current environment, and with each part down."""

import pytest
from django.db import OperationalError, connection

pytestmark = pytest.mark.django_db(transaction=True)

# Nothing listens on port 1 of the loopback address: connections are refused at once.
CLOSED_PORT_REDIS = "redis://127.0.0.1:1/0"


def test_all_parts_up(client):
    response = client.get("/api/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert {name: check["status"] for name, check in body["checks"].items()} == {
        "database": "up",
        "channel_layer": "up",
        "broker": "up",
    }


def test_database_down_answers_503_and_names_the_part(client):
    def refuse(execute, sql, params, many, context):
        raise OperationalError("connection to server failed")

    with connection.execute_wrapper(refuse):
        response = client.get("/api/health")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["database"] == {"status": "down", "detail": "OperationalError"}
    assert checks["channel_layer"]["status"] == "up"


def test_channel_layer_down_answers_503(client, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [CLOSED_PORT_REDIS]},
        }
    }
    response = client.get("/api/health")
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["channel_layer"]["status"] == "down"
    assert checks["database"]["status"] == "up"


def test_broker_down_answers_503_without_leaking_the_url(client, settings):
    settings.CELERY_TASK_ALWAYS_EAGER = False
    settings.CELERY_BROKER_URL = CLOSED_PORT_REDIS
    response = client.get("/api/health")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"]["broker"]["status"] == "down"
    assert "127.0.0.1" not in response.content.decode()


def test_health_only_answers_get(client):
    assert client.post("/api/health").status_code == 405
