from celery import shared_task
from django.utils import timezone

from integrations import publisher, webhooks
from integrations.build import decode_fact


@shared_task(autoretry_for=(Exception,), retry_backoff=True, retry_backoff_max=60, max_retries=8)
def deliver_events_task(facts: list[list]) -> int:
    """Build and publish one batch of a server process's facts (integrations.publisher)."""
    return publisher.publish([decode_fact(fact) for fact in facts])


@shared_task
def deliver_webhooks_task(subscription_id: int) -> int:
    """Send one subscription's pending webhook deliveries, in order (integrations.webhooks)."""
    return webhooks.deliver_pending(subscription_id)


@shared_task
def retry_due_webhooks_task() -> int:
    """Periodic: subscriptions whose next attempt is due and that no worker is delivering."""
    due = webhooks.due_subscription_ids(timezone.now())
    for subscription_id in due:
        deliver_webhooks_task.delay(subscription_id)
    return len(due)


@shared_task
def prune_webhook_deliveries_task() -> int:
    """Daily: deliveries older than INTEGRATIONS_WEBHOOK_RETENTION_DAYS."""
    return webhooks.prune_deliveries(now=timezone.now())
