"""A market panel: every symbol's bars aligned on one regular time grid, as float64 arrays."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import numpy.typing as npt

from xsmom.data.coverage import COVERED, NO_MARK, funding_coverage, mark_stretches
from xsmom.data.store import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import DataError

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class MarketPanel:
    """Aligned arrays of shape (bars, symbols); NaN where a symbol has no bar.

    ``funding_rate[t, i]`` is the sum of the funding rates of the events whose timestamp lies in
    bar ``t`` (0 where none); ``funding_event[t, i]`` marks those bars. Mark prices fall back to
    NaN where the store has no mark candle; users of the panel decide the fallback.

    ``funding_gaps[t, i]`` (int8, see :mod:`xsmom.data.coverage`) says whether bar ``t`` of a
    symbol is covered by funding data: 0 covered, 1 inside a stretch of missing funding
    events, 2 a funding event without a mark candle. ``load_panel`` fills it from the store;
    ``None`` (a panel built in memory) means its funding arrays are taken as complete.
    """

    symbols: tuple[str, ...]
    timeframe: str
    timestamps: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64
    mark_open: F64
    mark_close: F64
    funding_rate: F64
    funding_event: npt.NDArray[np.bool_]
    funding_gaps: npt.NDArray[np.int8] | None = None

    @cached_property
    def last_valid(self) -> I64:
        """Return each symbol's last bar with a close (-1 if none): where its data ends."""
        finite = np.isfinite(self.close)
        last = self.close.shape[0] - 1 - np.argmax(finite[::-1], axis=0)
        return np.where(finite.any(axis=0), last, -1).astype(np.int64)

    @cached_property
    def funding_bars(self) -> npt.NDArray[np.bool_]:
        """Return, per bar, whether any symbol has a funding event in it."""
        return np.asarray(self.funding_event.any(axis=1))

    @property
    def n_bars(self) -> int:
        """Return the number of bars on the grid."""
        return int(self.timestamps.size)

    @property
    def n_symbols(self) -> int:
        """Return the number of symbols."""
        return len(self.symbols)

    @property
    def bar_ms(self) -> int:
        """Return the bar length in ms."""
        return timeframe_ms(self.timeframe)

    def slice(self, start: int, stop: int) -> MarketPanel:
        """Return bars ``start:stop`` (positions on the grid) as a new panel."""
        sl = np.s_[start:stop]
        return replace(
            self,
            timestamps=self.timestamps[sl],
            open=self.open[sl],
            high=self.high[sl],
            low=self.low[sl],
            close=self.close[sl],
            volume=self.volume[sl],
            mark_open=self.mark_open[sl],
            mark_close=self.mark_close[sl],
            funding_rate=self.funding_rate[sl],
            funding_event=self.funding_event[sl],
            funding_gaps=None if self.funding_gaps is None else self.funding_gaps[sl],
        )

    def between(self, start_ms: int | None, end_ms: int | None) -> MarketPanel:
        """Return the bars with ``start_ms <= timestamp < end_ms``."""
        lo = 0 if start_ms is None else int(np.searchsorted(self.timestamps, start_ms, "left"))
        hi = (
            self.n_bars if end_ms is None else int(np.searchsorted(self.timestamps, end_ms, "left"))
        )
        return self.slice(lo, hi)


def _on_grid(grid: I64, ts: I64, bar_ms: int) -> tuple[I64, npt.NDArray[np.bool_]]:
    """Return the grid rows of ``ts`` and which of them lie on the grid."""
    pos = (ts - grid[0]) // bar_ms
    ok = (pos >= 0) & (pos < grid.size) & (grid[np.clip(pos, 0, grid.size - 1)] == ts)
    return pos[ok], ok


def _funding_into(
    store: ParquetStore,
    sym: str,
    grid: I64,
    bar_ms: int,
    out: tuple[F64, npt.NDArray[np.bool_]],
    j: int,
) -> I64:
    """Place ``sym``'s funding events on the grid; return their timestamps."""
    f_rate, f_event = out
    if not store.exists(Kind.FUNDING, sym):
        return np.zeros(0, dtype=np.int64)
    fd = store.read_columns(Kind.FUNDING, sym)
    fts = fd["timestamp"].astype(np.int64, copy=False)
    pos = (fts - grid[0]) // bar_ms
    ok = (pos >= 0) & (pos < grid.size)
    np.add.at(f_rate[:, j], pos[ok], fd["rate"].astype(np.float64, copy=False)[ok])
    f_event[pos[ok], j] = True
    return fts


def _mark_gaps_into(
    panel_cols: tuple[F64, npt.NDArray[np.bool_]], span: tuple[int, int], grid: I64, bar_ms: int
) -> npt.NDArray[np.bool_]:
    """Return the bars of one symbol with a funding event but no mark open, inside its span."""
    mark_open, event = panel_cols
    lo = (span[0] - int(grid[0])) // bar_ms
    hi = (span[1] - int(grid[0])) // bar_ms + 1
    inside = np.zeros(grid.size, dtype=bool)
    inside[lo:hi] = True
    return np.asarray(event & ~np.isfinite(mark_open) & inside)


def load_panel(
    store: ParquetStore,
    timeframe: str = "1h",
    symbols: Sequence[str] | None = None,
    *,
    start_ms: int | None = None,
    end_ms: int | None = None,
) -> MarketPanel:
    """Load every (or the given) symbol's OHLCV, mark and funding from ``store`` on one grid.

    Funding coverage (``funding_gaps``) is judged against each symbol's own bars in the range.
    """
    names = list(symbols) if symbols is not None else store.symbols(Kind.OHLCV, timeframe)
    if not names:
        raise DataError(f"no {timeframe} OHLCV data in store {store.root}")
    bar_ms = timeframe_ms(timeframe)
    frames = [
        store.read_columns(Kind.OHLCV, s, timeframe, start_ms=start_ms, end_ms=end_ms)
        for s in names
    ]
    frames_ok = [f["timestamp"] for f in frames if f["timestamp"].size]
    if not frames_ok:
        raise DataError(f"no {timeframe} bars in the requested range in store {store.root}")
    t0 = min(int(f[0]) for f in frames_ok)
    t1 = max(int(f[-1]) for f in frames_ok)
    grid = np.arange(t0, t1 + bar_ms, bar_ms, dtype=np.int64)
    shape = (grid.size, len(names))
    cols = {k: np.full(shape, np.nan) for k in ("open", "high", "low", "close", "volume")}
    mark_open = np.full(shape, np.nan)
    mark_close = np.full(shape, np.nan)
    f_rate = np.zeros(shape)
    f_event = np.zeros(shape, dtype=bool)
    gaps = np.full(shape, COVERED, dtype=np.int8)
    for j, (sym, df) in enumerate(zip(names, frames, strict=True)):
        ts = df["timestamp"].astype(np.int64, copy=False)
        rows, ok = _on_grid(grid, ts, bar_ms)
        for k, arr in cols.items():
            arr[rows, j] = df[k][ok]
        if store.exists(Kind.MARK, sym, timeframe):
            mk = store.read_columns(Kind.MARK, sym, timeframe, start_ms=start_ms, end_ms=end_ms)
            rows, ok = _on_grid(grid, mk["timestamp"].astype(np.int64, copy=False), bar_ms)
            mark_open[rows, j] = mk["open"][ok]
            mark_close[rows, j] = mk["close"][ok]
        fts = _funding_into(store, sym, grid, bar_ms, (f_rate, f_event), j)
        if ts.size == 0:
            continue
        span = (int(ts[0]), int(ts[-1]))
        cov = funding_coverage(sym, fts, span[0], span[1], bar_ms)
        mark_stretches(list(cov.gaps), grid, bar_ms, gaps, j)
        no_mark = _mark_gaps_into((mark_open[:, j], f_event[:, j]), span, grid, bar_ms)
        gaps[no_mark & (gaps[:, j] == COVERED), j] = NO_MARK
    return MarketPanel(
        symbols=tuple(names),
        timeframe=timeframe,
        timestamps=grid,
        open=cols["open"],
        high=cols["high"],
        low=cols["low"],
        close=cols["close"],
        volume=cols["volume"],
        mark_open=mark_open,
        mark_close=mark_close,
        funding_rate=f_rate,
        funding_event=f_event,
        funding_gaps=gaps,
    )
