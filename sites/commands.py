"""The one outbound port to chargers (DESIGN: "Domain code reaches a charger only through one
outbound port"): `request_command` writes a Command row and, once committed, tells the
process holding the charger's socket through the channel layer. Nothing here imports the
gateway; the gateway claims, sends and settles commands through the functions below."""

import datetime as dt
import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from accounts.services import record_activity
from sites.command_rules import AUTHORIZATION_KEY, SECRET_MASK, masked_payload, validate_command
from sites.credentials import generate_charger_key, hash_charger_key, seal_key, unseal_key
from sites.models import Charger, Command, CommandStatus, ConfigurationKey
from sites.signals import command_settled

logger = logging.getLogger(__name__)

# Statuses in a 1.6 confirmation that mean "done as asked" (1.6 chapter 6).
SUCCESS_STATUSES = {"Accepted", "Unlocked", "RebootRequired", "Scheduled"}
# Safe to send again when the first answer never came: reading, or setting the same value.
RETRYABLE_ACTIONS = {
    "ChangeAvailability",
    "ClearCache",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "TriggerMessage",
}


def command_expiry(action: str) -> dt.timedelta:
    """How long a command may wait for its charger: short for what a driver is waiting for
    (RemoteStart, Unlock, Reset), long for configuration."""
    expiries = settings.OCPP_COMMAND_EXPIRY_SECONDS
    return dt.timedelta(seconds=expiries.get(action, expiries["default"]))


def request_command(
    *,
    charger: Charger,
    action: str,
    payload: dict,
    requested_by=None,
    via: str = Command.Via.SYSTEM,
    idempotency_key: str = "",
    sealed_secret: str = "",
) -> Command:
    """Queue a command for a charger; it is sent at once if the charger is online. A repeated
    idempotency key returns the first command and sends nothing again (R16). Raises
    ValidationError, before anything is written, for a command this charger must not get
    (sites.command_rules)."""
    if idempotency_key:
        existing = Command.objects.filter(charger=charger, idempotency_key=idempotency_key).first()
        if existing is not None:
            # Checked when it was created; a retry must get it even if, say, the transaction
            # it stops has ended since.
            return existing
    validate_command(charger=charger, action=action, payload=payload, sealed_secret=sealed_secret)
    now = timezone.now()
    try:
        with transaction.atomic():
            command = Command.objects.create(
                charger=charger,
                action=action,
                payload=payload,
                requested_by=requested_by,
                requested_via=via,
                idempotency_key=idempotency_key,
                sealed_secret=sealed_secret,
                created_at=now,
                expires_at=now + command_expiry(action),
            )
    except IntegrityError:  # the same key, submitted concurrently
        return Command.objects.get(charger=charger, idempotency_key=idempotency_key)
    record_activity(
        actor=requested_by, verb="sent command", obj=command, via=via,
        changes={"action": command.action, "payload": command.payload},
    )  # fmt: skip
    transaction.on_commit(lambda: notify_gateway(command.charger_id, command.pk))
    return command


def notify_gateway(charger_id: int, command_id: int) -> bool:
    """Tell the consumer holding the charger's socket, wherever it runs, that a command is
    waiting. Returns False when the charger is offline (the command waits for its return)."""
    channel_name = Charger.objects.filter(pk=charger_id).values_list("channel_name", flat=True).first()
    if not channel_name:
        return False
    async_to_sync(get_channel_layer().send)(channel_name, {"type": "ocpp.command", "command_id": command_id})
    return True


# --- Used by the gateway ------------------------------------------------------------------


@transaction.atomic
def rotate_charger_key(*, charger: Charger, requested_by=None, via: str = Command.Via.ADMIN) -> Command:
    """Send the charger a new random key with ChangeConfiguration(AuthorizationKey). The key
    in force changes only when the charger answers Accepted (1.6 security whitepaper
    A01.FR.03/04, S7). The new key is stored hashed, and encrypted inside the command until
    it is sent; the payload that anyone can see holds a mask."""
    key = generate_charger_key()
    Charger.objects.filter(pk=charger.pk).update(pending_auth_key_hash=hash_charger_key(key))
    return request_command(
        charger=charger,
        action="ChangeConfiguration",
        payload={"key": AUTHORIZATION_KEY, "value": SECRET_MASK},
        requested_by=requested_by,
        via=via,
        sealed_secret=seal_key(key),
    )


def _is_key_rotation(command: Command) -> bool:
    return command.action == "ChangeConfiguration" and command.payload.get("key") == AUTHORIZATION_KEY


def _apply_key_rotation_outcome(command: Command) -> None:
    if command.status == CommandStatus.ACCEPTED:
        # The old key stops working now (A01.FR.03).
        Charger.objects.filter(pk=command.charger_id).exclude(pending_auth_key_hash="").update(
            auth_key_hash=F("pending_auth_key_hash"), pending_auth_key_hash=""
        )
    elif command.status in (CommandStatus.REJECTED, CommandStatus.FAILED, CommandStatus.EXPIRED):
        # Not changed: the old key keeps working (A01.FR.04).
        Charger.objects.filter(pk=command.charger_id).update(pending_auth_key_hash="")
    # TIMED_OUT: unknown whether the charger took the new key; both work until it next
    # authenticates (sites.services.promote_pending_key).


@dataclass(frozen=True, slots=True)
class CommandToSend:
    id: int
    action: str
    payload: dict
    # What the message log may see: the payload with secrets masked.
    log_payload: dict


def queued_command_ids(*, charger_id: int) -> list[int]:
    """The charger's waiting commands, oldest first (R16: delivered in order)."""
    return queued_command_ids_of({charger_id}).get(charger_id, [])


def queued_command_ids_of(charger_ids: set[int]) -> dict[int, list[int]]:
    """The waiting commands of several chargers (one query), each charger's oldest first."""
    waiting: dict[int, list[int]] = {}
    rows = (
        Command.objects.filter(charger_id__in=charger_ids, status=CommandStatus.QUEUED)
        .order_by("created_at", "id")
        .values_list("charger_id", "id")
    )
    for charger_id, command_id in rows:
        waiting.setdefault(charger_id, []).append(command_id)
    return waiting


def claim_command(*, command_id: int, message_id: str, at: dt.datetime) -> CommandToSend | None:
    """Mark a queued command sent, exactly once; None if it was already taken, is finished,
    or has expired (an expired command is never sent)."""
    with transaction.atomic():
        command = Command.objects.select_for_update().filter(pk=command_id, status=CommandStatus.QUEUED).first()
        if command is None or (command.next_attempt_at is not None and command.next_attempt_at > at):
            return None  # taken, finished, or a retry whose backoff has not passed
        if command.expires_at <= at:
            command.status, command.finished_at, command.sealed_secret = CommandStatus.EXPIRED, at, ""
            command.save(update_fields=["status", "finished_at", "sealed_secret"])
            if _is_key_rotation(command):
                _apply_key_rotation_outcome(command)
            command_settled.send(sender=Command, command=command)
            return None
        command.status, command.message_id, command.sent_at = CommandStatus.SENT, message_id, at
        command.attempts += 1
        command.save(update_fields=["status", "message_id", "sent_at", "attempts"])
        payload = command.payload
        if command.sealed_secret:
            payload = {**payload, "value": unseal_key(command.sealed_secret)}
        return CommandToSend(command.pk, command.action, payload, masked_payload(command.action, command.payload))


def settle_command(
    *,
    command_id: int,
    at: dt.datetime,
    result: dict | None = None,
    error_code: str = "",
    error_description: str = "",
    timed_out: bool = False,
) -> Command:
    """Record how a sent command ended: the charger's confirmation, its CALLERROR, or no
    answer in time."""
    command = Command.objects.get(pk=command_id)
    if timed_out and _retry_later(command, at):
        return command
    if timed_out:
        command.status = CommandStatus.TIMED_OUT
    elif error_code:
        command.status = CommandStatus.FAILED
        command.error_code, command.error_description = error_code, error_description[:255]
    else:
        status = (result or {}).get("status")
        command.status = (
            CommandStatus.ACCEPTED if status is None or status in SUCCESS_STATUSES else CommandStatus.REJECTED
        )
    command.result = result
    command.finished_at = at
    command.sealed_secret = ""  # sent: no longer needed
    command.save(update_fields=["status", "result", "error_code", "error_description", "finished_at", "sealed_secret"])
    if _is_key_rotation(command):
        _apply_key_rotation_outcome(command)
    elif command.status == CommandStatus.ACCEPTED:
        _update_configuration_snapshot(command, at)
    command_settled.send(sender=Command, command=command)
    return command


def _retry_later(command: Command, at: dt.datetime) -> bool:
    """Put a timed-out command that is safe to repeat back in the queue, with backoff."""
    if command.action not in RETRYABLE_ACTIONS or command.attempts >= settings.OCPP_COMMAND_MAX_ATTEMPTS:
        return False
    retry_at = at + dt.timedelta(seconds=settings.OCPP_COMMAND_RETRY_BACKOFF * 2 ** (command.attempts - 1))
    if retry_at >= command.expires_at:
        return False
    command.status, command.next_attempt_at = CommandStatus.QUEUED, retry_at
    command.save(update_fields=["status", "next_attempt_at"])
    return True


def dispatch_due_commands(*, now: dt.datetime) -> int:
    """Tell the gateway about retries whose backoff has passed (Celery beat runs this)."""
    due = Command.objects.filter(
        status=CommandStatus.QUEUED, next_attempt_at__lte=now, charger__is_online=True
    ).values_list("charger_id", "id")
    return sum(notify_gateway(charger_id, command_id) for charger_id, command_id in due)


def _update_configuration_snapshot(command: Command, at: dt.datetime) -> None:
    """GetConfiguration results replace the reported keys; an accepted ChangeConfiguration
    (also RebootRequired: the value is stored, it applies after the reset) updates one."""
    if command.action == "GetConfiguration":
        for entry in (command.result or {}).get("configurationKey", []):
            ConfigurationKey.objects.update_or_create(
                charger_id=command.charger_id,
                key=entry["key"],
                defaults={"value": entry.get("value", ""), "readonly": entry["readonly"], "updated_at": at},
            )
    elif command.action == "ChangeConfiguration":
        ConfigurationKey.objects.update_or_create(
            charger_id=command.charger_id,
            key=command.payload["key"],
            defaults={"value": command.payload["value"], "updated_at": at},
        )


def requeue_unanswered_command(*, command_id: int) -> None:
    """The socket closed while the command waited for its answer: it goes back to the queue
    (still within its expiry) rather than being lost."""
    Command.objects.filter(pk=command_id, status=CommandStatus.SENT).update(status=CommandStatus.QUEUED)


@transaction.atomic
def expire_commands(*, now: dt.datetime) -> int:
    expired = Command.objects.select_for_update().filter(status=CommandStatus.QUEUED, expires_at__lte=now)
    settled = list(expired)
    count = expired.update(status=CommandStatus.EXPIRED, finished_at=now, sealed_secret="")
    for command in settled:
        command.status, command.finished_at = CommandStatus.EXPIRED, now
        if _is_key_rotation(command):
            _apply_key_rotation_outcome(command)
        command_settled.send(sender=Command, command=command)
    return count
