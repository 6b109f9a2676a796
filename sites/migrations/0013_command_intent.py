"""Issue 16: a Command stores its intent (kind + neutral fields); `action`/`payload` keep the
wire form sent. Existing rows are mapped to their intents by the frozen table below (the 1.6
actions known when this was written); a row it cannot read stays a raw call, which is sent
exactly as before. Sealed key rotations become `rotate_key`."""

import datetime as dt

from django.db import migrations, models
from django.utils.dateparse import parse_datetime

AUTHORIZATION_KEY = "AuthorizationKey"
MASK = "********"
TRIGGERS = {
    "BootNotification": "boot",
    "Heartbeat": "heartbeat",
    "StatusNotification": "status",
    "MeterValues": "meter_values",
    "FirmwareStatusNotification": "firmware_status",
    "DiagnosticsStatusNotification": "diagnostics_status",
}


def _when(text, required=True):
    if text is None and not required:
        return None
    moment = parse_datetime(text) if isinstance(text, str) else None
    if moment is None:
        raise ValueError(text)
    return moment.astimezone(dt.UTC).isoformat()


def _profile(body):
    schedule = body["chargingSchedule"]
    transaction_id = body.get("transactionId")
    return {
        "profile_id": body["chargingProfileId"],
        "stack_level": body["stackLevel"],
        "purpose": body["chargingProfilePurpose"],
        "kind": body["chargingProfileKind"],
        "rate_unit": schedule["chargingRateUnit"],
        "periods": [
            {"start": p["startPeriod"], "limit": p["limit"], "phases": p.get("numberPhases")}
            for p in schedule["chargingSchedulePeriod"]
        ],
        "recurrency": body.get("recurrencyKind", ""),
        "valid_from": _when(body.get("validFrom"), False),
        "valid_to": _when(body.get("validTo"), False),
        "duration": schedule.get("duration"),
        "start_schedule": _when(schedule.get("startSchedule"), False),
        "min_rate": schedule.get("minChargingRate"),
        "transaction_id": str(transaction_id) if transaction_id is not None else None,
    }


def _entry(item):
    info = item.get("idTagInfo")
    if info is None:
        return {"id_token": item["idTag"], "status": None, "expires_at": None, "parent_id_token": ""}
    return {
        "id_token": item["idTag"],
        "status": info["status"],
        "expires_at": _when(info.get("expiryDate"), False),
        "parent_id_token": info.get("parentIdTag", ""),
    }


# 1.6 action -> (intent kind, payload -> intent fields), frozen as of this migration.
INTENTS = {
    "RemoteStartTransaction": ("remote_start", lambda p: {
        "id_token": p["idTag"], "connector": p.get("connectorId"), "evse": None,
        "charging_profile": _profile(p["chargingProfile"]) if "chargingProfile" in p else None,
    }),
    "RemoteStopTransaction": ("remote_stop", lambda p: {"transaction_id": str(p["transactionId"])}),
    "UnlockConnector": ("unlock", lambda p: {"connector": p["connectorId"], "evse": None}),
    "Reset": ("reset", lambda p: {"hard": p["type"] == "Hard", "evse": None}),
    "ChangeAvailability": ("change_availability", lambda p: {
        "operative": p["type"] == "Operative", "connector": p["connectorId"], "evse": None,
    }),
    "GetConfiguration": ("read_settings", lambda p: {"keys": list(p.get("key", []))}),
    "ChangeConfiguration": ("change_setting", lambda p: {"key": p["key"], "value": p["value"], "component": ""}),
    "ClearCache": ("clear_cache", lambda p: {}),
    "TriggerMessage": ("trigger_message", lambda p: {
        "message": TRIGGERS[p["requestedMessage"]], "connector": p.get("connectorId"), "evse": None,
    }),
    "ReserveNow": ("reserve", lambda p: {
        "reservation_id": p["reservationId"], "id_token": p["idTag"], "expires_at": _when(p["expiryDate"]),
        "connector": p["connectorId"], "evse": None, "parent_id_token": p.get("parentIdTag", ""),
    }),
    "CancelReservation": ("cancel_reservation", lambda p: {"reservation_id": p["reservationId"]}),
    "SetChargingProfile": ("set_charging_profile", lambda p: {
        "profile": _profile(p["csChargingProfiles"]), "connector": p["connectorId"], "evse": None,
    }),
    "ClearChargingProfile": ("clear_charging_profile", lambda p: {
        "profile_id": p.get("id"), "connector": p.get("connectorId"), "evse": None,
        "purpose": p.get("chargingProfilePurpose"), "stack_level": p.get("stackLevel"),
    }),
    "GetCompositeSchedule": ("get_composite_schedule", lambda p: {
        "connector": p["connectorId"], "duration": p["duration"], "evse": None, "rate_unit": p.get("chargingRateUnit"),
    }),
    "SendLocalList": ("send_local_list", lambda p: {
        "version": p["listVersion"], "differential": p["updateType"] == "Differential",
        "entries": [_entry(item) for item in p.get("localAuthorizationList", [])],
    }),
    "GetLocalListVersion": ("get_local_list_version", lambda p: {}),
    "UpdateFirmware": ("update_firmware", lambda p: {
        "location": p["location"], "retrieve_at": _when(p["retrieveDate"]), "retries": p.get("retries"),
        "retry_interval": p.get("retryInterval"),
    }),
    "GetDiagnostics": ("get_diagnostics", lambda p: {
        "location": p["location"], "start": _when(p.get("startTime"), False), "stop": _when(p.get("stopTime"), False),
        "retries": p.get("retries"), "retry_interval": p.get("retryInterval"),
    }),
    "DataTransfer": ("data_transfer", lambda p: {
        "vendor_id": p["vendorId"], "message_id": p.get("messageId", ""), "data": p.get("data", ""),
    }),
}  # fmt: skip


def intent_of(action: str, payload) -> tuple[str, dict]:
    """The (kind, fields) a stored 1.6 command amounts to; raw when the table cannot read it."""
    payload = payload if isinstance(payload, dict) else {}
    if action == "ChangeConfiguration" and payload == {"key": AUTHORIZATION_KEY, "value": MASK}:
        return "rotate_key", {}
    if action in INTENTS:
        kind, read = INTENTS[action]
        try:
            return kind, read(payload)
        except (KeyError, TypeError, ValueError, AttributeError):
            pass
    return "raw", {"action": action, "payload": payload}


def map_commands(apps, schema_editor) -> None:
    Command = apps.get_model("sites", "Command")
    for command in Command.objects.iterator():
        command.intent, command.fields = intent_of(command.action, command.payload)
        if command.intent == "rotate_key" and not command.sealed_secret and command.status == "queued":
            # A masked key without its sealed secret cannot be sent (issue 15 already failed
            # such rows); keep it a raw call so nothing changes for it.
            command.intent, command.fields = "raw", {"action": command.action, "payload": command.payload}
        command.save(update_fields=["intent", "fields"])


class Migration(migrations.Migration):
    dependencies = [("sites", "0012_mask_hand_set_charger_keys")]

    operations = [
        migrations.AddField(model_name="command", name="fields", field=models.JSONField(blank=True, default=dict)),
        migrations.AddField(model_name="command", name="intent", field=models.CharField(default="raw", max_length=32)),
        migrations.AlterField(model_name="command", name="action", field=models.CharField(blank=True, max_length=64)),
        migrations.RunPython(map_commands, migrations.RunPython.noop),
    ]
