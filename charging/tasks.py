from celery import shared_task
from django.utils import timezone

from charging.reservations import expire_reservations


@shared_task
def expire_reservations_task() -> int:
    return expire_reservations(now=timezone.now())
