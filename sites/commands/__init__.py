"""The one outbound port to chargers (DESIGN: "Domain code reaches a charger only through one
outbound port"): `request_command` writes a Command row holding an intent (sites.commands.intents)
and, once committed, tells the process holding the charger's socket through the channel layer.
Nothing here imports the gateway: it claims commands with its codec's `encode`, which turns the
intent into the wire CALL, and settles them with the `Outcome` its codec decoded from the
charger's answer; the domain acts on that outcome, never on a wire payload."""

import asyncio
import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.services import record_activity
from sites.commands.intents import (
    ChangeSetting,
    Intent,
    RaiseSecurityProfile,
    RawCall,
    ReadSettings,
    RotateKey,
    intent_from_row,
)
from sites.commands.outcomes import Outcome, OutcomeStatus
from sites.commands.progress import record_command_refusal
from sites.commands.rules import SECRET_MASK, validate_command
from sites.credentials import generate_charger_key, hash_charger_key, seal_key, unseal_key
from sites.device_model.services import record_values_known
from sites.models import Charger, Command, CommandBatch, CommandStatus, ConfigurationKey
from sites.security_events import record_key_rotation
from sites.signals import command_settled

logger = logging.getLogger(__name__)

# The gateway's codec for the charger's version: (intent, secret) -> (wire action, payload).
# `secret` is the unsealed key of a rotation ("" otherwise); given SECRET_MASK it gives what
# the Command row and the message log may show.
Encoder = Callable[[Intent, str], tuple[str, dict]]


class CannotEncode(ValueError):
    """Raised by a codec for an intent its version cannot express (the request-time check
    refuses those; this catches a charger whose version changed while the command waited)."""


def command_expiry(kind: str) -> dt.timedelta:
    """How long a command may wait for its charger: short for what a driver is waiting for
    (remote start, unlock, reset), long for configuration."""
    expiries = settings.OCPP_COMMAND_EXPIRY_SECONDS
    return dt.timedelta(seconds=expiries.get(kind, expiries["default"]))


def intent_of(command: Command) -> Intent:
    """The intent a Command row stores."""
    return intent_from_row(command.intent, command.fields)


def request_command(
    *,
    charger: Charger,
    intent: Intent,
    requested_by=None,
    via: str = Command.Via.SYSTEM,
    idempotency_key: str = "",
    sealed_secret: str = "",
    batch: CommandBatch | None = None,
) -> Command:
    """Queue a command for a charger; it is sent at once if the charger is online. A repeated
    idempotency key returns the first command and sends nothing again (R16). Raises
    ValidationError, before anything is written, for a command this charger must not get
    (sites.commands.rules) or that its protocol version cannot express. A raw call the
    charger's codec reads as a neutral intent is stored as that intent (so the domain acts on
    its outcome as on any other), with its wire form known at once."""
    if idempotency_key:
        existing = Command.objects.filter(charger=charger, idempotency_key=idempotency_key).first()
        if existing is not None:
            # Checked when it was created; a retry must get it even if, say, the transaction
            # it stops has ended since.
            return existing
    stored = validate_command(charger=charger, intent=intent, sealed_secret=sealed_secret)
    action, payload = (intent.action, intent.payload) if isinstance(intent, RawCall) else ("", {})
    return _create_command(
        charger=charger, intent=stored, action=action, payload=payload, requested_by=requested_by, via=via,
        idempotency_key=idempotency_key, sealed_secret=sealed_secret, batch=batch,
    )  # fmt: skip


def _create_command(
    *, charger: Charger, intent: Intent, action: str, payload: dict, requested_by, via: str, idempotency_key: str,
    sealed_secret: str, batch: CommandBatch | None = None,
) -> Command:  # fmt: skip
    now = timezone.now()
    try:
        with transaction.atomic():
            command = Command.objects.create(
                charger=charger,
                intent=intent.kind,
                fields=intent.to_fields(),
                action=action,
                payload=payload,
                requested_by=requested_by,
                requested_via=via,
                idempotency_key=idempotency_key,
                sealed_secret=sealed_secret,
                batch=batch,
                created_at=now,
                expires_at=now + command_expiry(intent.kind),
            )
            _give_request_id(command, intent)
    except IntegrityError:  # the same key, submitted concurrently
        return Command.objects.get(charger=charger, idempotency_key=idempotency_key)
    record_activity(
        actor=requested_by, verb="sent command", obj=command, via=via,
        changes={"intent": command.intent, "fields": command.fields, "action": action, "payload": payload},
    )  # fmt: skip
    transaction.on_commit(lambda: notify_gateway(command.charger_id, command.pk))
    return command


def _give_request_id(command: Command, intent: Intent) -> None:
    """A command whose job the charger reports later by request id (log uploads N01.FR.07,
    firmware updates L01.FR.10, reports, a remote start) keeps that id in a column, so a status
    notification finds it.
    One the caller left out becomes the command's own id: unique, stable across retries (it is
    stored in the fields the codec encodes), and a 32-bit integer as OCPP wants."""
    if not intent.reported_by_request_id:
        return
    given = getattr(intent, intent.request_id_field, None)
    command.request_id = given if given is not None else command.pk
    command.fields = {**command.fields, intent.request_id_field: command.request_id}
    command.save(update_fields=["request_id", "fields"])


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
    layer = get_channel_layer()
    if layer is None:
        raise RuntimeError("no channel layer is configured (CHANNEL_LAYERS)")
    await asyncio.wait_for(layer.send(channel_name, message), settings.OCPP_NOTIFY_TIMEOUT)


# --- Key rotation (S7) ---------------------------------------------------------------------


@transaction.atomic
def rotate_charger_key(*, charger: Charger, requested_by=None, via: str = Command.Via.ADMIN) -> Command:
    """Send the charger a new random key. The key in force changes only when the charger
    answers Accepted (1.6 security whitepaper A01.FR.03/04, S7). The new key is stored hashed,
    and encrypted inside the command until it is sent; the wire form anyone can see holds a
    mask."""
    key = generate_charger_key()
    Charger.objects.filter(pk=charger.pk).update(pending_auth_key_hash=hash_charger_key(key))
    return request_command(
        charger=charger, intent=RotateKey(), requested_by=requested_by, via=via, sealed_secret=seal_key(key)
    )


def _apply_key_rotation_outcome(command: Command) -> None:
    if command.status == CommandStatus.ACCEPTED:
        # The old key stops working now (A01.FR.03).
        rotated = (
            Charger.objects.filter(pk=command.charger_id)
            .exclude(pending_auth_key_hash="")
            .update(auth_key_hash=F("pending_auth_key_hash"), pending_auth_key_hash="")
        )
        if rotated:
            record_key_rotation(charger_id=command.charger_id, how="accepted by the charger", command_id=command.pk)
    elif command.status in (CommandStatus.REJECTED, CommandStatus.FAILED, CommandStatus.EXPIRED):
        # Not changed: the old key keeps working (A01.FR.04).
        Charger.objects.filter(pk=command.charger_id).update(pending_auth_key_hash="")
    # TIMED_OUT: unknown whether the charger took the new key; both work until it next
    # authenticates (sites.services.promote_pending_key).


# --- Used by the gateway ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CommandToSend:
    id: int
    intent: Intent
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


def claim_next_command(
    *,
    charger_id: int,
    message_id: str,
    at: dt.datetime,
    encode: Encoder,
    only_actions: frozenset[str] | None = None,
) -> CommandToSend | None:
    """Mark the charger's oldest queued command sent, with the wire action and payload `encode`
    made of its intent (masked) saved in the same write, and return it; None when its queue is
    empty, its oldest command waits for a retry's backoff, or (with `only_actions`, what may be
    sent to a charger that is not accepted yet) its oldest command is another action. Commands reach a charger strictly
    in the order they were requested (R16), whichever notification arrives: a newer command
    never overtakes an older queued one, not even one waiting to be retried (an older change
    of availability retried after a newer one would undo it). Expired commands met on the way
    are settled as expired, never sent."""
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
            try:
                return _mark_sent(command, message_id, at, encode, only_actions)
            except NotNow:
                return None
            except CannotEncode as exc:
                _finish(command, Outcome(status=OutcomeStatus.FAILED, error_description=str(exc)), None, at)


def _expire(command: Command, at: dt.datetime) -> None:
    command.status, command.finished_at, command.sealed_secret = CommandStatus.EXPIRED, at, ""
    command.save(update_fields=["status", "finished_at", "sealed_secret"])
    _settle_expired(command)


def _settle_expired(command: Command) -> None:
    """What an expiry settles beyond the row (already saved as expired): a key rotation that
    never reached the charger leaves the old key in force, and `command_settled` goes out
    without an outcome."""
    if command.intent == RotateKey.kind:
        _apply_key_rotation_outcome(command)
    _announce(command, None)


class NotNow(Exception):
    """The command may not be sent to the charger in its present state: it stays queued."""


def _mark_sent(
    command: Command, message_id: str, at: dt.datetime, encode: Encoder, only_actions: frozenset[str] | None
) -> CommandToSend:
    intent = intent_of(command)
    secret = unseal_key(command.sealed_secret) if command.sealed_secret else ""
    action, payload = encode(intent, secret)
    if only_actions is not None and action not in only_actions:
        raise NotNow(action)
    shown = encode(intent, SECRET_MASK)[1] if secret else payload
    command.status, command.message_id, command.sent_at = CommandStatus.SENT, message_id, at
    command.action, command.payload = action, shown
    command.attempts += 1
    command.save(update_fields=["status", "message_id", "sent_at", "attempts", "action", "payload"])
    return CommandToSend(command.pk, intent, action, payload, shown)


@transaction.atomic
def settle_command(*, command_id: int, at: dt.datetime, outcome: Outcome, result: dict | None = None) -> Command:
    """Record how a sent command ended, as the gateway's codec decoded it: the charger's
    answer, its CALLERROR, or no answer in time. `result` is the raw answer, for display."""
    command = Command.objects.select_for_update().get(pk=command_id)
    if outcome.status is OutcomeStatus.TIMED_OUT and _retry_later(command, at):
        return command
    _finish(command, outcome, result, at)
    return command


def command_status_of(outcome: Outcome) -> str:
    """A CALLERROR fails the command, whatever it says; an answer the charger gave is accepted
    or rejected (also "not supported" in the answer's own words, e.g. an unlock)."""
    if outcome.status is OutcomeStatus.ACCEPTED:
        return CommandStatus.ACCEPTED
    if outcome.status is OutcomeStatus.TIMED_OUT:
        return CommandStatus.TIMED_OUT
    if outcome.status is OutcomeStatus.FAILED or outcome.error_code:
        return CommandStatus.FAILED
    return CommandStatus.REJECTED


def _finish(command: Command, outcome: Outcome, result: dict | None, at: dt.datetime) -> None:
    command.status = command_status_of(outcome)
    if command.status == CommandStatus.FAILED:
        command.error_code = outcome.error_code
        command.error_description = outcome.error_description[:255]
    command.result = result
    command.finished_at = at
    command.sealed_secret = ""  # sent: no longer needed
    command.save(update_fields=["status", "result", "error_code", "error_description", "finished_at", "sealed_secret"])
    _apply_outcome(command, intent_of(command), outcome, at)
    _announce(command, outcome)


def _announce(command: Command, outcome: Outcome | None) -> None:
    """`command_settled` once the settlement is committed, like every other signal; `outcome`
    is None for a command that expired unsent."""
    transaction.on_commit(partial(command_settled.send, sender=Command, command=command, outcome=outcome))


def _apply_outcome(command: Command, intent: Intent, outcome: Outcome, at: dt.datetime) -> None:
    """What sites itself keeps of an outcome: the key in force, the security profile being
    raised to, the configuration snapshot, the security event of a refused firmware signing certificate."""
    if isinstance(intent, RotateKey):
        _apply_key_rotation_outcome(command)
    elif outcome.accepted and isinstance(intent, RaiseSecurityProfile):
        # A05.FR.05-07: it reconnects with the new profile; until it has, both are let in (A05.FR.08).
        Charger.objects.filter(pk=command.charger_id, security_profile__lt=intent.profile).update(
            security_profile_target=intent.profile
        )
    elif outcome.accepted and isinstance(intent, ReadSettings | ChangeSetting):
        _update_configuration_snapshot(command.charger_id, intent, outcome, at)
    elif outcome.status is OutcomeStatus.REJECTED:
        record_command_refusal(command, intent, outcome)


def _retry_later(command: Command, at: dt.datetime) -> bool:
    """Put a timed-out command that is safe to repeat back in the queue, with backoff."""
    if not intent_of(command).retryable or command.attempts >= settings.OCPP_COMMAND_MAX_ATTEMPTS:
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


def _update_configuration_snapshot(charger_id: int, intent: Intent, outcome: Outcome, at: dt.datetime) -> None:
    """Settings read replace the reported keys; an accepted change (also "reboot required":
    the value is stored, it applies after the reset) updates one. A station with a device model
    (2.0.1) has the same values in it."""
    known: dict[str, str] = {}
    if isinstance(intent, ReadSettings):
        for setting in outcome.settings:
            key = snapshot_key(setting.component, setting.key)
            ConfigurationKey.objects.update_or_create(
                charger_id=charger_id,
                key=key,
                defaults={"value": setting.value, "readonly": setting.readonly, "updated_at": at},
            )
            if setting.component:
                known[key] = setting.value
    elif isinstance(intent, ChangeSetting):
        key = snapshot_key(intent.component, intent.key)
        ConfigurationKey.objects.update_or_create(
            charger_id=charger_id, key=key, defaults={"value": intent.value, "updated_at": at}
        )
        if intent.component or "." in intent.key:
            known[key] = intent.value
    if known:
        record_values_known(charger_id=charger_id, values=known, at=at)


def snapshot_key(component: str, key: str) -> str:
    """A setting's key in the snapshot: "Component.Variable" where settings live in components
    (2.0.1's device model; the spelling its intents take back, so an edit in place works), the
    bare key otherwise. Variables of the same name in two components stay apart."""
    if not component or key.startswith(f"{component}."):
        return key
    return f"{component}.{key}"


def requeue_unanswered_command(*, command_id: int) -> None:
    """The socket closed while the command waited for its answer: it goes back to the queue
    (still within its expiry) rather than being lost."""
    Command.objects.filter(pk=command_id, status=CommandStatus.SENT).update(status=CommandStatus.QUEUED)


@transaction.atomic
def expire_commands(*, now: dt.datetime) -> int:
    """Settle as expired every queued command whose time has passed (never sent)."""
    expired = Command.objects.select_for_update().filter(status=CommandStatus.QUEUED, expires_at__lte=now)
    settled = list(expired)
    count = expired.update(status=CommandStatus.EXPIRED, finished_at=now, sealed_secret="")
    for command in settled:
        command.status, command.finished_at, command.sealed_secret = CommandStatus.EXPIRED, now, ""
        _settle_expired(command)
    return count
