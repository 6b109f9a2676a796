from celery import shared_task

from integrations import publisher
from integrations.build import decode_fact


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=60, max_retries=8)
def deliver_events_task(facts: list[list]) -> int:
    """Build and publish one batch of a server process's facts (integrations.publisher)."""
    return publisher.publish([decode_fact(fact) for fact in facts])
