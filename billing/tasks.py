from celery import shared_task

from billing.services import compute_session_cost


@shared_task(autoretry_for=(Exception,), retry_backoff=True, max_retries=5)
def compute_session_cost_task(session_id: int) -> str | None:
    cost = compute_session_cost(session_id=session_id)
    return str(cost) if cost else None
