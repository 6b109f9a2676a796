"""Roles grant command permissions by intent kind (issue 16), with the capabilities each role had
when permissions were per 1.6 action."""

import pytest

from accounts.models import Role
from accounts.roles import COMMAND_INTENTS, SHARED_CHARGER_PERMISSIONS, command_permission, role_permissions


def _command_kinds(role: str) -> set[str]:
    prefix = "sites.send_"
    return {permission.removeprefix(prefix) for permission in role_permissions(role) if permission.startswith(prefix)}


def test_command_permissions_are_named_by_intent_kind():
    assert command_permission("unlock") == "sites.send_unlock"


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OPERATOR])
def test_admins_and_operators_may_send_every_intent_and_the_raw_call(role):
    assert _command_kinds(role) == set(COMMAND_INTENTS)
    assert "raw" in _command_kinds(role)
    assert "sites.issue_charger_key" in role_permissions(role)


def test_maintenance_keeps_its_maintenance_commands_and_no_raw_call():
    assert _command_kinds(Role.MAINTENANCE) == {
        "reset",
        "unlock",
        "change_availability",
        "read_settings",
        "change_setting",
        "rotate_key",  # a ChangeConfiguration before: maintenance could rotate the key
        "update_firmware",
        "get_diagnostics",
        "trigger_message",
        "clear_cache",
        "get_local_list_version",
        "get_composite_schedule",
        # 2.0.1: reading and watching the device model; not network profiles, customer data or costs.
        "get_transaction_status",
        "get_charging_profiles",
        "request_report",
        "set_variable_monitoring",
        "clear_variable_monitoring",
        "get_monitoring_report",
        "set_monitoring_base",
    }
    assert "sites.issue_charger_key" not in role_permissions(Role.MAINTENANCE)


def test_partners_start_and_stop_only_and_viewers_send_nothing():
    assert _command_kinds(Role.PARTNER) == {"remote_start", "remote_stop"}
    assert _command_kinds(Role.VIEWER) == set()
    assert set(SHARED_CHARGER_PERMISSIONS) == {
        "sites.view_charger",
        "sites.send_remote_start",
        "sites.send_remote_stop",
    }
