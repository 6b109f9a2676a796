"""Outbound events leave the process here, off the hot path (issue 20).

The receivers (integrations.receivers) run where the lower apps send their signals: on commit,
often in the gateway's group-commit thread. They only append plain facts to a bounded buffer.
A daemon thread wakes every INTEGRATIONS_FLUSH_SECONDS and hands what was buffered on as one
Celery task (integrations.tasks): a worker process builds the events with a fixed handful of
queries (integrations.build) and gives them to the sinks in one batch (a Redis pipeline of
XADDs, one channel layer message per organization). Building thousands of events a second in
the server process would take CPU from the chargers (the benchmark showed 8 %); publishing
one task per tick does not. Without a broker (the embedded default) the thread builds and
sends them itself. The charger's answer never waits for any of it.

Limits: the buffer holds INTEGRATIONS_MAX_BUFFER facts; beyond that the oldest are dropped and
counted (`dropped_count()`, logged). A batch the sink refuses (Redis down) is kept for the next
tick within the same bound. Events are at-most-once for a process that dies with facts
buffered: a consumer that must not miss a session reconciles with the API."""

from __future__ import annotations

import atexit
import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.db import close_old_connections

from integrations.build import encode_fact
from integrations.events import Event

logger = logging.getLogger(__name__)

Fact = tuple[Any, ...]
Sink = Callable[[list[Event]], None]
Builder = Callable[[list[Fact]], list[Event]]
# Hands a batch (facts as JSON, integrations.build.encode_fact) to a worker: the Celery task's
# `delay`, given by integrations.receivers (this module does not import the task).
HandOff = Callable[[list[list[Any]]], object]

_lock = threading.Lock()
_facts: deque[Fact] = deque()
_dropped = 0
_wake = threading.Event()
_thread: threading.Thread | None = None
_sinks: list[Sink] = []
_builder: Builder | None = None
_hand_off: HandOff | None = None


def configure(*, builder: Builder, sinks: Iterable[Sink], hand_off: HandOff | None = None) -> None:
    global _builder, _hand_off
    _builder, _hand_off = builder, hand_off
    _sinks[:] = list(sinks)


def enabled() -> bool:
    return bool(_sinks)


def record(*facts: Fact) -> None:
    """Buffer facts for the next batch. Never blocks on I/O, never raises into the caller."""
    global _dropped
    if not _sinks:
        return
    limit = max(1, settings.INTEGRATIONS_MAX_BUFFER)
    with _lock:
        for fact in facts:
            if len(_facts) >= limit:
                _facts.popleft()
                _dropped += 1
            _facts.append(fact)
    _ensure_thread()


def discard_buffered() -> None:
    """Forget what is buffered (tests, between one and the next)."""
    with _lock:
        _facts.clear()


def buffered_count() -> int:
    return len(_facts)


def dropped_count() -> int:
    return _dropped


def flush() -> int:
    """Hand on what is buffered now (the thread's tick; tests call it directly): to a worker
    with a broker, else built and published here. Returns how many facts were handed on."""
    with _lock:
        facts = list(_facts)
        _facts.clear()
    if not facts or _builder is None:
        return 0
    try:
        if settings.CELERY_TASK_ALWAYS_EAGER or _hand_off is None:
            publish(facts)
        else:
            _hand_off([encode_fact(fact) for fact in facts])
    except Exception:
        logger.exception("outbound events: %d facts not handed on, kept for the next attempt", len(facts))
        _put_back(facts)
        return 0
    return len(facts)


def publish(facts: list[Fact]) -> int:
    """Build the events of `facts` and give them to every sink; raises when a sink cannot take
    them (the caller keeps or retries them). Returns how many events were published."""
    if _builder is None or all(getattr(sink, "idle", _busy)() for sink in _sinks):
        return 0  # no sink wants events now (e.g. webhooks only, and nobody subscribed)
    events = _builder(facts)
    for sink in _sinks:
        sink(events)
    return len(events)


def _busy() -> bool:
    return False


def _put_back(facts: list[Fact]) -> None:
    global _dropped
    limit = max(1, settings.INTEGRATIONS_MAX_BUFFER)
    with _lock:
        merged = deque(facts)
        merged.extend(_facts)
        while len(merged) > limit:
            merged.popleft()
            _dropped += 1
        _facts.clear()
        _facts.extend(merged)


def _ensure_thread() -> None:
    """The flushing thread, started with the first fact; INTEGRATIONS_FLUSH_SECONDS = 0 starts
    none (tests call flush themselves)."""
    global _thread
    if settings.INTEGRATIONS_FLUSH_SECONDS <= 0 or (_thread is not None and _thread.is_alive()):
        return
    with _lock:
        if _thread is not None and _thread.is_alive():
            return
        _thread = threading.Thread(target=_run, name="integrations-events", daemon=True)
        _thread.start()


def _run() -> None:
    while True:
        _wake.wait(settings.INTEGRATIONS_FLUSH_SECONDS)
        _wake.clear()
        close_old_connections()
        flush()


atexit.register(lambda: flush() if _facts else None)
