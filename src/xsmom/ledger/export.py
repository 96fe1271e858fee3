"""Export the ledger to files a user (or independent code) can read.

``targets.parquet`` (timestamp int64 ms UTC bar open time, as the backtest's weights.parquet,
symbol, weight, target_qty, config_version), ``orders.csv``, ``fills.csv``, ``funding.csv``,
``equity.csv``, ``events.csv`` (state changes and guard events, one timeline) and
``config_versions.json`` (the resolved config of every version used, with first/last use).
Timestamps in the CSV files are ISO 8601 UTC with milliseconds (``2026-01-02T03:00:00.000Z``).
Each file is written atomically.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.data.atomic import atomic_write, atomic_write_text
from xsmom.errors import ConfigError
from xsmom.ledger.ledger import Ledger, LedgerReads

FILES = (
    "targets.parquet",
    "orders.csv",
    "fills.csv",
    "funding.csv",
    "equity.csv",
    "events.csv",
    "config_versions.json",
)

ORDER_COLUMNS = (
    "created",
    "updated",
    "client_id",
    "venue_order_id",
    "symbol",
    "side",
    "type",
    "qty",
    "price",
    "stop_price",
    "reduce_only",
    "post_only",
    "bar",
    "reason",
    "attempt",
    "config_version",
    "status",
    "filled_qty",
    "avg_price",
)
FILL_COLUMNS = (
    "timestamp",
    "symbol",
    "trade_id",
    "client_id",
    "venue_order_id",
    "side",
    "qty",
    "price",
    "fee",
    "fee_currency",
    "realized_pnl",
    "is_maker",
    "liquidation",
)
FUNDING_COLUMNS = (
    "timestamp",
    "symbol",
    "rate",
    "qty",
    "mark_price",
    "amount",
    "venue_id",
    "expected",
)
EQUITY_COLUMNS = ("timestamp", "equity", "wallet", "unrealized", "margin_ratio")
EVENT_COLUMNS = ("timestamp", "source", "name", "event", "from_state", "to_state", "reason")


def iso_ms(ms: pd.Series) -> pd.Series:
    """Format epoch-ms integers as ISO 8601 UTC strings with milliseconds (empty for null)."""
    dt = pd.to_datetime(ms.astype("Int64"), unit="ms", utc=True)
    out = dt.dt.strftime("%Y-%m-%dT%H:%M:%S.%f").str[:-3] + "Z"
    return out.where(ms.notna(), "")


def check_out(out: Path, force: bool) -> None:
    """Refuse an existing non-empty ``out`` unless ``force`` (checked before any work)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ConfigError(f"--out {out} exists and is not empty: choose another or use --force")


def _frame(rows: Sequence[Any], columns: Sequence[str], **iso: str) -> pd.DataFrame:
    """Build a frame of ``columns`` from view dataclasses; ``iso`` maps column <- ms field."""
    df = pd.DataFrame([dataclasses.asdict(r) for r in rows])
    if df.empty:
        return pd.DataFrame(columns=list(columns))
    for col, src in iso.items():
        df[col] = iso_ms(df[src])
    return df[list(columns)]


def _write_csv(path: Path, df: pd.DataFrame) -> None:
    atomic_write_text(path, df.to_csv(index=False))


def export_ledger(ledger: Ledger, out: Path, *, force: bool = False) -> dict[str, int]:
    """Write the export files into ``out``; return the number of rows of each file.

    Every table is read in one read transaction, so the files agree with each other even while
    the engine writes.
    """
    check_out(out, force)
    out.mkdir(parents=True, exist_ok=True)
    with ledger.snapshot() as snap:
        return _export(snap, out)


def _export(ledger: LedgerReads, out: Path) -> dict[str, int]:
    counts: dict[str, int] = {}

    targets = ledger.targets_series()
    table = pa.table(
        {
            "timestamp": pa.array([t.bar_ts for t in targets], pa.int64()),
            "symbol": pa.array([t.symbol for t in targets], pa.string()),
            "weight": pa.array([t.weight for t in targets], pa.float64()),
            "target_qty": pa.array([t.target_qty for t in targets], pa.float64()),
            "config_version": pa.array([t.config_version for t in targets], pa.string()),
        }
    )
    atomic_write(out / "targets.parquet", lambda tmp: pq.write_table(table, tmp))
    counts["targets.parquet"] = len(targets)

    orders = ledger.orders()
    frames = {
        "orders.csv": _frame(
            orders, ORDER_COLUMNS, created="created_ms", updated="updated_ms", bar="bar_ts"
        ),
        "fills.csv": _frame(ledger.fills(), FILL_COLUMNS, timestamp="ts"),
        "funding.csv": _frame(ledger.funding(), FUNDING_COLUMNS, timestamp="ts"),
        "equity.csv": _frame(ledger.equity_series(), EQUITY_COLUMNS, timestamp="ts"),
        "events.csv": _events(ledger),
    }
    for name, df in frames.items():
        _write_csv(out / name, df)
        counts[name] = len(df)
    versions = [dataclasses.asdict(v) for v in ledger.config_versions()]
    atomic_write_text(out / "config_versions.json", json.dumps(versions, indent=2) + "\n")
    counts["config_versions.json"] = len(versions)
    return counts


def _events(ledger: LedgerReads) -> pd.DataFrame:
    events = ledger.events()
    df = _frame(events, EVENT_COLUMNS, timestamp="ts")
    detail = [json.dumps(dict(e.detail), sort_keys=True) if e.detail else "" for e in events]
    return df.assign(detail=detail) if events else df.assign(detail=pd.Series(dtype=str))
