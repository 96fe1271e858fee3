"""Retries with exponential backoff and jitter, for `RetryableError` only.

The delay before retry ``n`` (0-based) is ``min(max_delay, base_delay * multiplier**n)``
scaled by a random factor in ``[1 - jitter, 1]``; a venue's Retry-After is a floor. Sleep
and randomness are injectable so tests run without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from xsmom.errors import ConfigError, RetryableError

T = TypeVar("T")
log = logging.getLogger(__name__)

OnRetry = Callable[[int, RetryableError, float], None]


@dataclass(frozen=True, kw_only=True)
class RetryPolicy:
    """How often and how patiently to retry a retryable failure."""

    max_attempts: int = 5
    base_delay: float = 0.5
    multiplier: float = 2.0
    max_delay: float = 30.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("retry max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ConfigError("retry delays must be >= 0 and multiplier >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigError("retry jitter must be in [0, 1]")

    def delay(self, retry_index: int, rng: random.Random, retry_after: float | None) -> float:
        """Return the seconds to wait before retry ``retry_index`` (0-based)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier**retry_index)
        delay = raw * (1.0 - self.jitter * rng.random())
        if retry_after is not None:
            delay = max(delay, retry_after)
        return delay


class Retrier:
    """Run calls under a `RetryPolicy` with an injectable sleep and random source."""

    def __init__(
        self,
        policy: RetryPolicy | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self.policy = policy or RetryPolicy()
        self._sleep = sleep
        self._rng = rng or random.Random()

    def backoff(self, retry_index: int, err: RetryableError) -> float:
        """Sleep the backoff delay for ``retry_index`` and return it."""
        delay = self.policy.delay(retry_index, self._rng, err.retry_after)
        self._sleep(delay)
        return delay

    def call(
        self, fn: Callable[[], T], *, what: str = "call", on_retry: OnRetry | None = None
    ) -> T:
        """Return ``fn()``, retrying `RetryableError` up to the policy's attempts.

        Any other error propagates at once; the last retryable error propagates when the
        attempts are used up. ``on_retry(attempt, error, delay)`` runs before each retry.
        """
        attempt = 0
        while True:
            try:
                return fn()
            except RetryableError as err:
                attempt += 1
                if attempt >= self.policy.max_attempts:
                    raise
                delay = self.policy.delay(attempt - 1, self._rng, err.retry_after)
                log.warning("%s failed (%s); retry %d in %.2fs", what, err, attempt, delay)
                if on_retry is not None:
                    on_retry(attempt, err, delay)
                self._sleep(delay)
