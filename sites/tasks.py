from celery import shared_task
from django.utils import timezone

from sites.certificates.services import renew_expiring_certificates, sign_and_send
from sites.commands import dispatch_due_commands, expire_commands
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
