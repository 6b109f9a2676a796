from django.dispatch import receiver

from billing.tasks import compute_session_cost_task
from charging.signals import session_completed


@receiver(session_completed)
def price_completed_session(sender, session_id: int, **kwargs) -> None:
    compute_session_cost_task.delay(session_id)
