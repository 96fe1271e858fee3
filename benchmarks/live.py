"""One engine cycle's own work, exchange latency excluded, and memory over a long run.

The engine runs unchanged (feed -> compute_targets -> gate -> executor -> ledger -> heartbeat)
on an in-process exchange: market data served from a Parquet store built from ../shared/data
(a fake ccxt client for the downloads, `StoreMarketData` + the paper adapter for trading) at a
manual clock stepped one bar per cycle. Every exchange call is timed and subtracted, so "own
work" is what the engine itself spends: store appends, strategy, planning, ledger, heartbeat.

Usage: python benchmarks/live.py [--symbols 30] [--bars 300] [--history-bars 0] [--json]
       python benchmarks/live.py --bars 10000 --history-bars 1500   # memory, about 15 min

The exchange's side (source store, paper account file) lives in ``--scratch`` (/dev/shm by
default) so that its fsyncs do not slow the run; they are exchange time either way.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import resource
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xsmom.config import config_from_dict
from xsmom.data import Kind, ParquetStore
from xsmom.data.symbols import from_venue_id
from xsmom.data.testing import StoreClient
from xsmom.exchange import CircuitBreaker, GuardedExchange, PaperConfig, PaperExchange
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.ledger import open_home_ledger
from xsmom.live.engine import Engine, EngineParts
from xsmom.live.feed import BarFeed, CachedStore
from xsmom.live.home import Home

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
HOUR = 3_600_000


class Timer:
    """Accumulate the seconds spent in wrapped calls (the exchange's share): wall and CPU."""

    def __init__(self) -> None:
        self.s = self.cpu = 0.0

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*a: Any, **k: Any) -> Any:
            t0, c0 = time.perf_counter(), time.thread_time()
            try:
                return fn(*a, **k)
            finally:
                self.s += time.perf_counter() - t0
                self.cpu += time.thread_time() - c0

        return timed


class TimedExchange:
    """Every call of the wrapped exchange counted as exchange time."""

    def __init__(self, inner: Any, timer: Timer) -> None:
        self._inner, self._timer = inner, timer

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        return self._timer.wrap(attr) if callable(attr) else attr


class UnsavedPaper(PaperExchange):
    """The paper adapter without its state file (a save appends the bar's fills to its
    journal and rewrites a small snapshot: a few ms a bar, kept out of the memory run)."""

    def save(self) -> None:
        """Keep the state in memory only (the benchmark never restarts the exchange)."""


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


def build_synthetic(root: Path, n: int, bars: int, end_ms: int) -> tuple[ParquetStore, list[str]]:
    """Write ``n`` symbols of ``bars`` random-walk hourly candles, mark candles and 8-hourly
    funding ending at ``end_ms`` (the shared data has too few long histories for 10,000 bars)."""
    store, syms = ParquetStore(root), []
    ts = end_ms - HOUR * np.arange(bars, 0, -1, dtype=np.int64)
    for i in range(n):
        rng = np.random.default_rng(i)
        close = 10.0 * (i + 1) * np.exp(np.cumsum(rng.normal(0, 0.01, bars)))
        open_ = np.r_[close[0], close[:-1]]
        wick = 1 + np.abs(rng.normal(0, 0.003, (2, bars)))
        high, low = np.maximum(open_, close) * wick[0], np.minimum(open_, close) / wick[1]
        sym = f"SYN{i:02d}/USDT:USDT"
        cols = {"timestamp": ts, "open": open_, "high": high, "low": low, "close": close}
        vol = rng.uniform(1e3, 1e4, bars)
        store.write(Kind.OHLCV, sym, pd.DataFrame({**cols, "volume": vol}), "1h")
        store.write(Kind.MARK, sym, pd.DataFrame({**cols, "volume": 0.0}), "1h")
        f_ts = ts[ts % (8 * HOUR) == 0] + rng.integers(0, 20, int((ts % (8 * HOUR) == 0).sum()))
        rates = np.clip(rng.normal(1e-4, 1e-4, f_ts.size), -0.01, 0.01)
        store.write(Kind.FUNDING, sym, pd.DataFrame({"timestamp": f_ts, "rate": rates}))
        syms.append(sym)
    return store, syms


def rss_mb() -> float:
    """Return the current resident set size in MB (Linux /proc)."""
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    return pages * resource.getpagesize() / 1e6


def slope_per_1000(points: list[tuple[int, float]]) -> float:
    """Return the least-squares slope of RSS over bars in MB per 1,000 bars (second half)."""
    half = points[len(points) // 2 :]
    if len(half) < 2:
        return float("nan")
    x = np.array([b for b, _ in half], dtype=float)
    y = np.array([m for _, m in half], dtype=float)
    return float(np.polyfit(x, y, 1)[0] * 1000)


def parse_args() -> argparse.Namespace:
    """Return the command line options."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--symbols", type=int, default=30)
    ap.add_argument("--bars", type=int, default=300)
    ap.add_argument("--history-bars", type=int, default=0, help="live.engine.history_bars")
    ap.add_argument("--warmup", type=int, default=1500)
    ap.add_argument("--flush-bars", type=int, default=24, help="live.engine.store_flush_bars")
    ap.add_argument("--rss-every", type=int, default=0, help="print RSS every N bars")
    ap.add_argument(
        "--scratch",
        type=Path,
        default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
        help="folder of the exchange's side (source store, paper account); the engine's home "
        "(store, ledger, heartbeat) is always on disk",
    )
    ap.add_argument(
        "--home-on-scratch",
        action="store_true",
        help="put the engine's home in --scratch too (a fast memory run; own work then "
        "excludes the disk's fsync latency)",
    )
    ap.add_argument(
        "--synthetic",
        action="store_true",
        help="random-walk data instead of ../shared/data (which has too few long histories "
        "for --symbols 30 --bars 10000)",
    )
    ap.add_argument(
        "--no-paper-save",
        action="store_true",
        help="do not write the paper account's state file (the long memory run)",
    )
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--profile", type=Path, help="write a cProfile of the cycles to this file")
    return ap.parse_args()


def main() -> None:  # a linear script
    args = parse_args()
    wall0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="xsmom-bench-live-"))
    scratch = Path(tempfile.mkdtemp(prefix="xsmom-bench-live-", dir=args.scratch))
    if args.synthetic:
        n_bars = args.warmup + args.bars + 50
        source, syms = build_synthetic(scratch / "source", args.symbols, n_bars, 1_767_225_600_000)
    else:
        source, syms = build_source(scratch / "source", args.symbols)
    ends = [int(source.read(Kind.OHLCV, s, "1h")["timestamp"].iloc[-1]) for s in syms]
    start = (min(ends) // HOUR - args.bars - 5) * HOUR  # the run ends where the data ends
    clock = ManualClock(start)
    timer = Timer()
    engine_cfg = {
        "warmup_bars": args.warmup,
        "history_bars": args.history_bars,
        "store_flush_bars": args.flush_bars,
    }
    cfg = config_from_dict(
        {
            "data": {"symbols": syms},
            "strategy": {"universe": {"max_symbols": min(20, len(syms))}},
            "live": {
                "execution": {"quote_source": "last", "taker_after_s": 0},
                "engine": engine_cfg,
            },
        }
    )
    home = Home((scratch if args.home_on_scratch else tmp) / "home").create()
    paper_cls = UnsavedPaper if args.no_paper_save else PaperExchange
    paper = paper_cls(
        StoreMarketData(source, clock, symbols=syms),
        scratch / "paper.json",
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
        CachedStore(home.store_dir, write_behind=args.flush_bars > 1),
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
    own, own_cpu, total, mem = [], [], [], [(0, round(rss_mb(), 1))]
    every = args.rss_every or max(args.bars // 20, 1)
    prof = cProfile.Profile() if args.profile else None
    if prof is not None:
        prof.enable()
    for i in range(1, args.bars + 1):
        clock.advance(HOUR)
        timer.s = timer.cpu = 0.0
        t0, c0 = time.perf_counter(), time.thread_time()
        assert eng.step(), "no bar processed"
        eng.beat()
        dt = time.perf_counter() - t0
        total.append(dt)
        own.append(dt - timer.s)
        own_cpu.append(time.thread_time() - c0 - timer.cpu)
        if i % every == 0:
            mem.append((i, round(rss_mb(), 1)))
            recent = own[-every:]
            took = time.perf_counter() - wall0
            print(
                f"bar {i}: own work median {statistics.median(recent) * 1000:.0f} ms over the "
                f"last {len(recent)} bars, RSS {mem[-1][1]} MB, {took:.0f} s, "
                f"exchange fills held {len(paper.engine.fills())}",
                flush=True,
            )
    if prof is not None:
        prof.disable()
        prof.dump_stats(args.profile)
    eng.stop(clean=True, reason="benchmark done")
    res = {
        "symbols": len(syms),
        "bars": args.bars,
        "history_bars": args.history_bars,
        "store_flush_bars": args.flush_bars,
        "own_ms_median": round(statistics.median(own) * 1000, 1),
        "own_ms_p95": round(float(np.percentile(own, 95)) * 1000, 1),
        "own_ms_max": round(max(own) * 1000, 1),
        "own_ms_mean": round(statistics.fmean(own) * 1000, 1),
        "own_cpu_ms_median": round(statistics.median(own_cpu) * 1000, 1),
        "own_cpu_ms_p95": round(float(np.percentile(own_cpu, 95)) * 1000, 1),
        "load_avg_1m_end": round(os.getloadavg()[0], 2),
        "total_ms_median": round(statistics.median(total) * 1000, 1),
        "rss_mb": mem,
        "rss_mb_per_1000_bars": round(slope_per_1000(mem), 2),
        "wall_s": round(time.perf_counter() - wall0, 1),
    }
    print(
        f"{len(syms)} symbols, {args.bars} bars, history_bars={args.history_bars}, "
        f"store_flush_bars={args.flush_bars}, {res['wall_s']} s"
    )
    print(
        f"own work per cycle: median {res['own_ms_median']} ms, p95 {res['own_ms_p95']} ms, "
        f"max {res['own_ms_max']} ms, mean {res['own_ms_mean']} ms "
        f"(with the in-process exchange: median {res['total_ms_median']} ms)"
    )
    print(
        f"own work CPU (the engine's thread): median {res['own_cpu_ms_median']} ms, "
        f"p95 {res['own_cpu_ms_p95']} ms; load average at the end {res['load_avg_1m_end']}"
    )
    print(
        f"RSS {mem[0][1]} -> {mem[-1][1]} MB; slope over the second half "
        f"{res['rss_mb_per_1000_bars']} MB per 1,000 bars"
    )
    if args.json:
        print(json.dumps(res))
    ledger.close()
    shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
