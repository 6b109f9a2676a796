from celery import shared_task
from django.db import OperationalError

from billing.services import compute_session_cost
from charging.models import ChargingSession


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def compute_session_cost_task(session_id: int) -> str | None:
    """Retried while the database is unreachable; a session that does not exist is no work."""
    try:
        cost = compute_session_cost(session_id=session_id)
    except ChargingSession.DoesNotExist:
        return None
    return str(cost) if cost else None
