"""Retries with exponential backoff and jitter, for `RetryableError` only.

The delay before retry ``n`` (0-based) is ``min(max_delay, base_delay * multiplier**n)``
scaled by a random factor in ``[1 - jitter, 1]``. A venue's Retry-After, carried by the
error of the answer that sent it (never by a later error), is a floor up to
``max_retry_after`` seconds; a longer wait is not slept: the call fails at once with
`VenueBackoffError` (its ``retry_after`` says how long), which the adapter and the breaker
turn into a hold. Sleep and randomness are injectable so tests run without waiting.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from xsmom.errors import ConfigError, RetryableError, VenueBackoffError

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
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigError("retry max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0 or self.multiplier < 1:
            raise ConfigError("retry delays must be >= 0 and multiplier >= 1")
        if not 0.0 <= self.jitter <= 1.0:
            raise ConfigError("retry jitter must be in [0, 1]")
        if self.max_retry_after < 0:
            raise ConfigError("retry max_retry_after must be >= 0")

    def too_long(self, retry_after: float | None) -> bool:
        """Return True when ``retry_after`` is beyond what this policy sleeps."""
        return retry_after is not None and retry_after > self.max_retry_after

    def delay(self, retry_index: int, rng: random.Random, retry_after: float | None) -> float:
        """Return the seconds to wait before retry ``retry_index`` (0-based)."""
        raw = min(self.max_delay, self.base_delay * self.multiplier**retry_index)
        delay = raw * (1.0 - self.jitter * rng.random())
        if retry_after is not None:
            delay = max(delay, min(retry_after, self.max_retry_after))
        return delay


def backoff_error(what: str, err: RetryableError, cap: float) -> VenueBackoffError:
    """Return the error that replaces a sleep of ``err.retry_after`` beyond ``cap``."""
    wait = err.retry_after or 0.0
    return VenueBackoffError(
        f"{what}: the venue asked to wait {wait:.0f} s (Retry-After), beyond the "
        f"{cap:.0f} s retry cap; holding instead of sleeping ({err})",
        retry_after=wait,
    )


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

    def backoff(self, retry_index: int, err: RetryableError, what: str = "call") -> float:
        """Sleep the backoff delay for ``retry_index`` and return it.

        Raise `VenueBackoffError` instead when the venue asked for more than the cap.
        """
        if self.policy.too_long(err.retry_after):
            raise backoff_error(what, err, self.policy.max_retry_after) from None
        delay = self.policy.delay(retry_index, self._rng, err.retry_after)
        self._sleep(delay)
        return delay

    def call(
        self, fn: Callable[[], T], *, what: str = "call", on_retry: OnRetry | None = None
    ) -> T:
        """Return ``fn()``, retrying `RetryableError` up to the policy's attempts.

        Any other error propagates at once; the last retryable error propagates when the
        attempts are used up; a Retry-After beyond the cap raises `VenueBackoffError` at
        once. ``on_retry(attempt, error, delay)`` runs before each retry.
        """
        attempt = 0
        while True:
            try:
                return fn()
            except VenueBackoffError:
                raise
            except RetryableError as err:
                if self.policy.too_long(err.retry_after):
                    raise backoff_error(what, err, self.policy.max_retry_after) from None
                attempt += 1
                if attempt >= self.policy.max_attempts:
                    raise
                delay = self.policy.delay(attempt - 1, self._rng, err.retry_after)
                log.warning("%s failed (%s); retry %d in %.2fs", what, err, attempt, delay)
                if on_retry is not None:
                    on_retry(attempt, err, delay)
                self._sleep(delay)


class VenueHold:
    """No request while a venue's long Retry-After runs (a 418 ban, a long 429).

    A wait beyond the policy's cap starts the hold; every request before it ends fails
    locally with `VenueBackoffError` (nothing is sent, so a ban is not extended).
    """

    def __init__(self, policy: RetryPolicy, clock_ms: Callable[[], int]) -> None:
        self.policy = policy
        self._clock = clock_ms
        self.until_ms = 0

    def hold_if_asked(self, name: str, err: RetryableError) -> None:
        """Start (or extend) the hold when ``err`` asks for more than the cap."""
        if err.retry_after is None or not self.policy.too_long(err.retry_after):
            return
        until = self._clock() + int(err.retry_after * 1000)
        if until > self.until_ms:
            self.until_ms = until
            log.error("%s: venue asked to wait %.0f s; holding", name, err.retry_after)

    def check(self, name: str) -> None:
        """Raise `VenueBackoffError` while the hold runs."""
        left_ms = self.until_ms - self._clock()
        if left_ms > 0:
            raise VenueBackoffError(
                f"{name} not sent: the venue asked to wait, {left_ms / 1000:.0f} s left",
                retry_after=left_ms / 1000,
            )
