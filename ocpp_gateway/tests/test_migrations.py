"""Data migrations of ocpp_gateway."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from ocpp_gateway.models import MessageLog

pytestmark = pytest.mark.django_db

mask_migration = importlib.import_module("ocpp_gateway.migrations.0002_mask_logged_charger_keys")


def test_keys_logged_in_clear_are_masked():
    secret = "0123456789abcdef0123456789abcdef01234567"

    def frame(payload: dict, message_type: int = 2, action: str = "ChangeConfiguration") -> MessageLog:
        return MessageLog.objects.create(
            charge_point_id="CP-1", direction="out", message_type=message_type, message_id="m", action=action,
            payload=payload, timestamp=timezone.now(),
        )  # fmt: skip

    leaked = frame({"key": "authorizationKey", "value": secret})
    profile = frame({"key": "SecurityProfile", "value": "0"})
    ordinary = frame({"key": "HeartbeatInterval", "value": "60"})
    answer = frame({"status": "Accepted"}, message_type=3)
    mask_migration.mask_logged_keys(apps, None)
    for row in (leaked, profile, ordinary, answer):
        row.refresh_from_db()
    assert leaked.payload == {"key": "authorizationKey", "value": "********"}
    assert profile.payload["value"] == "********"
    assert ordinary.payload["value"] == "60"
    assert answer.payload == {"status": "Accepted"}
    assert not MessageLog.objects.filter(payload__value=secret).exists()
