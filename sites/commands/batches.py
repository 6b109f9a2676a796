"""Command batches (issue 20): one intent to many chargers of an organization at once, chosen by
site, by charge point ids, or all of them, optionally only those online.

The batch is stored with the chargers chosen when it was asked; a Celery task then queues their
commands COMMAND_BATCH_CHUNK at a time, pausing COMMAND_BATCH_PAUSE_SECONDS between chunks, so
that a batch of thousands reaches the gateways as a steady trickle rather than a burst that
would delay the chargers' own messages. Each command goes through the one port
(`request_command`): the same checks per charger (a 2.0.1-only intent refused for a 1.6 charger
is recorded on the batch with why), the same queue while a charger is offline, the same audit.
The batch's idempotency key on each command makes a chunk that runs twice queue nothing twice."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from accounts.models import Organization
from accounts.roles import command_permission
from accounts.services import record_activity
from sites.commands import intent_from_row, request_command
from sites.commands.intents import Intent, RawCall
from sites.models import Charger, Command, CommandBatch, CommandStatus


@dataclass(frozen=True, slots=True)
class Selection:
    """Which chargers of the organization: all, or those of `site_ids`, or those named."""

    site_ids: tuple[int, ...] = ()
    charge_point_ids: tuple[str, ...] = ()
    online_only: bool = False

    def as_json(self) -> dict:
        return {
            "site_ids": list(self.site_ids),
            "charge_point_ids": list(self.charge_point_ids),
            "online_only": self.online_only,
        }


def chosen_chargers(organization: Organization, selection: Selection) -> QuerySet[Charger]:
    chargers = Charger.objects.filter(site__organization=organization)
    if selection.site_ids:
        chargers = chargers.filter(site_id__in=selection.site_ids)
    if selection.charge_point_ids:
        chargers = chargers.filter(charge_point_id__in=selection.charge_point_ids)
    if selection.online_only:
        chargers = chargers.filter(is_online=True)
    return chargers.order_by("pk")


@transaction.atomic
def request_batch(
    *, organization: Organization, intent: Intent, selection: Selection, requested_by, via: str
) -> CommandBatch:
    """Store the batch and start queuing its commands once it is committed. Raises
    ValidationError when it would reach no charger or asks a raw call (experts send those one
    charger at a time), PermissionDenied when the user may not send this intent there."""
    if isinstance(intent, RawCall):
        raise ValidationError("A raw call is sent to one charger at a time.", code="raw")
    charger_ids = list(chosen_chargers(organization, selection).values_list("pk", flat=True))
    if not charger_ids:
        raise ValidationError("No charger of the organization matches this selection.", code="empty")
    sample = Charger.objects.select_related("site").get(pk=charger_ids[0])
    if not requested_by.has_perm(command_permission(intent.kind), sample):
        raise PermissionDenied(f"You may not send this command ({intent.title.lower()}) in {organization}.")
    batch = CommandBatch.objects.create(
        organization=organization,
        intent=intent.kind,
        fields=intent.to_fields(),
        selection=selection.as_json(),
        charger_ids=charger_ids,
        requested_by=requested_by if getattr(requested_by, "is_authenticated", False) else None,
        requested_via=via,
    )
    record_activity(
        actor=requested_by, verb="sent command batch", obj=batch, via=via,
        changes={"intent": batch.intent, "fields": batch.fields, "chargers": len(charger_ids)},
    )  # fmt: skip
    transaction.on_commit(lambda: _start(batch.pk))
    return batch


def _start(batch_id: int) -> None:
    from sites.tasks import run_command_batch_task  # the tasks module imports this one

    run_command_batch_task.delay(batch_id)


def queue_next_chunk(batch_id: int) -> bool:
    """Queue the next COMMAND_BATCH_CHUNK commands of the batch; True while some remain."""
    with transaction.atomic():
        batch = CommandBatch.objects.select_for_update().filter(pk=batch_id).first()
        if batch is None or batch.state == CommandBatch.State.DONE:
            return False
        handled = set(Command.objects.filter(batch=batch).values_list("charger_id", flat=True))
        handled |= {entry["charger_id"] for entry in batch.refused}
        waiting = [pk for pk in batch.charger_ids if pk not in handled]
        chunk, rest = waiting[: settings.COMMAND_BATCH_CHUNK], waiting[settings.COMMAND_BATCH_CHUNK :]
        intent = intent_from_row(batch.intent, batch.fields)
        for charger in Charger.objects.filter(pk__in=chunk).order_by("pk"):
            try:
                request_command(
                    charger=charger, intent=intent, requested_by=batch.requested_by, via=batch.requested_via,
                    idempotency_key=f"batch:{batch.pk}", batch=batch,
                )  # fmt: skip
            except ValidationError as error:
                batch.refused.append(
                    {
                        "charger_id": charger.pk,
                        "charge_point_id": charger.charge_point_id,
                        "reason": " ".join(error.messages),
                    }
                )
        # Chargers deleted since the batch was asked: nothing to send them.
        gone = set(chunk) - set(Charger.objects.filter(pk__in=chunk).values_list("pk", flat=True))
        batch.refused += [
            {"charger_id": pk, "charge_point_id": "", "reason": "The charger was deleted."} for pk in gone
        ]
        batch.queued_count = Command.objects.filter(batch=batch).count()
        batch.state = CommandBatch.State.RUNNING if rest else CommandBatch.State.DONE
        batch.finished_at = None if rest else timezone.now()
        batch.save(update_fields=["refused", "queued_count", "state", "finished_at"])
        return bool(rest)


def _refusal(charger_id: int, charge_point_id: str, reason: str) -> dict:
    return {"charger_id": charger_id, "charge_point_id": charge_point_id, "reason": reason}


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    not_yet_queued: int
    refused: int
    waiting_offline: int  # queued for a charger that is offline: sent when it returns
    queued: int  # queued for an online charger: about to be sent
    sent: int  # sent, no answer yet
    accepted: int
    rejected: int
    failed: int  # failed, timed out or expired


def batch_progress(batch: CommandBatch) -> Progress:
    counts = Command.objects.filter(batch=batch).aggregate(
        offline=Count("pk", filter=Q(status=CommandStatus.QUEUED, charger__is_online=False)),
        queued=Count("pk", filter=Q(status=CommandStatus.QUEUED, charger__is_online=True)),
        sent=Count("pk", filter=Q(status=CommandStatus.SENT)),
        accepted=Count("pk", filter=Q(status=CommandStatus.ACCEPTED)),
        rejected=Count("pk", filter=Q(status=CommandStatus.REJECTED)),
        failed=Count("pk", filter=Q(status__in=(CommandStatus.FAILED, CommandStatus.TIMED_OUT, CommandStatus.EXPIRED))),
    )
    in_queue = sum(counts.values())
    return Progress(
        total=batch.total,
        not_yet_queued=max(0, batch.total - in_queue - len(batch.refused)),
        refused=len(batch.refused),
        waiting_offline=counts["offline"],
        queued=counts["queued"],
        sent=counts["sent"],
        accepted=counts["accepted"],
        rejected=counts["rejected"],
        failed=counts["failed"],
    )
