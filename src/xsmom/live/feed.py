"""The engine's market data: the home's Parquet store, kept up to date with the download code.

Each cycle `BarFeed.update` runs the same incremental `Downloader` as ``xsmom data download``
(closed bars only, judged by the exchange's clock) and `BarFeed.panel` loads the bars the
strategy reads with the same `load_panel` as ``xsmom backtest``. `CachedStore`
(:mod:`xsmom.data.cached`) keeps every series in memory, so a cycle reads nothing from disk, and
appends each bar's rows of all symbols with one validation pass (write-behind: flushed every
``store_flush_bars`` bars); what it returns is exactly what reading the Parquet files would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from xsmom.data.cached import CachedStore
from xsmom.data.download import ALL_KINDS, Downloader, DownloadResult
from xsmom.data.download import RetryPolicy as DownloadRetry
from xsmom.data.panel import MarketPanel, load_panel
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import ConfigError

__all__ = ["SMALL_PAGE", "BarFeed", "CachedStore"]

SMALL_PAGE = 99


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
