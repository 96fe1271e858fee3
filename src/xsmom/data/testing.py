"""A ccxt client fake serving a store's closed bars at a clock (tests, benchmarks; no network)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from xsmom.data import Kind, ParquetStore

HOUR = 3_600_000


class StoreClient:
    """Answer the downloader's ccxt calls from ``store`` as an exchange would at ``clock()``."""

    id = "store"
    has: ClassVar[dict[str, bool]] = {
        "fetchOHLCV": True,
        "fetchMarkOHLCV": True,
        "fetchFundingRateHistory": True,
    }

    def __init__(self, store: ParquetStore, symbols: list[str], clock: Callable[[], int]) -> None:
        self.clock = clock
        self.markets = {s: {"symbol": s} for s in symbols}
        self.candles = {s: store.read(Kind.OHLCV, s, "1h").to_numpy() for s in symbols}
        self.mark = {s: store.read(Kind.MARK, s, "1h").to_numpy() for s in symbols}
        self.funding = {s: store.read(Kind.FUNDING, s).to_numpy() for s in symbols}

    def load_markets(self) -> dict[str, Any]:
        return self.markets

    def fetch_ohlcv(
        self,
        symbol: str,
        timeframe: str,
        since: int | None = None,
        limit: int | None = None,
        params: dict[str, Any] | None = None,
    ) -> list[list[float]]:
        mark = (params or {}).get("price") == "mark"
        rows = self.mark[symbol] if mark else self.candles[symbol]
        ts = rows[:, 0]
        lo = int(np.searchsorted(ts, since or 0))
        hi = int(np.searchsorted(ts, self.clock() - HOUR, "right"))
        hi = min(hi, lo + (limit or 1000))
        return [[int(r[0]), *map(float, r[1:6])] for r in rows[lo:hi]]

    def fetch_funding_rate_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = self.funding[symbol]
        ts = rows[:, 0]
        lo = int(np.searchsorted(ts, since or 0))
        hi = int(np.searchsorted(ts, self.clock(), "right"))
        hi = min(hi, lo + (limit or 1000))
        return [{"timestamp": int(r[0]), "fundingRate": float(r[1])} for r in rows[lo:hi]]
