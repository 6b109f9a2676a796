from django.dispatch import receiver

from billing.tasks import compute_session_costs_task
from charging.signals import session_completed


@receiver(session_completed)
def price_completed_sessions(sender, session_ids: list[int], **kwargs) -> None:
    # One task for the sessions a batch completed: publishing a task costs more than pricing.
    compute_session_costs_task.delay(session_ids)
