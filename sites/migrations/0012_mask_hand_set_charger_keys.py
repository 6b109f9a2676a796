"""Issue 15: before the outbound port refused them, AuthorizationKey and SecurityProfile could
be set by hand through the API. Such commands kept the key in clear, and, delivered, locked the
charger out (the central system never learned the key). Their values are masked, and those
still waiting are not sent. Key rotations (a sealed secret and a masked value) are untouched."""

from django.db import migrations
from django.utils import timezone

PROTECTED_KEYS = {"authorizationkey", "securityprofile"}
MASK = "********"
REASON = "Not sent: a charger key is set only by the rotation action (issue 15)."


def mask_hand_set_keys(apps, schema_editor) -> None:
    Command = apps.get_model("sites", "Command")
    now = timezone.now()
    for command in Command.objects.filter(action="ChangeConfiguration").iterator():
        payload = command.payload if isinstance(command.payload, dict) else {}
        key = payload.get("key")
        if not isinstance(key, str) or key.strip().lower() not in PROTECTED_KEYS or payload.get("value") == MASK:
            continue
        command.payload = {**payload, "value": MASK}
        fields = ["payload"]
        if command.status == "queued":
            command.status, command.finished_at, command.error_description = "failed", now, REASON
            fields += ["status", "finished_at", "error_description"]
        command.save(update_fields=fields)


class Migration(migrations.Migration):
    dependencies = [("sites", "0011_charger_key_permission")]

    operations = [migrations.RunPython(mask_hand_set_keys, migrations.RunPython.noop)]
