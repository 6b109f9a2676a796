"""Data migrations of sites."""

import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from sites.models import Command
from sites.tests.factories import ChargerFactory

pytestmark = pytest.mark.django_db

mask_migration = importlib.import_module("sites.migrations.0012_mask_hand_set_charger_keys")


def test_hand_set_keys_are_masked_and_waiting_ones_are_not_sent():
    charger = ChargerFactory()
    secret = "0123456789abcdef0123456789abcdef01234567"

    def command(key: str, value: str, status: str = "queued", sealed: str = "") -> Command:
        # Written directly: the port would refuse them now, which is the point.
        return Command.objects.create(
            charger=charger, action="ChangeConfiguration", payload={"key": key, "value": value}, status=status,
            sealed_secret=sealed, expires_at=timezone.now(),
        )  # fmt: skip

    waiting = command("authorizationKey", secret)
    answered = command("AuthorizationKey", secret, status="accepted")
    rotation = command("AuthorizationKey", "********", sealed="sealed")
    ordinary = command("HeartbeatInterval", "60")
    mask_migration.mask_hand_set_keys(apps, None)
    for row in (waiting, answered, rotation, ordinary):
        row.refresh_from_db()
    assert (waiting.payload["value"], waiting.status) == ("********", "failed")
    assert (answered.payload["value"], answered.status) == ("********", "accepted")
    assert (rotation.payload["value"], rotation.status, rotation.sealed_secret) == ("********", "queued", "sealed")
    assert (ordinary.payload["value"], ordinary.status) == ("60", "queued")
    assert not Command.objects.filter(payload__value=secret).exists()
