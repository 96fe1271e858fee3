"""Download OHLCV, mark-price candles and funding history over ccxt into the store.

Each series continues from its newest stored timestamp (``since`` only applies to a series the
store does not hold yet), pages forward with ``since``/``limit``, and merges what it fetched into
the store every ``flush_rows`` rows, at the end, and also when it is interrupted (an error after
the retries, Ctrl-C), so a rerun resumes where the last one stopped, without duplicates. The
kinds are downloaded in turn, each for every symbol, and what is left of each symbol's rows at
the end of a kind is merged as one batch (:meth:`ParquetStore.merge_batch`: one validation and
one write for all symbols, the live engine's per-bar append). Only
closed candles are stored: the candle still forming at ``now`` is dropped. Network errors and rate
limits are retried with exponential backoff; ccxt errors are mapped to the xsmom error tree by the
project's one mapping (:func:`xsmom.exchange.ccxt_errors.map_ccxt_error`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import ccxt
import numpy as np
from tqdm import tqdm

from xsmom.data.store import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import ConfigError, DataError, RetryableError
from xsmom.exchange.ccxt_errors import map_ccxt_error

log = logging.getLogger(__name__)

DEFAULT_EXCHANGE = "binanceusdm"
DEFAULT_HISTORY_MS = 365 * 86_400_000
ALL_KINDS: tuple[Kind, ...] = (Kind.OHLCV, Kind.MARK, Kind.FUNDING)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry a request that failed for a transient reason."""

    attempts: int = 5
    base_delay: float = 1.0
    max_delay: float = 60.0

    def delay(self, attempt: int) -> float:
        """Return the pause after failed attempt number ``attempt`` (1-based)."""
        return float(min(self.base_delay * 2 ** (attempt - 1), self.max_delay))


@dataclass(frozen=True)
class DownloadResult:
    """What one series' download did."""

    kind: Kind
    symbol: str
    timeframe: str | None
    added: int
    pages: int
    last_timestamp: int | None


def make_exchange(exchange_id: str = DEFAULT_EXCHANGE, *, api_base: str | None = None) -> Any:
    """Return a public (no keys) ccxt exchange object for ``exchange_id``.

    ``api_base`` (like ``http://127.0.0.1:8080``) replaces the scheme and host of every API URL
    of the exchange, keeping the paths: for a proxy, a mirror or a local fake.
    """
    cls = getattr(ccxt, exchange_id, None)
    if cls is None or not isinstance(cls, type):
        raise ConfigError(f"unknown ccxt exchange id {exchange_id!r}")
    exchange = cls({"enableRateLimit": True, "options": {"fetchCurrencies": False}})
    if api_base is not None:
        base = urlsplit(api_base)
        if base.scheme not in ("http", "https") or not base.netloc:
            raise ConfigError(f"--api-base must look like https://host[:port], not {api_base!r}")
        _rebase(exchange.urls, f"{base.scheme}://{base.netloc}")
    return exchange


def _rebase(urls: dict[str, Any], base: str) -> None:
    api = urls.get("api")
    if not isinstance(api, dict):
        return
    for key, value in list(api.items()):
        if isinstance(value, str):
            parts = urlsplit(value)
            api[key] = f"{base}{parts.path}"


class Downloader:
    """Fetch history for symbols from a ccxt exchange object (injectable) into a store."""

    def __init__(
        self,
        exchange: Any,
        store: ParquetStore,
        *,
        retry: RetryPolicy | None = None,
        sleep: Callable[[float], None] = time.sleep,
        now_ms: Callable[[], int] | None = None,
        page_limit: int = 1000,
        flush_rows: int = 5000,
        progress: bool = True,
    ) -> None:
        self.exchange = exchange
        self.store = store
        self.retry = retry or RetryPolicy()
        self.sleep = sleep
        self.now_ms = now_ms or (lambda: int(time.time() * 1000))
        self.page_limit = page_limit
        self.flush_rows = flush_rows
        self.progress = progress

    def call(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Call ``fn``; retry what the project's ccxt mapping calls retryable, with backoff.

        Network errors, timeouts, 5xx and rate limits are retried (waiting at least the
        venue's Retry-After); anything else is raised at once as its xsmom error.
        """
        for attempt in range(1, self.retry.attempts + 1):
            try:
                return fn(*args, **kwargs)
            except ccxt.BaseError as exc:
                headers = getattr(self.exchange, "last_response_headers", None)
                err = map_ccxt_error(exc, headers=headers if isinstance(headers, Mapping) else None)
                if not isinstance(err, RetryableError) or attempt == self.retry.attempts:
                    raise err from exc
                pause = max(self.retry.delay(attempt), err.retry_after or 0.0)
                log.warning("%s failed (%s); retry %d in %.1fs", fn.__name__, err, attempt, pause)
                self.sleep(pause)
        raise AssertionError("unreachable: the loop returns or raises")

    def run(
        self,
        symbols: Sequence[str],
        timeframe: str = "1h",
        kinds: Sequence[Kind] = ALL_KINDS,
        since_ms: int | None = None,
    ) -> list[DownloadResult]:
        """Download every (symbol, kind) in turn; return what each added."""
        timeframe_ms(timeframe)
        self._check_support(kinds)
        self.call(self.exchange.load_markets)
        unknown = [s for s in symbols if s not in self.exchange.markets]
        if unknown:
            raise DataError(f"{self.exchange.id} has no market {', '.join(unknown)}")
        with self.store.writer_lock():
            return self._run(symbols, timeframe, kinds, since_ms)

    def _run(
        self, symbols: Sequence[str], timeframe: str, kinds: Sequence[Kind], since_ms: int | None
    ) -> list[DownloadResult]:
        done: dict[tuple[str, Kind], DownloadResult] = {}
        for kind in kinds:
            tf = None if kind is Kind.FUNDING else timeframe
            pending: dict[str, list[list[Any]]] = {}
            fetched: dict[str, tuple[int, int]] = {}
            try:
                for symbol in symbols:
                    start = self._start(kind, symbol, tf, since_ms)
                    buffer: list[list[Any]] = []
                    pending[symbol] = buffer
                    if kind is Kind.FUNDING:
                        fetched[symbol] = self._funding(symbol, start, buffer)
                    else:
                        fetched[symbol] = self._candles(kind, symbol, timeframe, start, buffer)
            finally:
                added = self._flush_batch(kind, tf, pending)
            for symbol, (early, pages) in fetched.items():
                last = self.store.last_timestamp(kind, symbol, tf)
                total = early + added.get(symbol, 0)
                done[(symbol, kind)] = DownloadResult(kind, symbol, tf, total, pages, last)
        return [done[(s, k)] for s in symbols for k in kinds]

    def _check_support(self, kinds: Sequence[Kind]) -> None:
        """Refuse kinds the exchange cannot serve (ccxt would return trade candles for mark)."""
        need = {Kind.OHLCV: "fetchOHLCV", Kind.MARK: "fetchMarkOHLCV"}
        need[Kind.FUNDING] = "fetchFundingRateHistory"
        has = getattr(self.exchange, "has", {})
        missing = [k.value for k in kinds if not has.get(need[k])]
        if missing:
            raise ConfigError(
                f"{self.exchange.id} cannot download {', '.join(missing)} "
                f"(ccxt has no {', '.join(need[Kind(m)] for m in missing)}); drop it from --kinds"
            )

    def _start(self, kind: Kind, symbol: str, tf: str | None, since_ms: int | None) -> int:
        last = self.store.last_timestamp(kind, symbol, tf)
        if last is not None:
            return last + (1 if tf is None else timeframe_ms(tf))
        if since_ms is not None:
            return since_ms
        return self.now_ms() - DEFAULT_HISTORY_MS

    def _source(self, kind: Kind, symbol: str, tf: str | None) -> str:
        return f"{self.exchange.id} {symbol} {kind.value}{' ' + tf if tf else ''}"

    def _flush(self, kind: Kind, symbol: str, tf: str | None, rows: list[list[Any]]) -> int:
        """Merge one series' fetched rows (a long download, every ``flush_rows`` rows)."""
        return self._flush_batch(kind, tf, {symbol: rows}).get(symbol, 0)

    def _flush_batch(
        self, kind: Kind, tf: str | None, pending: Mapping[str, list[list[Any]]]
    ) -> dict[str, int]:
        """Merge every symbol's fetched rows of one kind with one validation and one write."""
        batch = {s: np.array(r, dtype=np.float64) for s, r in pending.items() if r}
        for rows in pending.values():
            rows.clear()  # a refused batch is not retried by the flush in ``finally``
        if not batch:
            return {}
        sources = {s: self._source(kind, s, tf) for s in batch}
        return self.store.merge_batch(kind, batch, tf, sources=sources)

    def _bar(self, symbol: str, kind: Kind, total: int | None) -> tqdm[Any]:
        return tqdm(
            total=total,
            desc=f"{symbol} {kind.value}",
            unit=" rows",
            disable=not self.progress,
            leave=False,
        )

    def _candles(
        self, kind: Kind, symbol: str, tf: str, start: int, buffer: list[list[Any]]
    ) -> tuple[int, int]:
        """Fetch closed candles from ``start`` into ``buffer``; return (rows merged, pages).

        Rows are merged every ``flush_rows``; the rest stay in ``buffer`` for the caller.
        """
        step = timeframe_ms(tf)
        first_open = (self.now_ms() // step) * step  # the forming candle: never stored
        params = {"price": "mark"} if kind is Kind.MARK else {}
        added = pages = 0
        cursor = start
        with self._bar(symbol, kind, max((first_open - start) // step, 0)) as bar:
            while cursor < first_open:
                page = self.call(
                    self.exchange.fetch_ohlcv,
                    symbol,
                    tf,
                    since=cursor,
                    limit=self.page_limit,
                    params=params,
                )
                rows = [r[:6] for r in page if cursor <= r[0] < first_open]
                if not rows:
                    break
                if kind is Kind.MARK:
                    rows = [[*r[:5], 0.0 if r[5] is None else r[5]] for r in rows]
                buffer.extend(rows)
                pages += 1
                bar.update(len(rows))
                cursor = int(rows[-1][0]) + step
                if len(buffer) >= self.flush_rows:
                    added += self._flush(kind, symbol, tf, buffer)
        return added, pages

    def _funding(self, symbol: str, start: int, buffer: list[list[Any]]) -> tuple[int, int]:
        """Fetch funding events from ``start`` into ``buffer``; return (rows merged, pages)."""
        now = self.now_ms()
        added = pages = 0
        cursor = start
        with self._bar(symbol, Kind.FUNDING, None) as bar:
            while cursor <= now:
                page = self.call(
                    self.exchange.fetch_funding_rate_history,
                    symbol,
                    since=cursor,
                    limit=self.page_limit,
                )
                rows = [
                    [int(e["timestamp"]), float(e["fundingRate"])]
                    for e in page
                    if e.get("timestamp") is not None and cursor <= e["timestamp"] <= now
                ]
                if not rows:
                    break
                buffer.extend(rows)
                pages += 1
                bar.update(len(rows))
                cursor = int(rows[-1][0]) + 1
                if len(buffer) >= self.flush_rows:
                    added += self._flush(Kind.FUNDING, symbol, None, buffer)
        return added, pages
