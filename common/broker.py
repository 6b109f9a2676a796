"""The Celery broker's queue, read without Celery: used by /api/v1/status (csms.status) and by
the metrics (integrations.metrics)."""

from django.conf import settings
from kombu import Connection

DEFAULT_TIMEOUT_SECONDS = 3.0


def celery_queue_depth(timeout: float = DEFAULT_TIMEOUT_SECONDS) -> int | None:
    """Tasks waiting in the broker's default queue; None without a broker (tasks run in-process)
    or when it cannot be asked."""
    if settings.CELERY_TASK_ALWAYS_EAGER:
        return None
    queue = getattr(settings, "CELERY_TASK_DEFAULT_QUEUE", "celery")
    try:
        with Connection(settings.CELERY_BROKER_URL, connect_timeout=timeout) as conn:
            # Not passive: a queue no task was ever sent to does not exist yet, and that is 0.
            return int(conn.default_channel.queue_declare(queue=queue, durable=True).message_count)
    except Exception:  # the broker's state is probed elsewhere; a depth we cannot read is unknown
        return None
