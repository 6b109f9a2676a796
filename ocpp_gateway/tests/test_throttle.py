"""The token buckets of the charger boundary (S11, R21) and where the handshake checks them."""

import asyncio

import pytest

from ocpp_gateway import handshake
from ocpp_gateway.handshake import HandshakeRefused
from ocpp_gateway.throttle import CallThrottle, KeyedLimiter, Rate, TokenBucket, parse_rate


@pytest.mark.parametrize(
    ("text", "rate"),
    [("10/minute", Rate(10, 60.0)), ("1000/20s", Rate(1000, 20.0)), ("50/1", Rate(50, 1.0)), ("5/h", Rate(5, 3600.0))],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["10/fortnight", "10/0s", "ten/minute"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(ValueError, match="not a rate"):
        parse_rate(text)


def test_token_bucket_allows_a_burst_then_its_rate():
    bucket = TokenBucket(rate=2.0, burst=3, now=0.0)
    assert [bucket.take(0.0) for _ in range(4)] == [True, True, True, False]
    assert bucket.take(0.5)  # one token back after half a second at 2/s
    assert not bucket.take(0.5)
    assert [bucket.take(100.0) for _ in range(4)] == [True, True, True, False]  # never more than the burst


def test_keyed_limiter_keeps_keys_apart_and_bounded():
    limiter = KeyedLimiter(Rate(2, 60.0), capacity=3)
    assert limiter.take("a", now=0.0)
    assert limiter.take("a", now=0.0)
    assert not limiter.take("a", now=0.0)
    assert limiter.exhausted("a", now=0.0)
    assert limiter.take("b", now=0.0)  # another key is unaffected
    for key in ("c", "d", "e"):
        limiter.take(key, now=0.0)
    assert len(limiter._buckets) == 3  # "a" was the least recently used: forgotten


def test_a_zero_count_turns_a_limit_off():
    limiter = KeyedLimiter(parse_rate("0/1"))
    assert all(limiter.take("a") for _ in range(10_000))
    throttle = CallThrottle(0.0, 0, 0)
    assert all(throttle.allow() for _ in range(10_000))
    assert not throttle.flooding()


def test_call_throttle_closes_only_a_sustained_flood():
    throttle = CallThrottle(rate=0.001, burst=5, close_after=3)
    assert [throttle.allow() for _ in range(6)] == [True] * 5 + [False]
    assert [throttle.flooding() for _ in range(4)] == [False, False, False, True]


def test_handshake_limits_are_checked_before_any_lookup(monkeypatch):
    """Once an id has failed too often, further attempts are refused with 429 without the
    lookup and key check (`_admit`) running at all."""
    monkeypatch.setattr(handshake, "FAILURES_BY_ID", KeyedLimiter(Rate(3, 60.0)))
    monkeypatch.setattr(handshake, "FAILURES_BY_ADDRESS", KeyedLimiter(Rate(100, 60.0)))
    monkeypatch.setattr(handshake, "HANDSHAKES_BY_ADDRESS", KeyedLimiter(Rate(100, 60.0)))
    looked_up = []
    recorded = []

    async def refuse(scope, charge_point_id):
        looked_up.append(charge_point_id)
        raise HandshakeRefused(401, "wrong charge point id or key")

    async def record(address, charge_point_id, limits):
        recorded.append((address, charge_point_id, limits))

    monkeypatch.setattr(handshake, "_admit", refuse)
    monkeypatch.setattr(handshake, "_record_throttling", record)
    scope = {"client": ("192.0.2.7", 4000)}

    async def attempts() -> list[int]:
        statuses = []
        for _ in range(10):
            try:
                await handshake.admit(scope, "CP-1")
            except HandshakeRefused as refusal:
                statuses.append(refusal.status)
        return statuses

    assert asyncio.run(attempts()) == [401] * 3 + [429] * 7
    assert looked_up == ["CP-1"] * 3
    assert recorded == [("192.0.2.7", "CP-1", ["charge point id"])]  # one security event, when it tripped
