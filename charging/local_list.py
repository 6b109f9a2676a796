"""Local authorization lists (1.6 sec. 5.15 SendLocalList, 5.10 GetLocalListVersion): built
from the charger's organization's id tokens, versioned per charger, full or differential."""

import datetime as dt

from django.db import transaction
from django.dispatch import receiver

from charging.models import IdToken, LocalListEntry
from charging.ocpp_values import ocpp_datetime
from sites.commands import request_command
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled

FULL, DIFFERENTIAL = "Full", "Differential"


def _entry(id_tag: str, status: str, expires_at: dt.datetime | None, parent_id_tag: str) -> dict:
    info: dict = {"status": status}
    if expires_at is not None:
        info["expiryDate"] = ocpp_datetime(expires_at)
    if parent_id_tag:
        info["parentIdTag"] = parent_id_tag
    return {"idTag": id_tag, "idTagInfo": info}


def _wanted(charger: Charger) -> dict[str, tuple]:
    """The list the charger should hold: every token of its organization that fits 1.6
    (idTag is CiString20), with its current status."""
    tokens = IdToken.objects.filter(organization_id=charger.site.organization_id)
    return {
        token.id_tag: (token.effective_status(), token.expires_at, token.parent_id_tag[:20])
        for token in tokens
        if len(token.id_tag) <= 20
    }


def build_local_list(charger: Charger, update_type: str) -> list[dict]:
    wanted = _wanted(charger)
    if update_type == FULL:
        return [_entry(tag, *values) for tag, values in sorted(wanted.items())]
    held = {
        entry.id_tag: (entry.status, entry.expires_at, entry.parent_id_tag)
        for entry in LocalListEntry.objects.filter(charger=charger)
    }
    changes = [_entry(tag, *values) for tag, values in sorted(wanted.items()) if held.get(tag) != values]
    # An entry without idTagInfo removes the idTag from the list (1.6 sec. 7.1 AuthorizationData).
    removals = [{"idTag": tag} for tag in sorted(set(held) - set(wanted))]
    return changes + removals


@transaction.atomic
def send_local_list(*, charger: Charger, update_type: str = FULL, requested_by=None) -> Command:
    payload = {
        "listVersion": max(charger.local_list_version, 0) + 1,
        "updateType": update_type,
        "localAuthorizationList": build_local_list(charger, update_type),
    }
    return request_command(
        charger=charger, action="SendLocalList", payload=payload, requested_by=requested_by, via=Command.Via.ADMIN
    )


@receiver(command_settled)
def record_local_list(sender, command: Command, **kwargs) -> None:
    if command.status != CommandStatus.ACCEPTED:
        return
    if command.action == "GetLocalListVersion":
        version = (command.result or {}).get("listVersion")
        if isinstance(version, int):
            Charger.objects.filter(pk=command.charger_id).update(local_list_version=version)
    elif command.action == "SendLocalList":
        _apply_accepted_list(command)


@transaction.atomic
def _apply_accepted_list(command: Command) -> None:
    payload = command.payload
    entries = LocalListEntry.objects.filter(charger_id=command.charger_id)
    if payload["updateType"] == FULL:
        entries.delete()
    for item in payload.get("localAuthorizationList", []):
        info = item.get("idTagInfo")
        if info is None:
            entries.filter(id_tag=item["idTag"]).delete()
            continue
        expiry = info.get("expiryDate")
        LocalListEntry.objects.update_or_create(
            charger_id=command.charger_id,
            id_tag=item["idTag"],
            defaults={
                "status": info["status"],
                "expires_at": dt.datetime.fromisoformat(expiry) if expiry else None,
                "parent_id_tag": info.get("parentIdTag", ""),
            },
        )
    Charger.objects.filter(pk=command.charger_id).update(local_list_version=payload["listVersion"])
