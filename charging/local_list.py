"""Local authorization lists (1.6 sec. 5.15 and 5.10): built from the charger's organization's
id tokens, versioned per charger, full or differential; sent and read through the port."""

import datetime as dt

from django.db import transaction
from django.dispatch import receiver

from charging.models import IdToken, IdTokenKind, LocalListEntry, token_type_of
from sites.commands import intent_of, request_command
from sites.commands.intents import GetLocalListVersion, LocalAuthorization, SendLocalList
from sites.commands.outcomes import Outcome
from sites.commands.rules import longest_id_token_for
from sites.models import Charger, Command, CommandStatus
from sites.signals import command_settled

FULL, DIFFERENTIAL = "full", "differential"


def _entry(
    id_tag: str, status: str, expires_at: dt.datetime | None, parent_id_tag: str, kind: str, priority: int
) -> LocalAuthorization:
    return LocalAuthorization(
        id_token=id_tag,
        status=status,
        expires_at=expires_at,
        parent_id_token=parent_id_tag,
        token_type=token_type_of(kind),
        priority=priority,
    )


def _held_as(status: str, expires_at: dt.datetime | None, parent_id_tag: str, kind: str, priority: int) -> tuple:
    """An entry as a list holds it: what the charger has is compared with what it should have."""
    return (status, expires_at, parent_id_tag, kind, priority)


def _wanted(charger: Charger) -> dict[str, tuple]:
    """The list the charger should hold: every token of its organization that its protocol
    version can carry (1.6: 20 characters, 2.0.1: 36), with its current status, its group when
    that fits too, and its kind (a 2.0.1 station matches both text and kind)."""
    longest = longest_id_token_for(charger)
    tokens = IdToken.objects.filter(organization_id=charger.site.organization_id)
    return {
        token.id_tag: _held_as(
            token.effective_status(),
            token.expires_at,
            token.parent_id_tag if len(token.parent_id_tag) <= longest else "",
            token.kind,
            token.charging_priority,
        )
        for token in tokens
        if len(token.id_tag) <= longest
    }


def build_local_list(charger: Charger, update_type: str) -> list[LocalAuthorization]:
    wanted = _wanted(charger)
    if update_type == FULL:
        return [_entry(tag, *values) for tag, values in sorted(wanted.items())]
    held = {
        entry.id_tag: _held_as(entry.status, entry.expires_at, entry.parent_id_tag, entry.kind, entry.priority)
        for entry in LocalListEntry.objects.filter(charger=charger)
    }
    changes = [_entry(tag, *values) for tag, values in sorted(wanted.items()) if held.get(tag) != values]
    # An entry without a status removes the token (of the kind the charger holds) from the list.
    gone = sorted(set(held) - set(wanted))
    removals = [LocalAuthorization(id_token=tag, token_type=token_type_of(held[tag][3])) for tag in gone]
    return changes + removals


@transaction.atomic
def send_local_list(
    *, charger: Charger, update_type: str = FULL, requested_by=None, via: str = Command.Via.ADMIN
) -> Command:
    intent = SendLocalList(
        version=max(charger.local_list_version, 0) + 1,
        differential=update_type == DIFFERENTIAL,
        entries=tuple(build_local_list(charger, update_type)),
    )
    return request_command(charger=charger, intent=intent, requested_by=requested_by, via=via)


@receiver(command_settled)
def record_local_list(sender, command: Command, outcome: Outcome | None = None, **kwargs) -> None:
    if command.status != CommandStatus.ACCEPTED:
        return
    if command.intent == GetLocalListVersion.kind:
        if outcome is not None and outcome.local_list_version is not None:
            Charger.objects.filter(pk=command.charger_id).update(local_list_version=outcome.local_list_version)
    elif command.intent == SendLocalList.kind:
        sent = intent_of(command)
        assert isinstance(sent, SendLocalList)  # noqa: S101 (narrows the type)
        _apply_accepted_list(command.charger_id, sent)


@transaction.atomic
def _apply_accepted_list(charger_id: int, sent: SendLocalList) -> None:
    entries = LocalListEntry.objects.filter(charger_id=charger_id)
    if not sent.differential:
        entries.delete()
    for item in sent.entries:
        if item.status is None:
            entries.filter(id_tag=item.id_token).delete()
            continue
        LocalListEntry.objects.update_or_create(
            charger_id=charger_id,
            id_tag=item.id_token,
            defaults={
                "status": item.status,
                "expires_at": item.expires_at,
                "parent_id_tag": item.parent_id_token,
                "kind": item.token_type or IdTokenKind.ISO14443,
                "priority": item.priority,
            },
        )
    Charger.objects.filter(pk=charger_id).update(local_list_version=sent.version)
