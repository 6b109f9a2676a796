"""Data migrations of sites."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import timezone

from sites.commands import intent_of
from sites.commands.intents import LocalAuthorization, RawCall, Reserve, RotateKey, SendLocalList, Unlock
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


intent_migration = importlib.import_module("sites.migrations.0013_command_intent")


def test_existing_commands_are_mapped_to_their_intents():
    charger = ChargerFactory()

    def command(action: str, payload: dict, sealed: str = "") -> Command:
        return Command.objects.create(
            charger=charger, action=action, payload=payload, sealed_secret=sealed, expires_at=timezone.now()
        )

    unlock = command("UnlockConnector", {"connectorId": 2})
    reserve = command(
        "ReserveNow",
        {"connectorId": 0, "expiryDate": "2026-01-01T10:00:00Z", "idTag": "T", "reservationId": 4},
    )
    local_list = command(
        "SendLocalList",
        {"listVersion": 3, "updateType": "Differential", "localAuthorizationList": [{"idTag": "GONE"}]},
    )
    rotation = command("ChangeConfiguration", {"key": "AuthorizationKey", "value": "********"}, sealed="sealed")
    odd = command("UnlockConnector", {"connector": 2})  # unreadable: stays a raw call, sent as before
    intent_migration.map_commands(apps, None)
    for row in (unlock, reserve, local_list, rotation, odd):
        row.refresh_from_db()
    assert intent_of(unlock) == Unlock(connector=2)
    assert intent_of(reserve) == Reserve(
        connector=0, expires_at=dt.datetime(2026, 1, 1, 10, tzinfo=dt.UTC), id_token="T", reservation_id=4
    )
    assert intent_of(local_list) == SendLocalList(
        version=3, differential=True, entries=(LocalAuthorization(id_token="GONE"),)
    )
    assert intent_of(rotation) == RotateKey()
    assert intent_of(odd) == RawCall(action="UnlockConnector", payload={"connector": 2})
    # The wire form stays as it was sent.
    assert (unlock.action, unlock.payload) == ("UnlockConnector", {"connectorId": 2})
