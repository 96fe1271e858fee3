"""The engine's market data: the home's Parquet store, kept up to date with the download code.

Each cycle `BarFeed.update` runs the same incremental `Downloader` as ``xsmom data download``
(closed bars only, judged by the exchange's clock) and `BarFeed.panel` loads the bars the
strategy reads with the same `load_panel` as ``xsmom backtest``. `CachedStore` keeps every
series it has read or written in memory, so a cycle reads nothing from disk twice; what it
returns is exactly what reading the Parquet file would return (it caches the written table
converted back as the reader converts it).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xsmom.data.download import ALL_KINDS, Downloader, DownloadResult
from xsmom.data.download import RetryPolicy as DownloadRetry
from xsmom.data.panel import MarketPanel, load_panel
from xsmom.data.store import MergePlan, ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind, columns_for, validate_frame
from xsmom.errors import ConfigError

_Key = tuple[Kind, str, str | None]
SMALL_PAGE = 99
APPEND_GAP_MS = 60_000  # funding events within a minute of a stored one are the same event


def _as_read(kind: Kind, frame: pd.DataFrame) -> pd.DataFrame:
    """Return ``frame`` as reading its Parquet file gives it (the store's columns and dtypes;
    int64 and float64 survive Parquet bit for bit)."""
    cols = list(columns_for(kind))
    want = {c: np.dtype("int64") if c == "timestamp" else np.dtype("float64") for c in cols}
    same = list(frame.columns) == cols and all(frame[c].dtype == t for c, t in want.items())
    if same and isinstance(frame.index, pd.RangeIndex) and frame.index.start == 0:
        return frame  # already as read (the merged frames this class builds)
    return frame[cols].astype(want).reset_index(drop=True)


class CachedStore(ParquetStore):
    """A `ParquetStore` that serves reads from memory after the first.

    Appends newer than the stored rows are validated on their own (plus the last stored row,
    so a gap at the seam is seen) instead of re-validating the whole series. With
    ``write_behind`` the merged series are written to disk by `flush` (the engine flushes
    every ``live.engine.store_flush_bars`` bars and when it stops): a crash loses at most the
    unflushed bars of this market-data cache, which the next start downloads again.
    """

    def __init__(self, root: Path | str, *, write_behind: bool = False) -> None:
        super().__init__(root)
        self._cache: dict[_Key, pd.DataFrame] = {}
        self._cut: dict[_Key, int] = {}
        self.write_behind = write_behind
        self._dirty: dict[_Key, MergePlan] = {}

    def read(
        self,
        kind: Kind,
        symbol: str,
        timeframe: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pd.DataFrame:
        """Read a series (from memory after the first read), limited like `ParquetStore.read`."""
        key = (kind, symbol, timeframe)
        cut = self._cut.get(key)
        if cut is not None and (start_ms is None or start_ms < cut):
            self.flush()  # the file must hold what memory dropped
            # rows before the cut left memory: the file is the truth (a merge reads it whole)
            return super().read(kind, symbol, timeframe, start_ms=start_ms, end_ms=end_ms)
        df = self._cache.get(key)
        if df is None:
            df = super().read(kind, symbol, timeframe)
            self._cache[key] = df
        if start_ms is None and end_ms is None:
            return df.copy()
        ts = df["timestamp"].to_numpy()
        lo = 0 if start_ms is None else int(np.searchsorted(ts, start_ms, "left"))
        hi = len(ts) if end_ms is None else int(np.searchsorted(ts, end_ms, "left"))
        return df.iloc[lo:hi].reset_index(drop=True)

    def exists(self, kind: Kind, symbol: str, timeframe: str | None = None) -> bool:
        """Return True if the series is stored (or held in memory, not yet written)."""
        return (kind, symbol, timeframe) in self._cache or super().exists(kind, symbol, timeframe)

    def last_timestamp(self, kind: Kind, symbol: str, timeframe: str | None = None) -> int | None:
        """Return the newest stored timestamp of a series, or None if there is none."""
        if not self.exists(kind, symbol, timeframe):
            return None
        key = (kind, symbol, timeframe)
        if key in self._cut and key in self._cache:
            ts = self._cache[key]["timestamp"].to_numpy()
            if ts.size:
                return int(ts[-1])
        ts = self.read(kind, symbol, timeframe)["timestamp"].to_numpy()
        return int(ts[-1]) if ts.size else None

    def plan(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> MergePlan:
        """Plan a merge; an append after the cached rows is validated on its own rows."""
        key = (kind, symbol, timeframe)
        current = self._cache.get(key)
        cols = list(columns_for(kind))
        if current is None or key in self._cut or len(df) == 0 or not set(cols) <= set(df):
            return super().plan(kind, symbol, df, timeframe, source=source)
        incoming = _as_read(kind, df)
        ts = incoming["timestamp"].to_numpy()
        last = int(current["timestamp"].iloc[-1]) if len(current) else None
        if last is None or not (np.all(np.diff(ts) > 0) and int(ts[0]) > last + APPEND_GAP_MS):
            return super().plan(kind, symbol, df, timeframe, source=source)
        seam = pd.concat([current.iloc[-1:], incoming], ignore_index=True)
        src = f"{source or symbol} appended to {self.path(kind, symbol, timeframe)}"
        report = validate_frame(kind, seam, source=src, timeframe=timeframe)
        merged = pd.concat([current, incoming], ignore_index=True)
        path = self.path(kind, symbol, timeframe)
        return MergePlan(kind, symbol, timeframe, path, merged, len(incoming), report)

    def apply(self, plans: Sequence[MergePlan]) -> None:
        """Keep the merged series in memory; write them now, or at `flush` (write-behind)."""
        if self.write_behind:
            for p in plans:
                if p.frame is not None:
                    self._dirty[(p.kind, p.symbol, p.timeframe)] = p
        else:
            super().apply(plans)
        for p in plans:
            if p.frame is not None:
                key = (p.kind, p.symbol, p.timeframe)
                self._cache[key] = _as_read(p.kind, p.frame)
                if key in self._cut:
                    self._trim(key, self._cut[key])

    def flush(self) -> int:
        """Write every series changed since the last flush; return how many were written."""
        plans = list(self._dirty.values())
        if plans:
            super().apply(plans)
        self._dirty.clear()
        return len(plans)

    def forget_before(self, kind: Kind, symbol: str, timeframe: str | None, ts: int) -> None:
        """Keep only rows from ``ts`` on in memory (a rolling window); the file is untouched.

        Reads that need older rows (a merge reads the whole series) go to the file.
        """
        key = (kind, symbol, timeframe)
        if not self.exists(kind, symbol, timeframe):
            return  # nothing stored (a symbol without mark candles): nothing to drop
        if key not in self._cache:
            self.read(kind, symbol, timeframe)
        self._cut[key] = ts
        self._trim(key, ts)

    def _trim(self, key: _Key, ts: int) -> None:
        df = self._cache[key]
        lo = int(np.searchsorted(df["timestamp"].to_numpy(), ts, "left"))
        if lo > 0:
            self._cache[key] = df.iloc[lo:].reset_index(drop=True)


class _Observed:
    """A ccxt client whose fetch calls report success or failure (to the circuit breaker)."""

    def __init__(self, client: Any, observe: Callable[[bool], None]) -> None:
        self._client, self._observe = client, observe

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._client, name)
        if not (name.startswith("fetch") and callable(attr)):
            return attr

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = attr(*args, **kwargs)
            except Exception:  # counted, then re-raised unchanged
                self._observe(False)
                raise
            self._observe(True)
            return out

        call.__name__ = name
        return call


class BarFeed:
    """Keep the home store current with the exchange and load the strategy's bars from it."""

    def __init__(
        self,
        store: CachedStore,
        client: Any,
        symbols: Sequence[str],
        timeframe: str,
        *,
        warmup_bars: int,
        history_bars: int = 0,
        kinds: Sequence[Kind] = ALL_KINDS,
        sleep: Callable[[float], None] | None = None,
        observe: Callable[[bool], None] | None = None,
    ) -> None:
        if not symbols:
            raise ConfigError("live trading needs data.symbols: the symbols to download and trade")
        self.store = store
        self.client = client if observe is None else _Observed(client, observe)
        self.symbols, self.timeframe = tuple(symbols), timeframe
        self.bar_ms = timeframe_ms(timeframe)
        self.warmup_bars, self.history_bars = warmup_bars, history_bars
        self.kinds = tuple(kinds)
        self._sleep = sleep

    def update(self, now_ms: int) -> list[DownloadResult]:
        """Append every bar closed by ``now_ms`` (exchange time) and new funding to the store."""
        kwargs: dict[str, Any] = {}
        if self._sleep is not None:
            kwargs["sleep"] = self._sleep
        last = self.last_bar()
        behind = None if last is None else (now_ms - last) // self.bar_ms
        # Binance weighs klines by limit (1 below 100, 10 at 1000): small pages when current
        limit = SMALL_PAGE if behind is not None and behind < SMALL_PAGE - 2 else 1000
        dl = Downloader(
            self.client,
            self.store,
            now_ms=lambda: now_ms,
            progress=False,
            retry=DownloadRetry(attempts=3, base_delay=0.5, max_delay=5.0),
            page_limit=limit,
            **kwargs,
        )
        return dl.run(self.symbols, self.timeframe, self.kinds, since_ms=self.since(now_ms))

    def since(self, now_ms: int) -> int:
        """Return where an empty series starts downloading: ``warmup_bars`` before now."""
        return (now_ms // self.bar_ms - self.warmup_bars) * self.bar_ms

    def last_bar(self) -> int | None:
        """Return the newest bar every symbol of the store has (None before any data).

        A bar one symbol still lacks (its download failed, the exchange lags) is not acted on:
        the strategy would see a hole; the stale-data guard halts if it lasts.
        """
        last = [self.store.last_timestamp(Kind.OHLCV, s, self.timeframe) for s in self.symbols]
        known = [t for t in last if t is not None]
        return min(known) if known else None

    def panel(self, bar_ts: int) -> MarketPanel:
        """Return the bars up to and including ``bar_ts`` that the strategy reads.

        ``history_bars`` 0: the whole store, as ``xsmom backtest`` loads it. Otherwise the
        last ``history_bars`` bars (and older cached rows are dropped from memory).
        """
        start = None
        if self.history_bars > 0:
            start = bar_ts - (self.history_bars - 1) * self.bar_ms
            for s in self.symbols:
                for kind in (Kind.OHLCV, Kind.MARK):
                    self.store.forget_before(kind, s, self.timeframe, start)
        return load_panel(
            self.store, self.timeframe, self.symbols, start_ms=start, end_ms=bar_ts + self.bar_ms
        )
