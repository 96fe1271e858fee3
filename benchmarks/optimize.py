"""Benchmark the walk-forward search on the shared hourly data: trials per second, overhead.

Imports ../shared/data (hourly OHLCV, mark, funding of 32 Binance USDT-M perpetuals) into a
cached store once, then runs a study of ``--trials`` trials on ``--folds`` walk-forward folds
with ``--workers`` local processes and a SQLite storage, and reports:

* trials, seconds (wall time of the search, process start included), trials_per_second;
* overhead_share: the share of the workers' time spent outside the strategy and the backtest
  kernel (sampling, storage, bookkeeping): 1 - (targets + kernel time) / worker time, of
  which storage_share (reading and writing the study) and sampling_share (TPE);
* analysis_seconds: choosing per fold, out-of-sample runs, DSR, PBO, bootstrap (once).

With ``--json`` the last line is one JSON object with these keys.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import optuna

from xsmom.config import config_from_dict
from xsmom.data import ParquetStore
from xsmom.data.importers import import_data
from xsmom.optimize.analysis import analyze
from xsmom.optimize.runner import SearchSpec, build_evaluator, run_search
from xsmom.optimize.storage import make_storage, sqlite_url

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
SUBDIRS = (
    "ohlcv/binance_usdm/parquet/1h",
    "mark/binance_usdm/parquet/1h",
    "funding/binance_usdm/parquet",
)


def shared_store(shared: Path, cache: Path) -> Path:
    """Import the shared hourly data into ``cache`` once (a marker file records it)."""
    marker = cache / ".imported"
    if marker.exists():
        return cache
    if not (shared / "README.md").is_file():
        sys.exit(f"shared data not found at {shared}")
    store = ParquetStore(cache)
    for sub in SUBDIRS:
        import_data(shared / sub, store, timeframes=["1h"])
    marker.write_text("ok\n")
    return cache


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=SHARED)
    ap.add_argument(
        "--cache", type=Path, default=Path(tempfile.gettempdir()) / "xsmom-bench-shared-1h"
    )
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--folds", type=int, default=4)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--train", default="90d")
    ap.add_argument("--test", default="30d")
    ap.add_argument(
        "--start",
        default="",
        help="first day of data used (default '': all history, 2019-09 to 2026-05)",
    )
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    store = shared_store(args.shared, args.cache)
    cfg = config_from_dict(
        {
            # the shared data lacks funding in places (BCH before 2025-05, ENA/RENDER/TON
            # 2025-07..12, a few last events): measure speed, report the uncovered share
            "backtest": {"allow_funding_gaps": True},
            "optimize": {
                "folds": {
                    "n_folds": args.folds,
                    "train": args.train,
                    "test": args.test,
                    "start": args.start or None,
                }
            },
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        url = sqlite_url(Path(tmp) / "bench.db")
        spec = SearchSpec.make(cfg, str(store), url, "bench", args.trials)
        t0 = time.perf_counter()
        ev = build_evaluator(spec)
        load_s = time.perf_counter() - t0
        t1 = time.perf_counter()
        reports = run_search(spec, ev, workers=args.workers, progress=not args.json)
        search_s = time.perf_counter() - t1
        t2 = time.perf_counter()
        an = analyze(optuna.load_study(study_name="bench", storage=make_storage(url)), ev)
        analysis_s = time.perf_counter() - t2
    worker_s = sum(r.seconds for r in reports)
    research_s = sum(r.research_seconds for r in reports)
    result = {
        "trials": an.n_trials,
        "failed": an.n_failed,
        "folds": args.folds,
        "workers": args.workers,
        "bars": ev.panel.n_bars,
        "symbols": ev.panel.n_symbols,
        "seconds": round(search_s, 3),
        "trials_per_second": round(an.n_trials / search_s, 3),
        "overhead_share": round(1.0 - research_s / worker_s, 4) if worker_s else None,
        "storage_share": round(sum(r.storage_seconds for r in reports) / worker_s, 4),
        "sampling_share": round(sum(r.sampling_seconds for r in reports) / worker_s, 4),
        "research_seconds_per_trial": round(research_s / max(an.n_trials, 1), 4),
        "load_seconds": round(load_s, 3),
        "analysis_seconds": round(analysis_s, 3),
        "oos_sharpe": round(an.oos_sharpe, 4),
        "deflated_sharpe": round(an.deflated_sharpe, 4),
        "pbo": round(an.pbo, 4),
    }
    if not args.json:
        for k, v in result.items():
            print(f"{k:>28}: {v}")
    print(json.dumps(result) if args.json else "")


if __name__ == "__main__":
    main()
