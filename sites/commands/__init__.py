"""The one outbound port to chargers (DESIGN: "Domain code reaches a charger only through one
outbound port"): `request_command` writes a Command row and, once committed, tells the
process holding the charger's socket through the channel layer. Nothing here imports the
gateway; the gateway claims, sends and settles commands through the functions below."""

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
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


def notify_gateway(charger_id: int, command_id: int | None = None) -> bool:
    """Tell the consumer holding the charger's socket, wherever it runs, that its queue has a
    command. Returns False when the charger is offline (the queue waits for its return) or the
    channel layer cannot be reached: the row is the truth, so a lost notification loses nothing.
    The consumer sends the queue's oldest command, whatever this one is, and the periodic
    dispatcher (`dispatch_due_commands`) notifies again for commands left waiting (R26)."""
    try:
        return _notify(charger_id, command_id)
    except Exception as exc:  # Redis down or slow: the command stays queued for the dispatcher
        logger.warning("could not notify the gateway of charger %s (%s); its queue is read later", charger_id, exc)
        return False


def _notify(charger_id: int, command_id: int | None = None) -> bool:
    """False when the charger is offline; raises when the channel layer fails."""
    channel_name = Charger.objects.filter(pk=charger_id).values_list("channel_name", flat=True).first()
    if not channel_name:
        return False
    async_to_sync(_send_with_timeout)(channel_name, {"type": "ocpp.command", "command_id": command_id})
    return True


async def _send_with_timeout(channel_name: str, message: dict) -> None:
    await asyncio.wait_for(get_channel_layer().send(channel_name, message), settings.OCPP_NOTIFY_TIMEOUT)


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


def claim_next_command(*, charger_id: int, message_id: str, at: dt.datetime) -> CommandToSend | None:
    """Mark the charger's oldest queued command sent and return it; None when its queue is
    empty or its oldest command waits for a retry's backoff. Commands reach a charger strictly
    in the order they were requested (R16), whichever notification arrives: a newer command
    never overtakes an older queued one, not even one waiting to be retried (an older
    ChangeAvailability retried after a newer one would undo it). Expired commands met on the
    way are settled as expired, never sent."""
    while True:
        with transaction.atomic():
            command = (
                Command.objects.select_for_update()
                .filter(charger_id=charger_id, status=CommandStatus.QUEUED)
                .order_by("created_at", "id")
                .first()
            )
            if command is None:
                return None
            if command.expires_at <= at:
                _expire(command, at)
                continue
            if command.next_attempt_at is not None and command.next_attempt_at > at:
                return None
            return _mark_sent(command, message_id, at)


def _expire(command: Command, at: dt.datetime) -> None:
    command.status, command.finished_at, command.sealed_secret = CommandStatus.EXPIRED, at, ""
    command.save(update_fields=["status", "finished_at", "sealed_secret"])
    if _is_key_rotation(command):
        _apply_key_rotation_outcome(command)
    command_settled.send(sender=Command, command=command)


def _mark_sent(command: Command, message_id: str, at: dt.datetime) -> CommandToSend:
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
    """Notify the gateway of online chargers whose queue holds a command it should be sending:
    a retry whose backoff has passed, or a command waiting longer than OCPP_COMMAND_REDISPATCH_AFTER
    (its notification was lost, e.g. while Redis was down). Celery beat runs this every few
    seconds; returns how many chargers were notified."""
    lost_before = now - dt.timedelta(seconds=settings.OCPP_COMMAND_REDISPATCH_AFTER)
    charger_ids = (
        Command.objects.filter(status=CommandStatus.QUEUED, charger__is_online=True, expires_at__gt=now)
        .filter(Q(next_attempt_at__lte=now) | Q(next_attempt_at__isnull=True, created_at__lte=lost_before))
        .values_list("charger_id", flat=True)
        .distinct()
    )
    notified = 0
    waiting = list(charger_ids)
    for done, charger_id in enumerate(waiting):
        try:
            notified += _notify(charger_id)
        except Exception as exc:
            # Down for one, down for all: one line, and the rest wait for the next run.
            left = len(waiting) - done
            logger.warning("dispatcher: channel layer unavailable (%s); %d charger(s) wait for the next run", exc, left)
            break
    return notified


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
