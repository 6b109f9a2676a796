"""Log uploads and firmware updates followed to the end (issue 18): a command keeps the request id
its job's status notifications name (N01.FR.07, L01.FR.10), each such notification links to its
command, and log uploads (GetLog) get their permission, `sites.send_get_log`. New permissions
grant nothing by themselves; roles (accounts.roles) give them."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

NEW_KINDS = ("get_log",)


def add_permissions(apps, schema_editor) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    content_type = ContentType.objects.filter(app_label="sites", model="charger").first()
    if content_type is None:  # a fresh database: permissions are created after migrating
        return
    Permission = apps.get_model("auth", "Permission")
    for kind in NEW_KINDS:
        Permission.objects.get_or_create(
            content_type=content_type, codename=f"send_{kind}", defaults={"name": f"Can send {kind.replace('_', ' ')}"}
        )


def remove_permissions(apps, schema_editor) -> None:
    Permission = apps.get_model("auth", "Permission")
    Permission.objects.filter(
        content_type__app_label="sites", codename__in=[f"send_{kind}" for kind in NEW_KINDS]
    ).delete()


# Commands whose job the charger reports by request id, and the report kinds about them.
JOB_INTENTS = {"log": ("get_log", "get_diagnostics"), "firmware": ("update_firmware",)}


def link_earlier_jobs(apps, schema_editor) -> None:
    """Commands sent before this kept their request id only in the wire payload (2.0.1 derived
    it) or their fields: copy it to the column, and link the reports that named it."""
    Command = apps.get_model("sites", "Command")
    ChargerReport = apps.get_model("sites", "ChargerReport")
    intents = {intent for kinds in JOB_INTENTS.values() for intent in kinds}
    for command in Command.objects.filter(intent__in=intents, request_id__isnull=True).iterator():
        request_id = (command.payload or {}).get("requestId", (command.fields or {}).get("request_id"))
        if isinstance(request_id, int) and not isinstance(request_id, bool):
            Command.objects.filter(pk=command.pk).update(request_id=request_id)
    for kind, kinds in JOB_INTENTS.items():
        reports = ChargerReport.objects.filter(kind=kind, request_id__isnull=False, command__isnull=True)
        for report in reports.iterator():
            command = (
                Command.objects.filter(charger_id=report.charger_id, request_id=report.request_id, intent__in=kinds)
                .order_by("-created_at", "-id")
                .first()
            )
            if command is not None:
                ChargerReport.objects.filter(pk=report.pk).update(command=command)


class Migration(migrations.Migration):
    dependencies = [
        ("sites", "0018_configuration_key_for_components"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="charger",
            options={
                "ordering": ["charge_point_id"],
                "permissions": [
                    ("send_remote_start", "Can send remote start"),
                    ("send_remote_stop", "Can send remote stop"),
                    ("send_unlock", "Can send unlock"),
                    ("send_reset", "Can send reset"),
                    ("send_change_availability", "Can send change availability"),
                    ("send_read_settings", "Can send read settings"),
                    ("send_change_setting", "Can send change setting"),
                    ("send_clear_cache", "Can send clear cache"),
                    ("send_trigger_message", "Can send trigger message"),
                    ("send_reserve", "Can send reserve"),
                    ("send_cancel_reservation", "Can send cancel reservation"),
                    ("send_set_charging_profile", "Can send set charging profile"),
                    ("send_clear_charging_profile", "Can send clear charging profile"),
                    ("send_get_composite_schedule", "Can send get composite schedule"),
                    ("send_send_local_list", "Can send send local list"),
                    ("send_get_local_list_version", "Can send get local list version"),
                    ("send_update_firmware", "Can send update firmware"),
                    ("send_get_diagnostics", "Can send get diagnostics"),
                    ("send_data_transfer", "Can send data transfer"),
                    ("send_rotate_key", "Can send rotate key"),
                    ("send_raw", "Can send raw"),
                    ("send_get_transaction_status", "Can send get transaction status"),
                    ("send_cost_updated", "Can send cost updated"),
                    ("send_set_network_profile", "Can send set network profile"),
                    ("send_customer_information", "Can send customer information"),
                    ("send_get_charging_profiles", "Can send get charging profiles"),
                    ("send_request_report", "Can send request report"),
                    ("send_set_variable_monitoring", "Can send set variable monitoring"),
                    ("send_clear_variable_monitoring", "Can send clear variable monitoring"),
                    ("send_get_monitoring_report", "Can send get monitoring report"),
                    ("send_set_monitoring_base", "Can send set monitoring base"),
                    ("send_get_log", "Can send get log"),
                    ("issue_charger_key", "Can issue a new HTTP Basic key"),
                ],
            },
        ),
        migrations.AddField(
            model_name="chargerreport",
            name="command",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="progress_reports",
                to="sites.command",
            ),
        ),
        migrations.AddField(
            model_name="command",
            name="request_id",
            field=models.IntegerField(blank=True, null=True, verbose_name="request id"),
        ),
        migrations.AddIndex(
            model_name="command",
            index=models.Index(fields=["charger", "request_id"], name="command_request_id_idx"),
        ),
        migrations.RunPython(add_permissions, remove_permissions),
        migrations.RunPython(link_earlier_jobs, migrations.RunPython.noop),
    ]
