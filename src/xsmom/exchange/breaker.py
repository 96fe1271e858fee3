"""A circuit breaker over every exchange call: sliding failure rate, cool-down, probes.

States::

    CLOSED --(failures / calls > threshold, calls >= min_calls, in window)--> OPEN
    any --(hold(duration, reason): the venue asked to wait beyond the retry cap)--> OPEN
    OPEN --(cool-down elapsed, and the hold if any)--> HALF_OPEN
    HALF_OPEN --(probe_successes successes in a row)--> CLOSED
    HALF_OPEN --(any failure)--> OPEN (cool-down restarts)

Defaults: open when more than 10% of at least 20 calls in the last 5 minutes failed; 60 s
cool-down; 3 successful probes close it. Time comes from an injected `Clock` (monotonic
for the window, cool-down and holds; wall for event times), or a plain ms callable used for
both; the default is the system clock. Listeners
receive `BreakerOpened` / `BreakerClosed` events; a listener that raises is logged and
counted, never allowed to break the caller. Thread-safe.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from xsmom.errors import ConfigError
from xsmom.exchange.clock import SYSTEM_CLOCK, Clock

log = logging.getLogger(__name__)


class BreakerState(StrEnum):
    """Circuit-breaker state."""

    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


@dataclass(frozen=True, kw_only=True)
class BreakerConfig:
    """Thresholds of the breaker (times in ms)."""

    window_ms: int = 300_000
    failure_rate: float = 0.10
    min_calls: int = 20
    cooldown_ms: int = 60_000
    probe_successes: int = 3

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.cooldown_ms < 0:
            raise ConfigError("breaker window_ms must be > 0 and cooldown_ms >= 0")
        if not 0.0 <= self.failure_rate < 1.0:
            raise ConfigError("breaker failure_rate must be in [0, 1)")
        if self.min_calls < 1 or self.probe_successes < 1:
            raise ConfigError("breaker min_calls and probe_successes must be >= 1")


@dataclass(frozen=True, kw_only=True)
class BreakerOpened:
    """The breaker opened: trading moves to the configured restricted state."""

    ts_event: int
    ts_init: int
    calls: int
    failures: int
    failure_rate: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class BreakerClosed:
    """The breaker closed after successful probes: trading may resume."""

    ts_event: int
    ts_init: int
    open_ms: int


BreakerEvent = BreakerOpened | BreakerClosed
Listener = Callable[[BreakerEvent], None]


@dataclass(frozen=True, kw_only=True)
class BreakerStatus:
    """A snapshot for display."""

    state: BreakerState
    calls: int
    failures: int
    failure_rate: float
    opened_at: int | None
    probes_ok: int
    times_opened: int
    listener_errors: int
    held_until: int | None = None
    reason: str | None = None


class CircuitBreaker:
    """Count call outcomes in a sliding window and open on a high failure rate."""

    def __init__(
        self,
        config: BreakerConfig | None = None,
        *,
        clock: Clock | Callable[[], int] = SYSTEM_CLOCK,
        listeners: list[Listener] | None = None,
    ) -> None:
        self.config = config or BreakerConfig()
        if callable(clock):
            self._clock, self._wall = clock, clock
        else:
            self._clock, self._wall = clock.monotonic_ms, clock.wall_ms
        self._hold_until: int | None = None  # monotonic ms
        self._reason: str | None = None
        self._listeners: list[Listener] = list(listeners or [])
        self._window: deque[tuple[int, bool]] = deque()
        self._failures = 0
        self._state = BreakerState.CLOSED
        self._opened_at: int | None = None
        self._probes_ok = 0
        self.times_opened = 0
        self.listener_errors = 0
        self._lock = threading.RLock()  # the live loop and a status display may share it

    def subscribe(self, listener: Listener) -> None:
        """Call ``listener`` with every BreakerOpened / BreakerClosed event."""
        self._listeners.append(listener)

    @property
    def state(self) -> BreakerState:
        """Return the state now (OPEN turns HALF_OPEN once the cool-down has passed)."""
        with self._lock:
            return self._current()

    def _current(self) -> BreakerState:
        now = self._clock()
        if (
            self._state is BreakerState.OPEN
            and self._opened_at is not None
            and now - self._opened_at >= self.config.cooldown_ms
            and (self._hold_until is None or now >= self._hold_until)
        ):
            self._state = BreakerState.HALF_OPEN
            self._probes_ok = 0
            self._hold_until = None
        return self._state

    def hold(self, duration_ms: int, reason: str) -> None:
        """Open now and stay OPEN at least ``duration_ms`` (e.g. a venue's long Retry-After)."""
        with self._lock:
            now = self._clock()
            until = now + max(int(duration_ms), 0)
            self._hold_until = max(until, self._hold_until or until)
            if self._current() is not BreakerState.OPEN:
                self._open(now, reason)
            else:
                self._reason = reason
                log.error("circuit breaker held: %s", reason)

    def _trim(self, now: int) -> None:
        horizon = now - self.config.window_ms
        while self._window and self._window[0][0] <= horizon:
            _, ok = self._window.popleft()
            if not ok:
                self._failures -= 1

    def record(self, ok: bool) -> None:
        """Count one call outcome and move the state accordingly."""
        with self._lock:
            self._record(ok)

    def _record(self, ok: bool) -> None:
        now = self._clock()
        state = self._current()
        self._window.append((now, ok))
        if not ok:
            self._failures += 1
        self._trim(now)
        if state is BreakerState.HALF_OPEN:
            self._on_probe(ok, now)
        elif state is BreakerState.CLOSED:
            calls = len(self._window)
            if calls >= self.config.min_calls and self._failures / calls > self.config.failure_rate:
                self._open(now, f"{self._failures}/{calls} calls failed in the window")

    def _on_probe(self, ok: bool, now: int) -> None:
        if not ok:
            self._open(now, "a half-open probe failed")
            return
        self._probes_ok += 1
        if self._probes_ok >= self.config.probe_successes:
            self._close(now)

    def _open(self, now: int, reason: str) -> None:
        calls, failures = len(self._window), self._failures
        self._state, self._opened_at, self._reason = BreakerState.OPEN, now, reason
        self.times_opened += 1
        rate = failures / calls if calls else 0.0
        log.error("circuit breaker opened: %s", reason)
        self._emit(
            BreakerOpened(
                ts_event=self._wall(),
                ts_init=self._wall(),
                calls=calls,
                failures=failures,
                failure_rate=rate,
                reason=reason,
            )
        )

    def _close(self, now: int) -> None:
        opened = self._opened_at if self._opened_at is not None else now
        self._state, self._opened_at, self._probes_ok = BreakerState.CLOSED, None, 0
        self._hold_until = self._reason = None
        # a fresh window: the failures that opened the breaker are history now
        self._window.clear()
        self._failures = 0
        log.warning("circuit breaker closed after %d ms", now - opened)
        wall = self._wall()
        self._emit(BreakerClosed(ts_event=wall, ts_init=wall, open_ms=now - opened))

    def _emit(self, event: BreakerEvent) -> None:
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # boundary: an alert sink must never break trading
                self.listener_errors += 1
                log.exception("breaker listener failed on %s", type(event).__name__)

    def status(self) -> BreakerStatus:
        """Return a snapshot of the state and the window's counts."""
        with self._lock:
            return self._status()

    def _status(self) -> BreakerStatus:
        state = self._current()
        now = self._clock()
        self._trim(now)
        calls = len(self._window)
        to_wall = self._wall() - now  # status times are wall times
        return BreakerStatus(
            state=state,
            calls=calls,
            failures=self._failures,
            failure_rate=self._failures / calls if calls else 0.0,
            opened_at=None if self._opened_at is None else self._opened_at + to_wall,
            probes_ok=self._probes_ok,
            times_opened=self.times_opened,
            listener_errors=self.listener_errors,
            held_until=None if self._hold_until is None else self._hold_until + to_wall,
            reason=self._reason if state is not BreakerState.CLOSED else None,
        )
