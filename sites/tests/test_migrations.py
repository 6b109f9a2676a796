"""Data migrations of sites."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.utils import timezone
from guardian.models import GroupObjectPermission, UserObjectPermission
from guardian.shortcuts import assign_perm

from accounts.roles import COMMAND_INTENTS
from accounts.tests.factories import UserFactory
from sites.commands import intent_of
from sites.commands.intents import LocalAuthorization, RawCall, Reserve, RotateKey, SendLocalList, Unlock
from sites.models import Charger, ChargerReport, Command
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


permission_migration = importlib.import_module("sites.migrations.0014_intent_permissions")


def _codenames_of(permissions) -> set[str]:
    return set(permissions.values_list("codename", flat=True))


def test_per_action_permissions_become_per_intent_and_every_grant_holds():
    """Renaming the Permission rows keeps the grants of groups, users and shared chargers; whoever
    could change the configuration may also rotate the key, as before."""
    # Back to the 1.6 names, as a database migrated before issue 16 holds them.
    permission_migration.to_action_permissions(apps, None)
    assert not Permission.objects.filter(codename__in=["send_unlock", "send_rotate_key", "send_raw"]).exists()
    charger, group, user = ChargerFactory(), Group.objects.create(name="partners"), UserFactory()
    group.permissions.add(Permission.objects.get(codename="send_getconfiguration"))
    user.user_permissions.add(Permission.objects.get(codename="send_changeconfiguration"))
    assign_perm("sites.send_remotestarttransaction", group, charger)
    assign_perm("sites.send_changeconfiguration", user, charger)

    permission_migration.to_intent_permissions(apps, None)

    assert _codenames_of(group.permissions.all()) == {"send_read_settings"}
    assert _codenames_of(user.user_permissions.all()) == {"send_change_setting", "send_rotate_key"}
    assert _codenames_of(
        Permission.objects.filter(groupobjectpermission__in=GroupObjectPermission.objects.filter(group=group))
    ) == {"send_remote_start"}
    assert _codenames_of(
        Permission.objects.filter(userobjectpermission__in=UserObjectPermission.objects.filter(user=user))
    ) == {"send_change_setting", "send_rotate_key"}
    charger_permissions = Permission.objects.filter(content_type__app_label="sites", content_type__model="charger")
    # Those of later migrations (0015: the 2.0.1-only kinds) exist too, as the current models declare them.
    latest = importlib.import_module("sites.migrations.0017_v201_intent_permissions")
    log_uploads = importlib.import_module("sites.migrations.0019_job_progress")
    certificates = importlib.import_module("sites.migrations.0021_charger_certificates")
    profiles = importlib.import_module("sites.migrations.0023_security_profile_target")
    assert not {name for name in _codenames_of(charger_permissions) if name.startswith("send_")} - {
        f"send_{kind}" for kind in (*latest.KINDS, *log_uploads.NEW_KINDS, *certificates.NEW_KINDS, *profiles.NEW_KINDS)
    }
    assert Permission.objects.get(codename="send_unlock").name == "Can send unlock"
    assert Permission.objects.filter(codename="send_raw").exists()


def test_the_migrations_kinds_are_the_roles_kinds():
    latest = importlib.import_module("sites.migrations.0017_v201_intent_permissions")
    log_uploads = importlib.import_module("sites.migrations.0019_job_progress")
    certificates = importlib.import_module("sites.migrations.0021_charger_certificates")
    profiles = importlib.import_module("sites.migrations.0023_security_profile_target")
    added = set(log_uploads.NEW_KINDS) | set(certificates.NEW_KINDS) | set(profiles.NEW_KINDS)
    assert set(latest.KINDS) | added == set(COMMAND_INTENTS)
    assert set(latest.PREVIOUS_KINDS) == set(permission_migration.KINDS)
    assert set(permission_migration.KIND_OF_ACTION.values()) | set(permission_migration.NEW_KINDS) == set(
        latest.PREVIOUS_KINDS
    )


def test_grants_of_an_old_permission_move_to_a_new_one_that_already_exists():
    """A post_migrate run may have created the new permission before the old one was renamed."""
    user = UserFactory()
    old = Permission.objects.create(
        content_type=ContentType.objects.get_for_model(Charger), codename="send_unlockconnector", name="old"
    )
    user.user_permissions.add(old)
    permission_migration.to_intent_permissions(apps, None)
    assert _codenames_of(user.user_permissions.all()) == {"send_unlock"}
    assert not Permission.objects.filter(codename="send_unlockconnector").exists()


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


job_migration = importlib.import_module("sites.migrations.0019_job_progress")


def test_earlier_firmware_and_log_commands_get_their_request_id_and_their_reports_are_linked():
    charger = ChargerFactory()

    def command(intent: str, payload: dict, fields: dict | None = None) -> Command:
        # Written directly, as before the column existed.
        return Command.objects.create(
            charger=charger, intent=intent, fields=fields or {}, payload=payload, expires_at=timezone.now()
        )

    firmware = command("update_firmware", {"requestId": 812, "firmware": {}})
    log = command("get_diagnostics", {}, {"request_id": 9, "location": "https://l.example.com"})
    unrelated = command("reset", {"type": "Immediate"})
    report = ChargerReport.objects.create(charger=charger, kind="firmware", status="Installed", request_id=812)
    stray = ChargerReport.objects.create(charger=charger, kind="log", status="Uploaded", request_id=10)
    job_migration.link_earlier_jobs(apps, None)
    for row in (firmware, log, unrelated, report, stray):
        row.refresh_from_db()
    assert (firmware.request_id, log.request_id, unrelated.request_id) == (812, 9, None)
    assert (report.command_id, stray.command_id) == (firmware.pk, None)
