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
