"""Clock sync against the venue: measure the offset, correct signed requests, refuse drift.

The offset is ``server - local`` measured at the midpoint of a ``fetch_time`` round trip.
Signed requests use the corrected time (the adapter hands the offset to ccxt); trading is
refused while the local clock is off by more than ``max_drift_ms``, because bar closes are
judged by the local clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from xsmom.errors import ClockDriftError, ConfigError


def wall_ms() -> int:
    """Return the local wall clock in ms since the epoch."""
    return time.time_ns() // 1_000_000


@dataclass(frozen=True, kw_only=True)
class ClockSample:
    """One measurement: the offset (server - local) and the round trip it came from."""

    offset_ms: int
    rtt_ms: int
    local_ms: int


class ClockSync:
    """Track the offset between the local clock and a venue's clock."""

    def __init__(
        self,
        fetch_server_ms: Callable[[], int],
        *,
        max_drift_ms: int = 1_000,
        resync_every_ms: int = 600_000,
        local_ms: Callable[[], int] = wall_ms,
    ) -> None:
        if max_drift_ms <= 0 or resync_every_ms <= 0:
            raise ConfigError("clock max_drift_ms and resync_every_ms must be > 0")
        self._fetch = fetch_server_ms
        self._local = local_ms
        self.max_drift_ms = max_drift_ms
        self.resync_every_ms = resync_every_ms
        self.last: ClockSample | None = None

    def measure(self) -> ClockSample:
        """Measure the offset now and remember it."""
        t0 = self._local()
        server = int(self._fetch())
        t1 = self._local()
        sample = ClockSample(offset_ms=server - (t0 + t1) // 2, rtt_ms=t1 - t0, local_ms=t1)
        self.last = sample
        return sample

    @property
    def offset_ms(self) -> int:
        """Return the last measured offset (0 before the first measurement)."""
        return 0 if self.last is None else self.last.offset_ms

    def server_ms(self) -> int:
        """Return the venue's time as estimated from the local clock and the offset."""
        return self._local() + self.offset_ms

    def ensure_synced(self) -> ClockSample:
        """Measure when never measured or stale; raise ClockDriftError beyond the bound."""
        last = self.last
        if last is None or self._local() - last.local_ms >= self.resync_every_ms:
            last = self.measure()
        if abs(last.offset_ms) > self.max_drift_ms:
            raise ClockDriftError(
                f"local clock is {last.offset_ms} ms off the venue's (bound "
                f"{self.max_drift_ms} ms); refusing to trade until the host clock is fixed"
            )
        return last
