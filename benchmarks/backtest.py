"""Benchmark one backtest of the default strategy, and the ratio against vectorbt.

Runs (1) all the hourly data in ../shared/data (32 symbols) and (2) a synthetic 50 symbols x
35,000 bars. For each: median seconds of ``run_backtest`` given the strategy's targets (the
simulation: kernel, metrics, attribution, trade and funding logs), the end-to-end time of a
backtest (``run_backtest`` computing the targets: strategy + kernel), the time of
``compute_targets`` alone, and vectorbt's ``Portfolio.from_orders`` on the same weights. The
four are interleaved (one of each per round) so that load from other processes hits them
alike; medians over the rounds, of wall time and of the process's CPU time (on a loaded
machine the CPU time moves much less from run to run: it leaves out the time other processes
hold the cores).

Usage: python benchmarks/backtest.py [--json] [--repeat N] [--shared DIR]
Targets: under 50 ms per backtest of 50 x 35,000 after warm-up; at least 15x vectorbt;
end-to-end under 2x the kernel's time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

from xsmom.backtest import run_backtest
from xsmom.backtest.engine import trade_weights
from xsmom.config import Config
from xsmom.data import MarketPanel, ParquetStore, load_panel
from xsmom.data.importers import import_data
from xsmom.strategy import compute_targets

HOUR = 3_600_000


def synthetic_panel(n_symbols: int, n_bars: int, seed: int = 7) -> MarketPanel:
    rng = np.random.default_rng(seed)
    shape = (n_bars, n_symbols)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, shape), axis=0))
    open_ = np.vstack([close[:1], close[:-1]]) * np.exp(rng.normal(0, 0.001, shape))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.003, shape)))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.003, shape)))
    funding = np.zeros(shape)
    funding[::8] = rng.normal(1e-4, 2e-4, (len(funding[::8]), n_symbols))
    return MarketPanel(
        symbols=tuple(f"S{i}/USDT:USDT" for i in range(n_symbols)),
        timeframe="1h",
        timestamps=np.arange(n_bars, dtype=np.int64) * HOUR,
        open=open_,
        high=high,
        low=low,
        close=close,
        volume=rng.uniform(1e4, 1e6, shape),
        mark_open=open_.copy(),
        mark_close=close.copy(),
        funding_rate=funding,
        funding_event=funding != 0,
    )


def vectorbt_run(panel: MarketPanel, weights: np.ndarray) -> Callable[[], object]:
    """Return a callable running vectorbt's ``Portfolio.from_orders`` on ``weights``."""
    w = trade_weights(weights, 0, panel.n_bars)
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    size = pd.DataFrame(np.where(w != prev, w, np.nan))
    close = pd.DataFrame(panel.close).ffill().bfill()
    price = pd.DataFrame(panel.open)

    def run() -> object:
        pf = vbt.Portfolio.from_orders(
            close=close,
            size=size,
            size_type="targetpercent",
            price=price,
            fees=5e-4,
            init_cash=10_000.0,
            cash_sharing=True,
            group_by=True,
            call_seq="auto",
            direction="both",
            freq="1h",
        )
        return pf.value()

    return run


def interleaved_seconds(
    fns: list[Callable[[], object]], repeat: int
) -> tuple[list[float], list[float]]:
    """Return the median (wall, CPU) seconds of each of ``fns``, run one after the other per
    round."""
    for fn in fns:
        fn()  # warm-up (numba compile, caches)
    wall: list[list[float]] = [[] for _ in fns]
    cpu: list[list[float]] = [[] for _ in fns]
    for _ in range(repeat):
        for fn, w, c in zip(fns, wall, cpu, strict=True):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            c.append(time.process_time() - c0)
            w.append(time.perf_counter() - t0)
    return [statistics.median(ts) for ts in wall], [statistics.median(ts) for ts in cpu]


def measure(
    name: str, panel: MarketPanel, repeat: int, cfg: Config | None = None
) -> dict[str, float | str | int]:
    cfg = cfg if cfg is not None else Config()
    targets = compute_targets(panel, cfg.strategy)
    wall, cpu = interleaved_seconds(
        [
            lambda: run_backtest(panel, cfg, targets=targets),
            lambda: run_backtest(panel, cfg),
            lambda: compute_targets(panel, cfg.strategy),
            vectorbt_run(panel, targets.weights),
        ],
        repeat,
    )
    ours, e2e, strat, theirs = wall
    sb = panel.n_bars * panel.n_symbols
    return {
        "case": name,
        "symbols": panel.n_symbols,
        "bars": panel.n_bars,
        "symbol_bars": sb,
        "seconds_median": ours,
        "ns_per_symbol_bar": ours / sb * 1e9,
        "strategy_seconds": strat,
        "end_to_end_seconds": e2e,
        "end_to_end_over_kernel": e2e / ours,
        "vectorbt_seconds": theirs,
        "vectorbt_ratio": theirs / ours,
        "cpu_seconds_median": cpu[0],
        "cpu_end_to_end_seconds": cpu[1],
        "cpu_strategy_seconds": cpu[2],
        "cpu_end_to_end_over_kernel": cpu[1] / cpu[0],
        "cpu_vectorbt_ratio": cpu[3] / cpu[0],
    }


def shared_panel(shared: Path, tmp: Path) -> MarketPanel:
    store = ParquetStore(tmp / "store")
    import_data(shared, store, timeframes=["1h"])
    return load_panel(store, "1h")


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--json", action="store_true", help="last line: one JSON object")
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument(
        "--shared", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data"
    )
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # the shared store lacks funding for some held spans: run anyway (as --allow-funding-gaps)
        gaps_ok = Config().model_copy(
            update={"backtest": Config().backtest.model_copy(update={"allow_funding_gaps": True})}
        )
        panel = shared_panel(args.shared, Path(tmp))
        rows.append(measure("shared hourly data", panel, args.repeat, gaps_ok))
    rows.append(measure("synthetic 50 x 35000", synthetic_panel(50, 35_000), args.repeat))
    for r in rows:
        ms = float(r["seconds_median"]) * 1e3
        print(
            f"{r['case']:>22}: {r['symbols']} symbols x {r['bars']} bars "
            f"= {r['symbol_bars']:,} symbol-bars | backtest {ms:.1f} ms "
            f"({float(r['ns_per_symbol_bar']):.1f} ns/symbol-bar) | "
            f"strategy {float(r['strategy_seconds']) * 1e3:.1f} ms | "
            f"end-to-end {float(r['end_to_end_seconds']) * 1e3:.1f} ms "
            f"({float(r['end_to_end_over_kernel']):.2f}x the backtest) | "
            f"vectorbt {float(r['vectorbt_seconds']) * 1e3:.1f} ms "
            f"-> {float(r['vectorbt_ratio']):.1f}x faster\n"
            f"{'CPU time':>22}: backtest {float(r['cpu_seconds_median']) * 1e3:.1f} ms | "
            f"strategy {float(r['cpu_strategy_seconds']) * 1e3:.1f} ms | "
            f"end-to-end {float(r['cpu_end_to_end_seconds']) * 1e3:.1f} ms "
            f"({float(r['cpu_end_to_end_over_kernel']):.2f}x the backtest) | "
            f"vectorbt {float(r['cpu_vectorbt_ratio']):.1f}x the backtest"
        )
    if args.json:
        main_row = rows[-1]
        print(json.dumps({**main_row, "cases": rows}))


if __name__ == "__main__":
    main()
