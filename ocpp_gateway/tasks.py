from celery import shared_task

from ocpp_gateway.message_log import prune_message_log


@shared_task(name="ocpp_gateway.tasks.prune_message_log_task")
def prune_message_log_task(older_than_days: int | None = None) -> int:
    """Daily retention sweep of the OCPP message log (OCPP_MESSAGE_LOG_RETENTION_DAYS)."""
    return prune_message_log(older_than_days=older_than_days)
