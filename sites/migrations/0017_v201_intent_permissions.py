"""Permissions of the operations only OCPP 2.0.1 has (issue 17): `sites.send_<kind>` for each
new intent kind. New permissions grant nothing by themselves; roles (accounts.roles) give them."""

from django.db import migrations

PREVIOUS_KINDS = (
    "remote_start", "remote_stop", "unlock", "reset", "change_availability", "read_settings", "change_setting",
    "clear_cache", "trigger_message", "reserve", "cancel_reservation", "set_charging_profile",
    "clear_charging_profile", "get_composite_schedule", "send_local_list", "get_local_list_version",
    "update_firmware", "get_diagnostics", "data_transfer", "rotate_key", "raw",
)  # fmt: skip
NEW_KINDS = (
    "get_transaction_status", "cost_updated", "set_network_profile", "customer_information",
    "get_charging_profiles", "request_report", "set_variable_monitoring", "clear_variable_monitoring",
    "get_monitoring_report", "set_monitoring_base",
)  # fmt: skip
KINDS = PREVIOUS_KINDS + NEW_KINDS


def permission_name(kind: str) -> str:
    return f"Can send {kind.replace('_', ' ')}"


def _charger_content_type(apps):
    ContentType = apps.get_model("contenttypes", "ContentType")
    # Absent on a fresh database: permissions are created after migrating.
    return ContentType.objects.filter(app_label="sites", model="charger").first()


def add_permissions(apps, schema_editor) -> None:
    content_type = _charger_content_type(apps)
    if content_type is None:
        return
    Permission = apps.get_model("auth", "Permission")
    for kind in NEW_KINDS:
        Permission.objects.get_or_create(
            content_type=content_type, codename=f"send_{kind}", defaults={"name": permission_name(kind)}
        )


def remove_permissions(apps, schema_editor) -> None:
    content_type = _charger_content_type(apps)
    if content_type is None:
        return
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(content_type=content_type, codename__in=[f"send_{kind}" for kind in NEW_KINDS]).delete()


class Migration(migrations.Migration):
    dependencies = [("sites", "0016_device_model")]

    operations = [
        migrations.AlterModelOptions(
            name="charger",
            options={
                "ordering": ["charge_point_id"],
                "permissions": [(f"send_{kind}", permission_name(kind)) for kind in KINDS]
                + [("issue_charger_key", "Can issue a new HTTP Basic key")],
            },
        ),
        migrations.RunPython(add_permissions, remove_permissions),
    ]
