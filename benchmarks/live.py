"""One engine cycle's own work, exchange latency excluded, and memory over a long run.

The engine runs unchanged (feed -> compute_targets -> gate -> executor -> ledger -> heartbeat)
on an in-process exchange: market data served from a Parquet store built from ../shared/data
(a fake ccxt client for the downloads, `StoreMarketData` + the paper adapter for trading) at a
manual clock stepped one bar per cycle. Every exchange call is timed and subtracted, so "own
work" is what the engine itself spends: store appends, strategy, planning, ledger, heartbeat.

Usage: python benchmarks/live.py [--symbols 30] [--bars 300] [--history-bars 0] [--json]
       python benchmarks/live.py --symbols 5 --bars 10000 --history-bars 2000   # memory
"""

from __future__ import annotations

import argparse
import cProfile
import json
import resource
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from xsmom.config import config_from_dict
from xsmom.data import Kind, ParquetStore
from xsmom.data.symbols import from_venue_id
from xsmom.exchange import CircuitBreaker, GuardedExchange, PaperConfig, PaperExchange
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.ledger import open_home_ledger
from xsmom.live.engine import Engine, EngineParts
from xsmom.live.feed import BarFeed, CachedStore
from xsmom.live.home import Home

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HOUR = 3_600_000


class Timer:
    """Accumulate the seconds spent in wrapped calls (the exchange's share)."""

    def __init__(self) -> None:
        self.s = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                self.s += time.perf_counter() - t0

        return timed


class TimedExchange:
    """Every call of the wrapped exchange counted as exchange time."""

    def __init__(self, inner: Any, timer: Timer) -> None:
        self._inner, self._timer = inner, timer

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        return self._timer.wrap(attr) if callable(attr) else attr


class StoreClient:
    """The ccxt calls the downloader makes, answered from a store at a clock (closed bars)."""

    id = "store"
    has: ClassVar[dict[str, bool]] = {
        "fetchOHLCV": True,
        "fetchMarkOHLCV": True,
        "fetchFundingRateHistory": True,
    }

    def __init__(self, store: ParquetStore, symbols: list[str], clock: Callable[[], int]) -> None:
        self.clock = clock
        self.markets = {s: {"symbol": s} for s in symbols}
        self._c = {s: store.read(Kind.OHLCV, s, "1h").to_numpy() for s in symbols}
        self._m = {s: store.read(Kind.MARK, s, "1h").to_numpy() for s in symbols}
        self._f = {s: store.read(Kind.FUNDING, s).to_numpy() for s in symbols}

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
        rows = self._m[symbol] if (params or {}).get("price") == "mark" else self._c[symbol]
        ts = rows[:, 0]
        lo = int(np.searchsorted(ts, since or 0))
        hi = int(np.searchsorted(ts, self.clock() - HOUR, "right"))
        hi = min(hi, lo + (limit or 1000))
        return [[int(r[0]), *map(float, r[1:6])] for r in rows[lo:hi]]

    def fetch_funding_rate_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[dict[str, Any]]:
        rows = self._f[symbol]
        ts = rows[:, 0]
        lo = int(np.searchsorted(ts, since or 0))
        hi = int(np.searchsorted(ts, self.clock(), "right"))
        hi = min(hi, lo + (limit or 1000))
        return [{"timestamp": int(r[0]), "fundingRate": float(r[1])} for r in rows[lo:hi]]


def build_source(root: Path, n: int) -> tuple[ParquetStore, list[str]]:
    """Copy ``n`` symbols of ../shared/data (hourly OHLCV, mark, funding) into a store."""
    files = sorted((SHARED / "mark/binance_usdm/parquet/1h").glob("*.parquet"))[:n]
    store, syms = ParquetStore(root), []
    for f in files:
        vid = f.stem
        sym = from_venue_id(vid)
        store.write(
            Kind.OHLCV,
            sym,
            pd.read_parquet(SHARED / f"ohlcv/binance_usdm/parquet/1h/{vid}.parquet"),
            "1h",
        )
        store.write(Kind.MARK, sym, pd.read_parquet(f), "1h")
        fund = pd.read_parquet(SHARED / f"funding/binance_usdm/parquet/{vid}.parquet")
        store.write(Kind.FUNDING, sym, fund[["timestamp", "rate"]])
        syms.append(sym)
    return store, syms


def rss_mb() -> float:
    """Return the current resident set size in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def main() -> None:  # a linear script
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=30)
    ap.add_argument("--bars", type=int, default=300)
    ap.add_argument("--history-bars", type=int, default=0)
    ap.add_argument("--warmup", type=int, default=1500)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the cycles to this file")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="xsmom-bench-live-"))
    source, syms = build_source(tmp / "source", args.symbols)
    ends = [int(source.read(Kind.OHLCV, s, "1h")["timestamp"].iloc[-1]) for s in syms]
    start = (min(ends) // HOUR - args.bars - 5) * HOUR  # the run ends where the data ends
    clock = ManualClock(start)
    timer = Timer()
    cfg = config_from_dict(
        {
            "data": {"symbols": syms},
            "strategy": {"universe": {"max_symbols": min(20, len(syms))}},
            "live": {
                "execution": {"quote_source": "last", "taker_after_s": 0},
                "engine": {"warmup_bars": args.warmup, "history_bars": args.history_bars},
            },
        }
    )
    home = Home(tmp / "home").create()
    paper = PaperExchange(
        StoreMarketData(source, clock, symbols=syms),
        home.path / "paper.json",
        clock,
        config=PaperConfig(initial_balance=100_000.0),
    )
    breaker = CircuitBreaker()
    guarded = GuardedExchange(paper, breaker)
    client = TimedExchange(StoreClient(source, syms, clock), timer)
    parts = EngineParts(
        exchange=TimedExchange(guarded, timer),  # type: ignore[arg-type]
        breaker=breaker,
        client=client,
        clock=clock,
        mode="paper",
        name="bench",
    )
    feed = BarFeed(
        CachedStore(home.store_dir, write_behind=True),
        client,
        syms,
        "1h",
        warmup_bars=args.warmup,
        history_bars=args.history_bars,
    )
    ledger = open_home_ledger(home.path)
    eng = Engine(config=cfg, home=home, ledger=ledger, parts=parts, feed=feed)
    eng.start()
    eng.step()  # warm-up download and numba load are not a cycle
    own, total, mem = [], [], []
    prof = cProfile.Profile() if args.profile else None
    if prof is not None:
        prof.enable()
    for i in range(args.bars):
        clock.advance(HOUR)
        timer.s = 0.0
        t0 = time.perf_counter()
        assert eng.step(), "no bar processed"
        eng.beat()
        dt = time.perf_counter() - t0
        total.append(dt)
        own.append(dt - timer.s)
        if i % max(args.bars // 20, 1) == 0:
            mem.append((i, round(rss_mb(), 1)))
            print(
                f"bar {i}: own {statistics.median(own) * 1000:.0f} ms median so far, "
                f"RSS {mem[-1][1]} MB",
                flush=True,
            )
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    mem.append((args.bars, round(rss_mb(), 1)))
    res = {
        "symbols": len(syms),
        "bars": args.bars,
        "history_bars": args.history_bars,
        "own_ms_median": round(statistics.median(own) * 1000, 1),
        "own_ms_p95": round(float(np.percentile(own, 95)) * 1000, 1),
        "own_ms_mean": round(statistics.fmean(own) * 1000, 1),
        "total_ms_median": round(statistics.median(total) * 1000, 1),
        "rss_mb": mem,
    }
    print(f"{len(syms)} symbols, {args.bars} bars, history_bars={args.history_bars}")
    print(
        f"own work per cycle: median {res['own_ms_median']} ms, p95 {res['own_ms_p95']} ms "
        f"(with the in-process exchange: median {res['total_ms_median']} ms)"
    )
    print("RSS MB by bar: " + ", ".join(f"{b}:{m}" for b, m in mem))
    if args.json:
        print(json.dumps(res))
    ledger.close()


if __name__ == "__main__":
    main()
