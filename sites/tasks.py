from celery import shared_task
from django.utils import timezone

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
