from celery import shared_task
from django.db import OperationalError

from billing.services import compute_session_cost
from charging.models import ChargingSession


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def compute_session_costs_task(session_ids: list[int]) -> list[str | None]:
    """The sessions completed together, retried while the database is unreachable: pricing
    replaces an earlier price, so a retry prices those already done again without doubling
    anything. A session that does not exist is no work."""
    return [_price(session_id) for session_id in session_ids]


def _price(session_id: int) -> str | None:
    try:
        cost = compute_session_cost(session_id=session_id)
    except ChargingSession.DoesNotExist:
        return None
    return str(cost) if cost else None
