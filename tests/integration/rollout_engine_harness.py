"""Set-up of the rollout tests on the real engine: a 4-hour venue, configs, the CLI's wiring.

Four-hour bars keep the staged rollout short in bars (a day is 6 bars, so the evaluator's two
daily returns per stage take about 13 bars) while the engine, the venue and ccxt run for real.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
from live_harness import START_MS, SYMBOLS, fast_config

from xsmom.data.bundled import sample_store
from xsmom.data.store import Kind, ParquetStore
from xsmom.venue.testing import RunningVenue, start_venue

BAR = 4 * 3_600_000
TF = "4h"


def four_hour_store(root: Path) -> Path:
    """Write the bundled sample's symbols resampled to 4-hour bars (funding as is) to ``root``."""
    src, dst = sample_store(), ParquetStore(root)
    agg = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}
    for sym in SYMBOLS:
        for kind in (Kind.OHLCV, Kind.MARK):
            df = src.read(kind, sym, "1h")
            df["bucket"] = df["timestamp"] // BAR * BAR
            out = (
                df.groupby("bucket").agg(agg).reset_index().rename(columns={"bucket": "timestamp"})
            )
            counts = df.groupby("bucket").size().to_numpy()
            out = out[counts == 4].reset_index(drop=True)  # whole 4-hour bars only
            dst.write(kind, sym, pd.DataFrame(out), TF)
        dst.write(Kind.FUNDING, sym, src.read(Kind.FUNDING, sym))
    return root


@contextmanager
def venue4h(store: Path, **kw: Any) -> Iterator[RunningVenue]:
    """Start the venue over the 4-hour store, clock frozen at the harness's start."""
    kw.setdefault("weight_limit", 1_000_000)
    with start_venue(
        store, start=START_MS, speed=0.0, timeframe=TF, symbols=list(SYMBOLS), **kw
    ) as rv:
        yield rv


def rollout_doc(k: int = 1, **rollout: Any) -> dict[str, Any]:
    """Return a 4-hour engine config with the rollout enabled and short stages."""
    settings: dict[str, Any] = {
        "enabled": True,
        "paper": {"min_hours": 24, "min_fills": 2},
        "small": {"min_hours": 24, "min_fills": 2, "capital_fraction": 0.25},
        "evaluator": {"min_days": 2, "bootstrap_samples": 200},
        "probation_hours": 0,
        **rollout,
    }
    return fast_config(
        data__timeframe=TF,
        strategy__selection__k=k,
        live__engine__warmup_bars=120,
        rollout=settings,
    )
