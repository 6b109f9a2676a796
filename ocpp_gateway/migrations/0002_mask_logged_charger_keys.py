"""Issue 15: before the outbound port refused them, AuthorizationKey and SecurityProfile could
be set by hand through the API, and the message log kept such CALLs with the key in clear.
sites 0012 masked the Command rows; this masks the logged frames the same way. Frames logged
since then hold a mask already (the consumer logs the masked payload)."""

from django.db import migrations

PROTECTED_KEYS = {"authorizationkey", "securityprofile"}
MASK = "********"
BATCH = 1000


def _needs_mask(payload: object) -> bool:
    if not isinstance(payload, dict):
        return False
    key, value = payload.get("key"), payload.get("value")
    return isinstance(key, str) and key.strip().lower() in PROTECTED_KEYS and value != MASK


def mask_logged_keys(apps, schema_editor) -> None:
    MessageLog = apps.get_model("ocpp_gateway", "MessageLog")
    # Only CALLs of this action carry a key (1.6 sec. 5.3); the (action, timestamp) index finds them.
    frames = MessageLog.objects.filter(action="ChangeConfiguration", message_type=2).only("id", "payload")
    masked = []
    for frame in frames.iterator(chunk_size=BATCH):
        if _needs_mask(frame.payload):
            frame.payload = {**frame.payload, "value": MASK}
            masked.append(frame)
        if len(masked) >= BATCH:
            MessageLog.objects.bulk_update(masked, ["payload"])
            masked.clear()
    MessageLog.objects.bulk_update(masked, ["payload"])


class Migration(migrations.Migration):
    dependencies = [("ocpp_gateway", "0001_initial")]

    operations = [migrations.RunPython(mask_logged_keys, migrations.RunPython.noop)]
