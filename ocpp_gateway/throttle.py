"""Rate limits of the charger boundary (ACCEPTANCE S11, R21, S24): token buckets on the event loop.

Everything here runs in the event loop's thread, so no locks; each check is O(1). The limits
are per process: with several server processes behind a load balancer each one enforces its
own share, which is what protects that process.
"""

import re
import time
from collections import OrderedDict
from dataclasses import dataclass

_RATE = re.compile(r"(?P<count>\d+)\s*/\s*(?P<number>\d+(?:\.\d+)?)?\s*(?P<unit>[a-z]*)")
_UNITS = {
    "": 1.0,
    "s": 1.0,
    "sec": 1.0,
    "second": 1.0,
    "m": 60.0,
    "min": 60.0,
    "minute": 60.0,
    "h": 3600.0,
    "hour": 3600.0,
}


@dataclass(frozen=True, slots=True)
class Rate:
    """`count` events per `period` seconds; a quiet client may spend all `count` at once."""

    count: int
    period: float

    @property
    def per_second(self) -> float:
        return self.count / self.period

    @property
    def enabled(self) -> bool:
        return self.count > 0


def parse_rate(text: str) -> Rate:
    """'10/minute', '1000/20s', '50/1' -> Rate. A count of 0 turns the limit off."""
    match = _RATE.fullmatch(text.strip().lower())
    if match is None or match["unit"] not in _UNITS or float(match["number"] or 1) <= 0:
        raise ValueError(f"not a rate: {text!r} (expected e.g. '10/minute' or '1000/20s')")
    return Rate(int(match["count"]), float(match["number"] or 1) * _UNITS[match["unit"]])


class TokenBucket:
    """Holds up to `burst` tokens, refilled at `rate` per second; each event takes one."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float | None = None) -> None:
        self.rate = rate
        self.burst = burst
        self.tokens = burst
        self.stamp = time.monotonic() if now is None else now

    def _refill(self, now: float) -> None:
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now

    def take(self, now: float | None = None) -> bool:
        """Spend one token if there is one."""
        self._refill(time.monotonic() if now is None else now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False

    def empty(self, now: float | None = None) -> bool:
        """True while not even one event would be allowed (spends nothing)."""
        self._refill(time.monotonic() if now is None else now)
        return self.tokens < 1.0


class KeyedLimiter:
    """One bucket per key (a charge point id, an address), at most `capacity` keys: the least
    recently used are forgotten, so a flood of distinct keys costs bounded memory. Forgetting a
    key only forgives it; a flood of distinct keys from one address meets the address's limit."""

    def __init__(self, rate: Rate, capacity: int = 50_000) -> None:
        self.rate = rate
        self.capacity = capacity
        self._buckets: OrderedDict[str, TokenBucket] = OrderedDict()

    def _bucket(self, key: str, now: float) -> TokenBucket:
        bucket = self._buckets.pop(key, None)
        if bucket is None:
            bucket = TokenBucket(self.rate.per_second, self.rate.count, now)
            if len(self._buckets) >= self.capacity:
                self._buckets.popitem(last=False)
        self._buckets[key] = bucket
        return bucket

    def take(self, key: str, now: float | None = None) -> bool:
        """Count one event; False when the key is over its rate (or True when the limit is off)."""
        if not self.rate.enabled:
            return True
        return self._bucket(key, time.monotonic() if now is None else now).take(now)

    def refund(self, key: str) -> None:
        """Give back the event of an attempt that turned out not to count (a success)."""
        bucket = self._buckets.get(key)
        if bucket is not None:
            bucket.tokens = min(bucket.burst, bucket.tokens + 1.0)

    def full(self, key: str, now: float | None = None) -> bool:
        """Whether the key has spent nothing lately (or the limit is off)."""
        bucket = self._buckets.get(key)
        if not self.rate.enabled or bucket is None:
            return True
        bucket._refill(time.monotonic() if now is None else now)
        return bucket.tokens >= bucket.burst

    def exhausted(self, key: str, now: float | None = None) -> bool:
        """Whether the key is over its rate, without counting an event."""
        if not self.rate.enabled:
            return False
        bucket = self._buckets.get(key)
        return bucket is not None and bucket.empty(now)

    def clear(self) -> None:
        self._buckets.clear()


class CallThrottle:
    """CALLs of one connection: `rate` per second with room for a `burst` (a boot, an offline
    replay). Refused CALLs drain a second bucket of `close_after`, refilled at the same rate:
    a charger a little over its rate gets a few CALLERRORs, a sustained flood is disconnected."""

    __slots__ = ("calls", "refusals")

    def __init__(self, rate: float, burst: int, close_after: int) -> None:
        self.calls = TokenBucket(rate, burst) if rate > 0 else None
        self.refusals = TokenBucket(rate, close_after) if close_after > 0 else None

    def allow(self) -> bool:
        """The hot path: one bucket update per frame."""
        return self.calls is None or self.calls.take()

    def flooding(self) -> bool:
        """Count one refused CALL; True once the refusals themselves are over the limit."""
        return self.refusals is not None and not self.refusals.take()
