"""The venue's state: a matching engine driven by the stored market and a replay clock.

:class:`ReplayClock` maps wall time to venue time (``start + elapsed * speed``) and can be
stepped by hand (``advance``), so tests drive it deterministically with ``speed=0``.
:class:`Venue` holds the engine, the data and one lock; :meth:`Venue.sync` feeds the engine
every bar close and funding event between the last sync and the clock's now, in time order.
Bars before the start are history (served by klines) and are never replayed into the engine.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.sim import ClientIdRule, FeeModel, MarketData, MatchingEngine


def wall_ms() -> int:
    """Return the real wall clock in ms since the epoch (the default server clock)."""
    return time.time_ns() // 1_000_000


class ReplayClock:
    """Venue time in ms: ``start_ms + (wall elapsed) * speed + manual steps``."""

    def __init__(
        self, start_ms: int, speed: float = 1.0, wall: Callable[[], float] = time.monotonic
    ) -> None:
        if not 0.0 <= speed < float("inf"):  # also refuses NaN
            raise ConfigError(f"venue speed must be a finite number >= 0, not {speed}")
        self.start_ms = int(start_ms)
        self.speed = float(speed)
        self._wall = wall
        self._wall0 = wall()
        self._offset_ms = 0
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """Return the venue time."""
        with self._lock:
            elapsed = (self._wall() - self._wall0) * self.speed * 1000.0
            return self.start_ms + int(elapsed) + self._offset_ms

    def advance(self, ms: int) -> int:
        """Move venue time forward by ``ms`` (never backward); return the new time."""
        with self._lock:
            self._offset_ms += max(int(ms), 0)
        return self.now_ms()

    def set_to(self, ts_ms: int) -> int:
        """Move venue time forward to ``ts_ms`` (earlier times are ignored)."""
        return self.advance(ts_ms - self.now_ms())


class Venue:
    """The market and the trader's account behind the HTTP server; one lock guards both."""

    def __init__(
        self,
        data: MarketData,
        clock: ReplayClock,
        *,
        fees: FeeModel | None = None,
        initial_balance: float = 10_000.0,
        default_leverage: int = 20,
        time_source: str = "wall",
        engine: MatchingEngine | None = None,
        client_id_rule: ClientIdRule = "open",
        wall: Callable[[], int] = wall_ms,
        half_spread_ticks: int = 1,
    ) -> None:
        if time_source not in ("wall", "venue"):
            raise ConfigError(f"time source must be 'wall' or 'venue', not {time_source!r}")
        if not 1 <= half_spread_ticks <= 1000:
            raise ConfigError(f"venue half spread must be 1..1000 ticks, not {half_spread_ticks}")
        # the synthetic book: best bid and ask this many ticks from the last price
        self.half_spread_ticks = half_spread_ticks
        self.data = data
        self.clock = clock
        self.time_source = time_source
        self.wall = wall
        if engine is not None and set(engine.markets) != set(data.specs):
            raise CorruptStateError("the saved venue state was written for other symbols")
        self.engine = engine or MatchingEngine(
            data.specs,
            fees or FeeModel(),
            initial_balance,
            default_leverage,
            client_id_rule=client_id_rule,
        )
        self.engine.client_id_rule = client_id_rule
        self.lock = threading.RLock()
        now = clock.now_ms()
        self._next_bar = {s: c.closed_count(now, data.bar_ms) for s, c in data.trade.items()}
        self._next_funding = {s: f.settled_count(now) for s, f in data.funding.items()}
        self._synced = now
        for s in data.symbols:
            self._refresh_price(s, now)

    def now(self) -> int:
        """Return the venue (replay) time after bringing the engine up to it."""
        return self.sync()

    def server_time(self) -> int:
        """Return the time ``/fapi/v1/time`` reports and signatures are checked against.

        ``wall``: the real clock (the default; works at any replay speed; tests inject a
        steppable one as ``wall``). ``venue``: the replay clock, for clients that sync to the
        venue at speed 1.
        """
        if self.time_source == "venue":
            return self.sync()
        return int(self.wall())

    def sync(self) -> int:
        """Feed the engine everything that happened up to the clock's now; return now."""
        with self.lock:
            now = self.clock.now_ms()
            if now <= self._synced:
                return self._synced
            for _, _, symbol, kind, idx in sorted(self._events(now)):
                if kind == 0:
                    self._close_bar(symbol, idx)
                else:
                    self._settle(symbol, idx)
            for s in self.data.symbols:
                self._refresh_price(s, now)
            self._synced = now
            return now

    def _events(self, now: int) -> list[tuple[int, int, str, int, int]]:
        """Return (time, kind order, symbol, kind, index) of bar closes and fundings to play."""
        bar_ms = self.data.bar_ms
        events: list[tuple[int, int, str, int, int]] = []
        for s, candles in self.data.trade.items():
            stop = candles.closed_count(now, bar_ms)
            for i in range(self._next_bar[s], stop):
                events.append((int(candles.ts[i]) + bar_ms, 0, s, 0, i))
            self._next_bar[s] = max(self._next_bar[s], stop)
        for s, series in self.data.funding.items():
            stop = series.settled_count(now)
            for k in range(self._next_funding[s], stop):
                events.append((int(series.ts[k]), 1, s, 1, k))
            self._next_funding[s] = max(self._next_funding[s], stop)
        return events

    def _close_bar(self, symbol: str, i: int) -> None:
        candles = self.data.trade[symbol]
        close_ts = int(candles.ts[i]) + self.data.bar_ms
        bar = candles.bar(i, mark=self.data.mark_close(symbol, i))
        self.engine.on_bar(symbol, bar, ts=close_ts)

    def _settle(self, symbol: str, k: int) -> None:
        series = self.data.funding[symbol]
        ts = int(series.ts[k])
        _, mark, _ = self.data.price_at(symbol, ts)
        self.engine.settle_funding(symbol, float(series.rate[k]), mark, ts=ts)

    def _refresh_price(self, symbol: str, now: int) -> None:
        if now < int(self.data.trade[symbol].ts[0]):
            return  # not listed yet: no price (its first open would leak from the future)
        last, mark, qv = self.data.price_at(symbol, now)
        self.engine.update_price(symbol, last=last, mark=mark, quote_volume=qv, ts=now)
