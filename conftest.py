"""Shared by every app's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's throttle counters live in the cache (process memory in tests): every test
    starts with none, whatever requests the tests before it made."""
    cache.clear()


@pytest.fixture(autouse=True)
def _no_event_thread(settings):
    """Outbound events (integrations.publisher) are buffered, not flushed by a background thread:
    that thread would read the database outside the test's transaction. Tests of the events
    flush by hand; the buffer is emptied between tests."""
    from integrations import publisher

    settings.INTEGRATIONS_FLUSH_SECONDS = 0
    yield
    publisher.discard_buffered()


@pytest.fixture
def eager_celery():
    """Celery tasks run at once, in the test, with or without a broker (the PostgreSQL suite has
    one): for tests of what the tasks do."""
    from celery import current_app

    before = current_app.conf.task_always_eager
    current_app.conf.task_always_eager = True
    yield
    current_app.conf.task_always_eager = before
