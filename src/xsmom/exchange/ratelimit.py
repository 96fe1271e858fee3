"""A token-bucket rate limiter with an injected clock.

``rate`` tokens per second refill a bucket of ``burst`` tokens; each call takes ``cost``
tokens and waits until they are there, so the adapter never exceeds the configured rate
whatever ccxt's own limiter does. Time comes from a `Clock` (its monotonic clock and its
sleep; the system clock by default) or from a seconds callable plus ``sleep``; with a
`FakeClock` a test never waits.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from xsmom.errors import ConfigError
from xsmom.exchange.clock import SYSTEM_CLOCK, Clock


class TokenBucket:
    """Block until a call may proceed under ``rate`` per second with bursts of ``burst``."""

    def __init__(
        self,
        rate: float,
        burst: float | None = None,
        *,
        clock: Clock | Callable[[], float] = SYSTEM_CLOCK,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if rate <= 0:
            raise ConfigError(f"rate limit must be > 0 calls/s, got {rate}")
        self.rate = float(rate)
        self.burst = float(burst if burst is not None else max(rate, 1.0))
        if self.burst < 1:
            raise ConfigError("rate limit burst must be >= 1")
        if callable(clock):
            self._clock: Callable[[], float] = clock
            self._sleep = sleep or time.sleep
        else:
            source = clock
            self._clock = lambda: source.monotonic_ms() / 1000.0
            self._sleep = sleep or source.sleep
        self._tokens = self.burst
        self._last = self._clock()
        self._lock = threading.Lock()
        self.waited = 0.0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._last) * self.rate)
        self._last = now

    def acquire(self, cost: float = 1.0) -> float:
        """Take ``cost`` tokens, sleeping until available; return the seconds waited."""
        if cost > self.burst:
            raise ConfigError(f"call cost {cost} exceeds the bucket size {self.burst}")
        waited = 0.0
        with self._lock:
            while True:
                self._refill()
                if self._tokens >= cost - 1e-9:  # float residue must not spin the loop
                    self._tokens -= cost
                    self.waited += waited
                    return waited
                wait = (cost - self._tokens) / self.rate
                self._sleep(wait)
                waited += wait
