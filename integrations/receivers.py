"""What the lower apps' signals (sent on commit) become: facts buffered for the publisher. Only
connected when a sink is configured, so a system without integrations pays nothing."""

from __future__ import annotations

import threading
import time

from django.conf import settings
from django.utils import timezone

from billing.signals import session_priced
from charging.signals import SessionReadings, session_completed, session_metered, session_started
from common.signals import alert_changed
from integrations import publisher
from integrations.build import (
    ALERT,
    BOOTED,
    COMMAND,
    ONLINE,
    SECURITY,
    SESSION_ENDED,
    SESSION_PRICED,
    SESSION_STARTED,
    SESSION_UPDATED,
    STATUS,
    build_events,
)
from integrations.sinks import ChannelLayerSink, RedisStreamSink
from integrations.webhooks import WebhookSink
from sites.signals import charger_booted, command_settled, online_changed, security_events_recorded, status_changed


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
    charger_booted.connect(on_charger_booted, dispatch_uid="integrations.booted")
    session_metered.connect(on_session_metered, dispatch_uid="integrations.session_metered")
    session_priced.connect(on_session_priced, dispatch_uid="integrations.session_priced")
    security_events_recorded.connect(on_security_events, dispatch_uid="integrations.security")


def on_online_changed(sender, charger_id: int, online: bool, at, **kwargs) -> None:
    publisher.record((ONLINE, charger_id, online, at))


def on_status_changed(sender, changes, **kwargs) -> None:
    publisher.record(*((STATUS, change) for change in changes))


def on_session_started(sender, session_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    publisher.record(*((SESSION_STARTED, session_id, now) for session_id in session_ids))


def on_session_completed(sender, session_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    update_throttle.forget(session_ids)
    publisher.record(*((SESSION_ENDED, session_id, now) for session_id in session_ids))


class UpdateThrottle:
    """Which sessions may have a session.updated event now: one per session per
    INTEGRATIONS_SESSION_UPDATE_SECONDS, however often its charger reports (every few seconds
    for some). A session's first report passes. Per process: with several server processes a
    session is served by one of them at a time. Bounded: ended sessions are forgotten, and
    entries far older than the period are dropped when the table grows."""

    LIMIT = 100_000

    def __init__(self) -> None:
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def due(self, session_ids: list[int]) -> list[int]:
        now, period = time.monotonic(), settings.INTEGRATIONS_SESSION_UPDATE_SECONDS
        due = []
        with self._lock:
            for session_id in session_ids:
                last = self._last.get(session_id)
                if last is None or now - last >= period:
                    self._last[session_id] = now
                    due.append(session_id)
            if len(self._last) > self.LIMIT:
                self._last = {key: at for key, at in self._last.items() if now - at < period}
        return due

    def forget(self, session_ids: list[int]) -> None:
        with self._lock:
            for session_id in session_ids:
                self._last.pop(session_id, None)


update_throttle = UpdateThrottle()


def on_session_metered(sender, readings: list[SessionReadings], **kwargs) -> None:
    due = set(update_throttle.due([reading.session_id for reading in readings]))
    if due:
        publisher.record(*((SESSION_UPDATED, reading) for reading in readings if reading.session_id in due))


def on_session_priced(sender, session_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    publisher.record(*((SESSION_PRICED, session_id, now) for session_id in session_ids))


def on_charger_booted(sender, boots, **kwargs) -> None:
    publisher.record(*((BOOTED, boot) for boot in boots))


def on_security_events(sender, event_ids: list[int], **kwargs) -> None:
    now = timezone.now()
    publisher.record(*((SECURITY, event_id, now) for event_id in event_ids))


def on_command_settled(sender, command, **kwargs) -> None:
    at = command.finished_at or timezone.now()
    publisher.record((COMMAND, command.pk, command.charger_id, command.intent, command.status, at))


def on_alert_changed(sender, alerts, **kwargs) -> None:
    publisher.record(*((ALERT, alert) for alert in alerts))
