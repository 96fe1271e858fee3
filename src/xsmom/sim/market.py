"""Stored market data served by the venue: trade candles, mark candles and funding events.

Read once from a :class:`xsmom.data.ParquetStore` into numpy arrays. Every query takes the venue
time ``now`` (ms) and only answers with what was known then: closed bars, plus the bar that is
forming, shown as Binance shows one but without its future (open = high = low = close = its
open price, volume 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from xsmom.data.store import ParquetStore
from xsmom.data.symbols import to_venue_id
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import DataError
from xsmom.sim.types import Bar, MarketSpec

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class Candles:
    """One symbol's candles as arrays (timestamps are bar open times)."""

    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64

    def closed_count(self, now: int, bar_ms: int) -> int:
        """Return how many bars have closed at ``now``."""
        return int(np.searchsorted(self.ts, now - bar_ms, side="right"))

    def ref_quote_volume(self, n: int) -> float:
        """Return the quote volume of the last bar with volume among the first ``n`` (0: none).

        The impact reference of a fill (:mod:`xsmom.backtest.costs`): a bar that traded
        nothing is skipped, as the backtest and the paper adapter skip it.
        """
        for i in range(n - 1, -1, -1):
            qv = float(self.volume[i] * self.close[i])
            if math.isfinite(qv) and qv > 0.0:
                return qv
        return 0.0

    def bar(self, i: int, mark: float | None = None) -> Bar:
        """Return bar ``i`` as an engine :class:`Bar`."""
        return Bar(
            ts=int(self.ts[i]),
            open=float(self.open[i]),
            high=float(self.high[i]),
            low=float(self.low[i]),
            close=float(self.close[i]),
            volume=float(self.volume[i]),
            mark=mark,
        )


@dataclass(frozen=True, eq=False)
class FundingSeries:
    """One symbol's funding events."""

    ts: I64
    rate: F64

    def settled_count(self, now: int) -> int:
        """Return how many events happened at or before ``now``."""
        return int(np.searchsorted(self.ts, now, side="right"))


def _candles(store: ParquetStore, kind: Kind, symbol: str, timeframe: str) -> Candles | None:
    if not store.exists(kind, symbol, timeframe):
        return None
    df = store.read(kind, symbol, timeframe)
    return Candles(
        ts=df["timestamp"].to_numpy(np.int64),
        open=df["open"].to_numpy(np.float64),
        high=df["high"].to_numpy(np.float64),
        low=df["low"].to_numpy(np.float64),
        close=df["close"].to_numpy(np.float64),
        volume=df["volume"].to_numpy(np.float64),
    )


def price_decimals(prices: F64, max_decimals: int = 8) -> int:
    """Return the fewest decimals that write every price exactly (the data's own tick)."""
    sample = prices[-2000:]
    for d in range(max_decimals + 1):
        scaled = sample * 10.0**d
        if np.all(np.abs(scaled - np.round(scaled)) < 1e-6 * np.maximum(1.0, np.abs(scaled))):
            return d
    return max_decimals


def derive_spec(symbol: str, typical_price: float, decimals: int) -> MarketSpec:
    """Return Binance-like filters: the data's price tick, a step near 5 USDT, 5 USDT min."""
    step = 10.0 ** min(math.floor(math.log10(5.0 / typical_price)) if typical_price > 0 else 0, 0)
    return MarketSpec(
        symbol=symbol,
        venue_id=to_venue_id(symbol),
        price_tick=float(f"{10.0**-decimals:.10g}"),
        qty_step=float(f"{step:.10g}"),
        min_qty=float(f"{step:.10g}"),
        min_notional=5.0,
        max_leverage=20,
        maintenance_margin_rate=0.005,
    )


class MarketData:
    """Candles, mark candles and funding of every stored symbol of one timeframe."""

    def __init__(
        self, store: ParquetStore, timeframe: str = "1h", symbols: list[str] | None = None
    ) -> None:
        self.store = store
        self.timeframe = timeframe
        self.bar_ms = timeframe_ms(timeframe)
        chosen = symbols or store.symbols(Kind.OHLCV, timeframe)
        if not chosen:
            raise DataError(f"no {timeframe} candles in {store.root}")
        self.trade: dict[str, Candles] = {}
        self.mark: dict[str, Candles] = {}
        self.funding: dict[str, FundingSeries] = {}
        for sym in chosen:
            trade = _candles(store, Kind.OHLCV, sym, timeframe)
            if trade is None or trade.ts.size == 0:
                raise DataError(f"no {timeframe} candles for {sym} in {store.root}")
            self.trade[sym] = trade
            mark = _candles(store, Kind.MARK, sym, timeframe)
            if mark is not None:
                self.mark[sym] = mark
            if store.exists(Kind.FUNDING, sym):
                f = store.read(Kind.FUNDING, sym)
                self.funding[sym] = FundingSeries(
                    ts=f["timestamp"].to_numpy(np.int64), rate=f["rate"].to_numpy(np.float64)
                )
        self.symbols = sorted(self.trade)
        self.by_venue_id = {to_venue_id(s): s for s in self.symbols}
        self._other_tf: dict[tuple[str, str, str], Candles | None] = {}

    @cached_property
    def specs(self) -> dict[str, MarketSpec]:
        """Return each symbol's filters, derived from its prices (stable for a store)."""
        return {
            s: derive_spec(
                s,
                float(np.median(c.close)),
                price_decimals(
                    np.concatenate([c.open[-500:], c.high[-500:], c.low[-500:], c.close[-500:]])
                ),
            )
            for s, c in self.trade.items()
        }

    @property
    def first_ts(self) -> int:
        """Return the earliest bar time of any symbol."""
        return min(int(c.ts[0]) for c in self.trade.values())

    @property
    def last_ts(self) -> int:
        """Return the latest bar time of any symbol."""
        return max(int(c.ts[-1]) for c in self.trade.values())

    def candles(self, symbol: str, kind: Kind, timeframe: str) -> Candles | None:
        """Return candles of ``kind`` in ``timeframe`` (other timeframes load on demand)."""
        if timeframe == self.timeframe:
            return (self.trade if kind is Kind.OHLCV else self.mark).get(symbol)
        key = (symbol, kind.value, timeframe)
        if key not in self._other_tf:
            self._other_tf[key] = _candles(self.store, kind, symbol, timeframe)
        return self._other_tf[key]

    def mark_close(self, symbol: str, i: int) -> float:
        """Return the mark price at the close of trade bar ``i`` (the trade close if unknown)."""
        trade = self.trade[symbol]
        mark = self.mark.get(symbol)
        if mark is not None:
            j = int(np.searchsorted(mark.ts, trade.ts[i], side="left"))
            if j < mark.ts.size and mark.ts[j] == trade.ts[i]:
                return float(mark.close[j])
        return float(trade.close[i])

    def price_at(self, symbol: str, now: int) -> tuple[float, float, float]:
        """Return (last price, mark price, reference quote volume: see Candles) at ``now``."""
        trade = self.trade[symbol]
        n = trade.closed_count(now, self.bar_ms)
        qv = trade.ref_quote_volume(n)
        if n < trade.ts.size and trade.ts[n] <= now:
            last = float(trade.open[n])  # the forming bar: only its open is known
        else:
            last = float(trade.close[max(n - 1, 0)]) if n > 0 else float(trade.open[0])
        mark = self.mark_close(symbol, n - 1) if n > 0 else last
        return last, mark, qv

    def next_funding(self, symbol: str, now: int) -> tuple[int, float, float]:
        """Return (next funding time, its rate, the last settled rate); zeros if none stored."""
        series = self.funding.get(symbol)
        if series is None or series.ts.size == 0:
            return 0, 0.0, 0.0
        k = series.settled_count(now)
        last_rate = float(series.rate[k - 1]) if k > 0 else 0.0
        if k < series.ts.size:
            return int(series.ts[k] // 60_000 * 60_000), float(series.rate[k]), last_rate
        return 0, last_rate, last_rate
