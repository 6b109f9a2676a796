"""Command permissions keyed by intent kind (issue 16): `sites.send_<1.6 action>` becomes
`sites.send_<intent kind>`.

Each existing Permission row is renamed in place, so every grant made with it (groups, users,
django-guardian object permissions of shared chargers) holds on under its new name. Rotating
the key over OCPP was a ChangeConfiguration and now has its own kind: whoever could change the
configuration (by any grant) gets `send_rotate_key` too, so nobody's capabilities change. The
raw call's permission is new and granted by roles only (accounts.roles)."""

from django.db import migrations

# 1.6 action (lowercase, as the old codenames spelled it) -> intent kind.
KIND_OF_ACTION = {
    "cancelreservation": "cancel_reservation",
    "changeavailability": "change_availability",
    "changeconfiguration": "change_setting",
    "clearcache": "clear_cache",
    "clearchargingprofile": "clear_charging_profile",
    "datatransfer": "data_transfer",
    "getcompositeschedule": "get_composite_schedule",
    "getconfiguration": "read_settings",
    "getdiagnostics": "get_diagnostics",
    "getlocallistversion": "get_local_list_version",
    "remotestarttransaction": "remote_start",
    "remotestoptransaction": "remote_stop",
    "reservenow": "reserve",
    "reset": "reset",
    "sendlocallist": "send_local_list",
    "setchargingprofile": "set_charging_profile",
    "triggermessage": "trigger_message",
    "unlockconnector": "unlock",
    "updatefirmware": "update_firmware",
}
OLD_NAMES = {
    "cancelreservation": "CancelReservation",
    "changeavailability": "ChangeAvailability",
    "changeconfiguration": "ChangeConfiguration",
    "clearcache": "ClearCache",
    "clearchargingprofile": "ClearChargingProfile",
    "datatransfer": "DataTransfer",
    "getcompositeschedule": "GetCompositeSchedule",
    "getconfiguration": "GetConfiguration",
    "getdiagnostics": "GetDiagnostics",
    "getlocallistversion": "GetLocalListVersion",
    "remotestarttransaction": "RemoteStartTransaction",
    "remotestoptransaction": "RemoteStopTransaction",
    "reservenow": "ReserveNow",
    "reset": "Reset",
    "sendlocallist": "SendLocalList",
    "setchargingprofile": "SetChargingProfile",
    "triggermessage": "TriggerMessage",
    "unlockconnector": "UnlockConnector",
    "updatefirmware": "UpdateFirmware",
}
# Kinds that existed inside another action's permission: a new kind -> the kind whose grants it copies.
SPLIT_KINDS = {"rotate_key": "change_setting"}
NEW_KINDS = ("rotate_key", "raw")
KINDS = (
    "remote_start", "remote_stop", "unlock", "reset", "change_availability", "read_settings", "change_setting",
    "clear_cache", "trigger_message", "reserve", "cancel_reservation", "set_charging_profile",
    "clear_charging_profile", "get_composite_schedule", "send_local_list", "get_local_list_version",
    "update_firmware", "get_diagnostics", "data_transfer", "rotate_key", "raw",
)  # fmt: skip


def permission_name(kind: str) -> str:
    return f"Can send {kind.replace('_', ' ')}"


def _charger_content_type(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Absent on a fresh database: permissions are created after migrating, already renamed.
    return ContentType.objects.filter(app_label="sites", model="charger").first()


def _rename(apps, content_type, old: str, new: str, name: str) -> None:
    """Rename the permission `old` to `new`, keeping its grants; if both exist (created by a
    post_migrate run in between), the grants of `old` move to `new` and `old` goes."""
    Permission = apps.get_model("auth", "Permission")
    source = Permission.objects.filter(content_type=content_type, codename=old).first()
    if source is None:
        return
    target = Permission.objects.filter(content_type=content_type, codename=new).first()
    if target is None:
        source.codename, source.name = new, name
        source.save(update_fields=["codename", "name"])
        return
    _copy_grants(apps, source, target)
    source.delete()


def _copy_grants(apps, source, target) -> None:
    """Grant `target` wherever `source` is granted: to groups, to users, and per object."""
    Group = apps.get_model("auth", "Group")
    User = apps.get_model("accounts", "User")
    for group in Group.objects.filter(permissions=source):
        group.permissions.add(target)
    for user in User.objects.filter(user_permissions=source):
        user.user_permissions.add(target)
    for model_name, holder in (("GroupObjectPermission", "group_id"), ("UserObjectPermission", "user_id")):
        Model = apps.get_model("guardian", model_name)
        for grant in Model.objects.filter(permission=source):
            Model.objects.get_or_create(
                permission=target,
                content_type_id=grant.content_type_id,
                object_pk=grant.object_pk,
                **{holder: getattr(grant, holder)},
            )


def to_intent_permissions(apps, schema_editor) -> None:
    content_type = _charger_content_type(apps)
    if content_type is None:
        return
    Permission = apps.get_model("auth", "Permission")
    for action, kind in KIND_OF_ACTION.items():
        _rename(apps, content_type, f"send_{action}", f"send_{kind}", permission_name(kind))
    for kind in NEW_KINDS:
        Permission.objects.get_or_create(
            content_type=content_type, codename=f"send_{kind}", defaults={"name": permission_name(kind)}
        )
    for kind, copied in SPLIT_KINDS.items():
        source = Permission.objects.filter(content_type=content_type, codename=f"send_{copied}").first()
        if source is not None:
            _copy_grants(apps, source, Permission.objects.get(content_type=content_type, codename=f"send_{kind}"))


def to_action_permissions(apps, schema_editor) -> None:
    """Back to per-action permissions: the new kinds go (with their grants, which the old
    ChangeConfiguration permission already covered), the others get their old names back."""
    content_type = _charger_content_type(apps)
    if content_type is None:
        return
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type=content_type, codename__in=[f"send_{kind}" for kind in NEW_KINDS]).delete()
    for action, kind in KIND_OF_ACTION.items():
        _rename(apps, content_type, f"send_{kind}", f"send_{action}", f"Can send {OLD_NAMES[action]}")


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0013_command_intent"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("guardian", "0003_remove_groupobjectpermission_guardian_gr_content_ae6aec_idx_and_more"),
        ("accounts", "__first__"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="charger",
            options={
                "ordering": ["charge_point_id"],
                "permissions": [(f"send_{kind}", permission_name(kind)) for kind in KINDS]
                + [("issue_charger_key", "Can issue a new HTTP Basic key")],
            },
        ),
        migrations.RunPython(to_intent_permissions, to_action_permissions),
    ]
