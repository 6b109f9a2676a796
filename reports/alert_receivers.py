"""What raises alerts the moment it happens (reports.alerts): a state entering or leaving
Faulted, a critical security event. Receivers run after the charger's transaction committed, in
the thread that wrote it; they only look at what the signal carries and hand the rare changes
that matter to a Celery task, so a batch of ordinary status changes costs a loop in memory."""

from __future__ import annotations

import dataclasses

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver

from reports.alerts import FAULTED
from sites.models import SecurityEvent
from sites.signals import DeviceProblem, StatusChange, device_problems_reported, status_changed


@receiver(status_changed, dispatch_uid="reports.alerts.status")
def on_status_changed(sender, changes: list[StatusChange], **kwargs) -> None:
    relevant = [c for c in changes if (c.status == FAULTED) != (c.previous_status == FAULTED)]
    if not relevant:
        return
    from reports.tasks import raise_fault_alerts_task  # the tasks module imports reports.alerts

    raise_fault_alerts_task.delay([{**dataclasses.asdict(c), "timestamp": c.timestamp.isoformat()} for c in relevant])


@receiver(post_save, sender=SecurityEvent, dispatch_uid="reports.alerts.security_event")
def on_security_event_saved(sender, instance: SecurityEvent, created: bool, **kwargs) -> None:
    if not (created and instance.critical and instance.charger_id is not None):
        return
    from reports.tasks import raise_security_alert_task

    event_id = instance.pk
    transaction.on_commit(lambda: raise_security_alert_task.delay(event_id))


@receiver(device_problems_reported, dispatch_uid="reports.alerts.problems")
def on_device_problems(sender, problems: list[DeviceProblem], **kwargs) -> None:
    from reports.tasks import raise_device_problem_alerts_task

    raise_device_problem_alerts_task.delay(
        [{**dataclasses.asdict(p), "timestamp": p.timestamp.isoformat()} for p in problems]
    )
