import base64

from ocpp_gateway.handshake import AttemptThrottle, basic_credentials


def _basic(text: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(text.encode()).decode()}


def test_basic_credentials_split_at_the_first_colon_only():
    assert basic_credentials(_basic("CP-1:pa:ss")) == ("CP-1", "pa:ss")


def test_basic_credentials_reject_malformed_headers():
    assert basic_credentials({}) is None
    assert basic_credentials({"authorization": "Bearer abc"}) is None
    assert basic_credentials({"authorization": "Basic !!!"}) is None
    assert basic_credentials(_basic("no-colon")) is None


def test_throttle_writes_once_per_interval_and_carries_the_count_over():
    throttle = AttemptThrottle(interval=10)
    assert throttle.attempts_to_record("CP", now=0) == 1
    assert throttle.attempts_to_record("CP", now=1) == 0
    assert throttle.attempts_to_record("CP", now=2) == 0
    assert throttle.attempts_to_record("CP", now=11) == 3
    assert throttle.attempts_to_record("OTHER", now=11) == 1


def test_throttle_memory_is_bounded():
    throttle = AttemptThrottle(interval=10, capacity=3)
    for number in range(100):
        throttle.attempts_to_record(f"CP-{number}", now=number)
    assert len(throttle._seen) == 3
