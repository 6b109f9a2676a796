"""API rate limits (S24): DRF's throttles, failing open when their cache is unreachable.

The counters live in Django's cache: Redis when REDIS_URL is set (shared by every process),
else each process's memory. A cache outage must not turn the whole API into 500s: the request
is let through, and one line is logged per minute at most.
"""

import logging
import time

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle, ScopedRateThrottle, SimpleRateThrottle, UserRateThrottle

logger = logging.getLogger(__name__)
FAILURE_LOG_INTERVAL = 60.0
_last_failure_logged = float("-inf")


def _log_cache_failure(error: Exception) -> None:
    global _last_failure_logged
    now = time.monotonic()
    if now - _last_failure_logged >= FAILURE_LOG_INTERVAL:
        _last_failure_logged = now
        logger.warning("API throttling is off while its cache is unreachable: %s", type(error).__name__)


class FailOpenThrottle(SimpleRateThrottle):
    """Reads its rate when the request comes (so changed settings apply), and lets the request
    through when the cache fails."""

    def get_rate(self) -> str | None:
        # The stubs type the rates as numbers; DRF's are "N/period" strings (settings.py).
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)  # type: ignore[return-value, arg-type]

    def allow_request(self, request, view) -> bool:
        try:
            return super().allow_request(request, view)
        except Exception as error:  # any cache client error: redis, connection, timeout
            _log_cache_failure(error)
            return True


class UserThrottle(FailOpenThrottle, UserRateThrottle):
    """Per authenticated user (API_THROTTLE_USER); anonymous requests go by address."""


class AnonThrottle(FailOpenThrottle, AnonRateThrottle):
    """Per client address, for requests without credentials (API_THROTTLE_ANON)."""


class LoginThrottle(FailOpenThrottle, ScopedRateThrottle):
    """Views with a `throttle_scope`: the token endpoint's "login" (API_THROTTLE_LOGIN), per
    address, on top of the anonymous limit."""
