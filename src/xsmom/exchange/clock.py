"""Clocks, and clock sync against the venue: measure the offset, correct signed requests,
refuse drift only when it is measured reliably.

One measurement takes ``samples`` round trips to the venue's time (default 5). Each gives
``offset = server - (t0 + t1) / 2`` with an error bound of ``rtt / 2`` (the venue read its
clock somewhere between our t0 and t1); the lowest-round-trip sample wins, NTP-style. The
host clock is refused (`ClockDriftError`) only when even the most favourable reading of
the best sample is too far off: ``|offset| - bound > max_drift_ms``. A slow answer has a
wide bound, so it cannot stop trading on its own; a sample whose round trip exceeds
``max_rtt_ms`` does not replace a better earlier offset. A refusal is measured again at
the next check, never cached.

`Clock` is the time source of the rate limiter and the breaker: `SystemClock` reads the
monotonic and wall clocks, `FakeClock` moves only when told (or slept on), so tests with it
are deterministic and never wait.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from xsmom.errors import ClockDriftError, ConfigError, RetryableError

log = logging.getLogger(__name__)


def wall_ms() -> int:
    """Return the local wall clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


class Clock(Protocol):
    """A time source: monotonic ms for durations, wall ms for timestamps, and a sleep."""

    def monotonic_ms(self) -> int:
        """Return a clock that never goes backward (ms, arbitrary origin)."""
        ...

    def wall_ms(self) -> int:
        """Return the wall clock in ms since the epoch."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds``."""
        ...


class SystemClock:
    """The real clocks of the host."""

    def monotonic_ms(self) -> int:
        """Return `time.monotonic_ns` in ms."""
        return time.monotonic_ns() // 1_000_000

    def wall_ms(self) -> int:
        """Return the wall clock in ms."""
        return wall_ms()

    def sleep(self, seconds: float) -> None:
        """Sleep for real."""
        time.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class FakeClock:
    """A clock that moves only by `advance` or `sleep` (which advances instead of waiting)."""

    def __init__(self, start_ms: int = 1_700_000_000_000) -> None:
        self._wall = int(start_ms)
        self._mono = 0
        self.slept: list[float] = []

    def monotonic_ms(self) -> int:
        """Return the fake monotonic time."""
        return self._mono

    def wall_ms(self) -> int:
        """Return the fake wall time."""
        return self._wall

    def advance(self, ms: int) -> None:
        """Move both clocks forward by ``ms``."""
        self._mono += int(ms)
        self._wall += int(ms)

    def sleep(self, seconds: float) -> None:
        """Record the sleep and advance by it."""
        self.slept.append(seconds)
        self.advance(round(seconds * 1000))


@dataclass(frozen=True, kw_only=True)
class ClockSample:
    """One measurement: the offset (server - local), its error bound and where it came from."""

    offset_ms: int
    rtt_ms: int
    local_ms: int
    error_ms: int = 0
    samples: int = 1
    good: bool = True

    def drift_beyond(self, max_drift_ms: int) -> bool:
        """Return True when the offset is beyond ``max_drift_ms`` even at its error bound."""
        return abs(self.offset_ms) - self.error_ms > max_drift_ms


class ClockSync:
    """Track the offset between the local clock and a venue's clock."""

    def __init__(
        self,
        fetch_server_ms: Callable[[], int],
        *,
        max_drift_ms: int = 1_000,
        resync_every_ms: int = 600_000,
        local_ms: Callable[[], int] = wall_ms,
        samples: int = 5,
        max_rtt_ms: int = 1_000,
    ) -> None:
        if max_drift_ms <= 0 or resync_every_ms <= 0 or max_rtt_ms <= 0:
            raise ConfigError("clock max_drift_ms, resync_every_ms, max_rtt_ms must be > 0")
        if samples < 1:
            raise ConfigError("clock samples must be >= 1")
        self._fetch = fetch_server_ms
        self._local = local_ms
        self.max_drift_ms = max_drift_ms
        self.resync_every_ms = resync_every_ms
        self.samples = samples
        self.max_rtt_ms = max_rtt_ms
        self.last: ClockSample | None = None

    def _one(self) -> ClockSample:
        t0 = self._local()
        server = int(self._fetch())
        t1 = self._local()
        rtt = max(t1 - t0, 0)
        return ClockSample(
            offset_ms=server - (t0 + t1) // 2,
            rtt_ms=rtt,
            local_ms=t1,
            error_ms=(rtt + 1) // 2,
            good=rtt <= self.max_rtt_ms,
        )

    def _collect(self) -> list[ClockSample]:
        taken: list[ClockSample] = []
        failure: RetryableError | None = None
        for _ in range(self.samples):
            try:
                taken.append(self._one())
            except RetryableError as err:  # a lost sample: the others may still do
                failure = err
        if not taken:
            assert failure is not None
            raise failure
        return taken

    def measure(self) -> ClockSample:
        """Measure the offset now from the lowest-round-trip sample and remember it.

        A sample whose round trip exceeds ``max_rtt_ms`` does not replace an earlier good
        one (the earlier offset is kept and returned); it is used only when there is none.
        """
        taken = self._collect()
        best = min(taken, key=lambda s: s.rtt_ms)
        sample = ClockSample(
            offset_ms=best.offset_ms,
            rtt_ms=best.rtt_ms,
            local_ms=taken[-1].local_ms,
            error_ms=best.error_ms,
            samples=len(taken),
            good=best.good,
        )
        if not sample.good:
            log.warning(
                "clock: best of %d round trips took %d ms (> %d ms); offset %+d ms +- %d ms",
                len(taken),
                sample.rtt_ms,
                self.max_rtt_ms,
                sample.offset_ms,
                sample.error_ms,
            )
            if self.last is not None and self.last.good:
                return self.last
        self.last = sample
        return sample

    @property
    def offset_ms(self) -> int:
        """Return the last measured offset (0 before the first measurement)."""
        return 0 if self.last is None else self.last.offset_ms

    def server_ms(self) -> int:
        """Return the venue's time as estimated from the local clock and the offset."""
        return self._local() + self.offset_ms

    def _stale(self, last: ClockSample | None) -> bool:
        if last is None or not last.good or last.drift_beyond(self.max_drift_ms):
            return True  # an uncertain or refusing verdict is never cached
        return self._local() - last.local_ms >= self.resync_every_ms

    def ensure_synced(self) -> ClockSample:
        """Measure when needed; raise ClockDriftError only on a reliably measured drift."""
        last = self.last
        if self._stale(last):
            last = self.measure()
        assert last is not None
        if last.drift_beyond(self.max_drift_ms):
            raise ClockDriftError(
                f"local clock is {last.offset_ms} ms (+- {last.error_ms} ms, best of "
                f"{last.samples} round trips) off the venue's (bound {self.max_drift_ms} ms); "
                "refusing to trade until the host clock is fixed"
            )
        return last
