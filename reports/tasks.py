import datetime as dt

from celery import shared_task

from reports import alerts
from reports.services import run_export
from sites.signals import DeviceProblem, StatusChange


@shared_task
def run_export_task(export_id: int) -> str | None:
    """Not retried: a failed export is recorded on its row, and the operator asks again."""
    export = run_export(export_id=export_id)
    return export.status if export else None


@shared_task
def sweep_alerts_task() -> dict:
    """Periodic (ALERTS_SWEEP_SECONDS): raise what has no signal, resolve what ended."""
    result = alerts.sweep_alerts()
    return {"raised": result.raised, "resolved": result.resolved}


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_alert_task(alert_id: int) -> int:
    """Email a new alert's subscribers; a mail server that does not answer is tried again."""
    return alerts.notify_alert(alert_id)


@shared_task
def raise_fault_alerts_task(changes: list[dict]) -> int:
    """Fault alerts for status changes, off the charger's path (sent by reports.alert_receivers)."""
    return alerts.apply_status_changes(
        [StatusChange(**{**change, "timestamp": dt.datetime.fromisoformat(change["timestamp"])}) for change in changes]
    )


@shared_task
def raise_security_alert_task(event_id: int) -> bool:
    return alerts.raise_for_security_event(event_id) is not None


@shared_task
def raise_device_problem_alerts_task(problems: list[dict]) -> int:
    """Fault alerts for the problems a 2.0.1 station reported (sent by reports.alert_receivers)."""
    return alerts.apply_device_problems(
        [
            DeviceProblem(**{**problem, "timestamp": dt.datetime.fromisoformat(problem["timestamp"])})
            for problem in problems
        ]
    )
