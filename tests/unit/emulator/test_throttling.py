"""The token bucket, driven by an injected clock: burst and steady-state rate are exact."""

from __future__ import annotations

import pytest

from gateway_emulator.throttling import THROTTLED_BODY, THROTTLED_STATUS, ThrottleLimits, Throttler, TokenBucket


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_burst_is_admitted_at_once_then_refused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=10, burst=5), clock)
    admitted = [bucket.try_acquire() for _ in range(8)]
    assert admitted == [True] * 5 + [False] * 3


def test_refill_follows_the_rate_and_never_exceeds_the_burst() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=10, burst=5), clock)
    for _ in range(5):
        assert bucket.try_acquire()
    clock.now += 0.1  # one token
    assert bucket.try_acquire()
    assert not bucket.try_acquire()
    clock.now += 60  # a long pause refills only up to the burst
    assert bucket.available() == pytest.approx(5.0)


@pytest.mark.parametrize(("rate", "burst", "offered"), [(20, 5, 3.0), (100, 50, 1.5), (1000, 200, 4.0)])
def test_admitted_rate_is_within_5_percent_of_the_configured_rate(rate: float, burst: int, offered: float) -> None:
    """Offer `offered` x the rate for a 30 s window (evenly spaced arrivals): what passes, minus
    the initial burst, is the configured rate."""
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=rate, burst=burst), clock)
    window = 30.0
    arrivals = int(rate * offered * window)
    step = window / arrivals
    admitted = 0
    for _ in range(arrivals):
        admitted += bucket.try_acquire()
        clock.now += step
    steady = (admitted - burst) / window
    assert steady == pytest.approx(rate, rel=0.05)
    assert admitted <= burst + rate * window + 1


def test_under_the_rate_nothing_is_refused() -> None:
    clock = FakeClock()
    bucket = TokenBucket(ThrottleLimits(rate=50, burst=1), clock)
    for _ in range(500):
        assert bucket.try_acquire()
        clock.now += 1 / 49


def test_zero_burst_admits_nothing() -> None:
    bucket = TokenBucket(ThrottleLimits(rate=100, burst=0), FakeClock())
    assert not bucket.try_acquire()


@pytest.mark.parametrize(("rate", "burst"), [(-1, 5), (5, -1)])
def test_negative_limits_are_rejected(rate: float, burst: int) -> None:
    with pytest.raises(ValueError, match="must be >= 0"):
        ThrottleLimits(rate=rate, burst=burst)


def test_throttler_keeps_one_bucket_per_key() -> None:
    clock = FakeClock()
    throttler = Throttler(clock)
    limits = ThrottleLimits(rate=1, burst=2)
    assert [throttler.admit("GET /a", limits) for _ in range(3)] == [True, True, False]
    assert throttler.admit("GET /b", limits)  # another method has its own bucket
    assert throttler.bucket("GET /a", limits) is throttler.bucket("GET /a", limits)


def test_the_429_answer_is_api_gateways() -> None:
    assert THROTTLED_STATUS == 429
    assert THROTTLED_BODY == b'{"message":"Too Many Requests"}'
