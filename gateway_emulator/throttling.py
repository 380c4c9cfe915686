"""API Gateway-style token-bucket throttling, shared by the emulator and the self-hosted server.

API Gateway throttles with the token bucket algorithm: the bucket holds at most ``burst`` tokens,
refills at ``rate`` tokens per second, and each request takes one token; a request that finds the
bucket empty is answered ``429 Too Many Requests`` with the body ``{"message":"Too Many Requests"}``
(gateway response type THROTTLED). The bucket starts full, so a burst of ``burst`` requests is
admitted at once. See
https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-request-throttling.html
and https://docs.aws.amazon.com/apigateway/latest/developerguide/supported-gateway-response-types.html

This module imports only the standard library so that any server can reuse it cheaply.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# Exactly what API Gateway sends for the THROTTLED gateway response (status 429).
THROTTLED_STATUS = 429
THROTTLED_BODY = b'{"message":"Too Many Requests"}'

Clock = Callable[[], float]


@dataclass(frozen=True)
class ThrottleLimits:
    """A steady-state rate (requests per second) and a burst (bucket capacity, in requests)."""

    rate: float
    burst: int

    def __post_init__(self) -> None:
        if self.rate < 0:
            raise ValueError(f"throttling rate must be >= 0, got {self.rate}")
        if self.burst < 0:
            raise ValueError(f"throttling burst must be >= 0, got {self.burst}")


class TokenBucket:
    """A thread-safe token bucket; ``try_acquire()`` is O(1) and never blocks.

    ``clock`` is injectable (monotonic seconds) so tests can drive time deterministically.
    A burst of 0 admits nothing, like an API Gateway stage whose burst limit is 0.
    """

    __slots__ = ("_clock", "_lock", "_stamp", "_tokens", "burst", "rate")

    def __init__(self, limits: ThrottleLimits, clock: Clock = time.monotonic) -> None:
        self.rate = float(limits.rate)
        self.burst = float(limits.burst)
        self._clock = clock
        self._tokens = self.burst  # starts full: the first `burst` requests pass at once
        self._stamp = clock()
        self._lock = threading.Lock()

    def _refill(self, now: float) -> None:
        elapsed = now - self._stamp
        if elapsed > 0:
            self._tokens = min(self.burst, self._tokens + elapsed * self.rate)
            self._stamp = now

    def try_acquire(self, tokens: float = 1.0) -> bool:
        """Take ``tokens`` if available and answer True; otherwise take nothing and answer False."""
        with self._lock:
            self._refill(self._clock())
            if self._tokens >= tokens:
                self._tokens -= tokens
                return True
            return False

    def available(self) -> float:
        """Tokens in the bucket now (for logs and tests)."""
        with self._lock:
            self._refill(self._clock())
            return self._tokens


class Throttler:
    """A set of token buckets keyed by a string (a method key, an API key, ...), created lazily."""

    def __init__(self, clock: Clock = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}
        self._lock = threading.Lock()

    def bucket(self, key: str, limits: ThrottleLimits) -> TokenBucket:
        found = self._buckets.get(key)
        if found is None:
            with self._lock:
                found = self._buckets.get(key)
                if found is None:
                    found = TokenBucket(limits, self._clock)
                    self._buckets[key] = found
        return found

    def admit(self, key: str, limits: ThrottleLimits) -> bool:
        """True if the request keyed ``key`` may pass under ``limits``."""
        return self.bucket(key, limits).try_acquire()
