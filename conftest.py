"""Shared by every app's tests."""

import pytest
from django.core.cache import cache


@pytest.fixture(autouse=True)
def _fresh_rate_limits():
    """The API's throttle counters live in the cache (process memory in tests): every test
    starts with none, whatever requests the tests before it made."""
    cache.clear()
