"""`StoreMarketData`: the `MarketData` interface over stored bars, replayed at a clock.

For paper trading without a network and for tests: candles, mark prices and funding come
from a Parquet store (the bundled sample or ``/work/shared/data``-like folders); only what is
known at ``clock()`` is shown (closed bars; the forming bar only through its open as the last
price). Market filters are derived from the prices exactly as the simulated venue derives
them, so paper and venue agree on ticks and steps.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

import numpy as np

from xsmom.data.store import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import DataError, InvalidOrderError
from xsmom.exchange.reports import Candles, FundingEvent, MarketInfo, MarkPrice, Ticker
from xsmom.sim import MarketData as _StoreData


class ManualClock:
    """A clock (ms) that moves only when told to: for replays and tests."""

    def __init__(self, now: int) -> None:
        self.now = int(now)

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        """Move the clock forward by ``ms`` and return the new time."""
        self.now += int(ms)
        return self.now


class StoreMarketData:
    """Market data of a Parquet store as seen at ``clock()``."""

    def __init__(
        self,
        store: ParquetStore,
        clock: Callable[[], int],
        *,
        timeframe: str = "1h",
        symbols: list[str] | None = None,
    ) -> None:
        self._data = _StoreData(store, timeframe, symbols)
        self.clock = clock
        self.timeframe = timeframe
        self._markets = {
            s: MarketInfo(
                symbol=s,
                venue_id=spec.venue_id,
                price_tick=spec.price_tick,
                qty_step=spec.qty_step,
                min_qty=spec.min_qty,
                min_notional=spec.min_notional,
                contract_size=spec.contract_size,
                max_leverage=spec.max_leverage,
            )
            for s, spec in self._data.specs.items()
        }

    @property
    def name(self) -> str:
        """Return ``store``."""
        return "store"

    @property
    def first_ts(self) -> int:
        """Return the first bar time in the store."""
        return self._data.first_ts

    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the stored symbols with derived filters."""
        return self._markets

    def _check(self, symbol: str) -> None:
        if symbol not in self._markets:
            raise InvalidOrderError(f"no stored market {symbol!r}")

    def ticker(self, symbol: str) -> Ticker:
        """Return the last price known at the clock (no book: bid and ask are None)."""
        self._check(symbol)
        now = self.clock()
        last, mark, _ = self._data.price_at(symbol, now)
        return Ticker(symbol=symbol, last=last, bid=None, ask=None, mark=mark, ts=now)

    def tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Return tickers of ``symbols``."""
        return {s: self.ticker(s) for s in symbols}

    def quote_volume(self, symbol: str) -> float:
        """Return the quote volume of the last closed bar (the slippage reference)."""
        self._check(symbol)
        return self._data.price_at(symbol, self.clock())[2]

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        """Return closed candles at the clock, ccxt-style ``since``/``limit`` semantics."""
        self._check(symbol)
        c = self._data.candles(symbol, Kind.OHLCV, timeframe)
        if c is None:
            raise DataError(f"no {timeframe} candles for {symbol} in the store")
        hi = c.closed_count(self.clock(), timeframe_ms(timeframe))
        lo = 0 if since is None else int(np.searchsorted(c.ts, since, side="left"))
        if limit is not None:
            if since is None:
                lo = max(hi - limit, 0)
            else:
                hi = min(hi, lo + limit)
        lo = min(lo, hi)
        return Candles(
            symbol=symbol,
            timeframe=timeframe,
            timestamp=c.ts[lo:hi].copy(),
            open=c.open[lo:hi].copy(),
            high=c.high[lo:hi].copy(),
            low=c.low[lo:hi].copy(),
            close=c.close[lo:hi].copy(),
            volume=c.volume[lo:hi].copy(),
        )

    def funding_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingEvent]:
        """Return funding events settled by the clock."""
        self._check(symbol)
        series = self._data.funding.get(symbol)
        if series is None:
            return []
        hi = series.settled_count(self.clock())
        lo = 0 if since is None else int(np.searchsorted(series.ts, since, side="left"))
        if limit is not None:
            lo, hi = (max(hi - limit, 0), hi) if since is None else (lo, min(hi, lo + limit))
        return [
            FundingEvent(symbol=symbol, rate=float(series.rate[i]), ts=int(series.ts[i]))
            for i in range(lo, hi)
        ]

    def mark_price(self, symbol: str) -> MarkPrice:
        """Return the mark price at the clock and the next funding event's rate."""
        self._check(symbol)
        now = self.clock()
        _, mark, _ = self._data.price_at(symbol, now)
        nxt, rate, _ = self._data.next_funding(symbol, now)
        return MarkPrice(
            symbol=symbol,
            mark=mark,
            index=None,
            funding_rate=rate,
            next_funding_ts=nxt or None,
            ts=now,
        )

    def mark_prices(self, symbols: Sequence[str]) -> dict[str, MarkPrice]:
        """Return mark prices of ``symbols``."""
        return {s: self.mark_price(s) for s in symbols}
