from celery import shared_task
from django.conf import settings
from django.utils import timezone

from sites.certificates.services import renew_expiring_certificates, sign_and_send
from sites.commands import batches, dispatch_due_commands, expire_commands
from sites.services import sweep_offline_chargers


@shared_task
def sweep_offline_chargers_task() -> int:
    return sweep_offline_chargers(now=timezone.now())


@shared_task
def expire_commands_task() -> int:
    return expire_commands(now=timezone.now())


@shared_task
def dispatch_due_commands_task() -> int:
    return dispatch_due_commands(now=timezone.now())


@shared_task
def sign_certificate_task(charger_id: int, csr: str, use: str) -> int | None:
    """Sign an accepted CSR and queue CertificateSigned; the command's id (None: not signed)."""
    command = sign_and_send(charger_id=charger_id, csr=csr, use=use)
    return command.pk if command is not None else None


@shared_task
def renew_charger_certificates_task() -> int:
    return renew_expiring_certificates(now=timezone.now())


@shared_task
def run_command_batch_task(batch_id: int) -> bool:
    """Queue one chunk of the batch's commands, then come back after COMMAND_BATCH_PAUSE_SECONDS
    for the next (sites.commands.batches). Without a broker the chunks follow at once."""
    more = batches.queue_next_chunk(batch_id)
    if run_command_batch_task.app.conf.task_always_eager:
        while more:  # no broker to wait on: the rest now, in a loop rather than nested calls
            more = batches.queue_next_chunk(batch_id)
    elif more:
        run_command_batch_task.apply_async((batch_id,), countdown=settings.COMMAND_BATCH_PAUSE_SECONDS)
    return more
