"""What the lower apps' signals (sent on commit) become: facts buffered for the publisher. Only
connected when a sink is configured, so a system without integrations pays nothing."""

from __future__ import annotations

from django.conf import settings
from django.utils import timezone

from charging.signals import session_completed, session_started
from common.signals import alert_changed
from integrations import publisher
from integrations.build import ALERT, COMMAND, ONLINE, SESSION_ENDED, SESSION_STARTED, STATUS, build_events
from integrations.sinks import ChannelLayerSink, RedisStreamSink
from integrations.webhooks import WebhookSink
from sites.signals import command_settled, online_changed, status_changed


def connect() -> None:
    sinks: list[publisher.Sink] = []
    if settings.INTEGRATIONS_EVENT_STREAM_URL:
        sinks.append(
            RedisStreamSink(
                settings.INTEGRATIONS_EVENT_STREAM_URL,
                prefix=settings.INTEGRATIONS_EVENT_STREAM_PREFIX,
                maxlen=settings.INTEGRATIONS_EVENT_STREAM_MAXLEN,
            )
        )
    if settings.INTEGRATIONS_EVENT_SOCKET:
        sinks.append(ChannelLayerSink())
    if settings.INTEGRATIONS_WEBHOOKS:
        sinks.append(WebhookSink())
    if not sinks:
        return
    from integrations.tasks import deliver_events_task  # a Celery task module: imported once apps are ready

    publisher.configure(builder=build_events, sinks=sinks, hand_off=deliver_events_task.delay)
    online_changed.connect(on_online_changed, dispatch_uid="integrations.online")
    status_changed.connect(on_status_changed, dispatch_uid="integrations.status")
    session_started.connect(on_session_started, dispatch_uid="integrations.session_started")
    session_completed.connect(on_session_completed, dispatch_uid="integrations.session_completed")
    command_settled.connect(on_command_settled, dispatch_uid="integrations.command")
    alert_changed.connect(on_alert_changed, dispatch_uid="integrations.alert")


def on_online_changed(sender, charger_id: int, online: bool, at, **kwargs) -> None:
    publisher.record((ONLINE, charger_id, online, at))


def on_status_changed(sender, changes, **kwargs) -> None:
    publisher.record(*((STATUS, change) for change in changes))


def on_session_started(sender, session_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    publisher.record(*((SESSION_STARTED, session_id, now) for session_id in session_ids))


def on_session_completed(sender, session_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    publisher.record(*((SESSION_ENDED, session_id, now) for session_id in session_ids))


def on_command_settled(sender, command, **kwargs) -> None:
    at = command.finished_at or timezone.now()
    publisher.record((COMMAND, command.pk, command.charger_id, command.intent, command.status, at))


def on_alert_changed(sender, alerts, **kwargs) -> None:
    publisher.record(*((ALERT, alert) for alert in alerts))
