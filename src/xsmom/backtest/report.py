"""Write a backtest's data outputs: metrics.json, equity.csv, weights.parquet, trades.parquet,
funding.parquet, attribution.csv.

The HTML report is drawn by :mod:`xsmom.reports.backtest_page` from the same result; the CLI
writes both, and a copy of the resolved config, into one folder.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.backtest import kernel as k
from xsmom.backtest.engine import BacktestResult
from xsmom.data.atomic import atomic_write, atomic_write_text

_PCT = {"total_return", "cagr", "max_drawdown", "hit_rate"}


def format_metric(key: str, value: float) -> str:
    """Format one metric for people: percentages, ratios or money."""
    if key in _PCT:
        return f"{value * 100:.2f}%"
    if key in {"fees", "funding", "slippage"}:
        return f"{value:,.2f}"
    return f"{value:.3f}"


def attribution_table(result: BacktestResult) -> pd.DataFrame:
    """Return the per-symbol attribution with a TOTAL row."""
    df = result.attribution.copy()
    df.loc["TOTAL"] = df.sum(numeric_only=True)
    return df


def weights_frame(result: BacktestResult) -> pd.DataFrame:
    """Return the target weights, one column per symbol, indexed by bar timestamp."""
    df = pd.DataFrame(result.weights, columns=list(result.symbols))
    df.insert(0, "timestamp", result.timestamps)
    return df


def equity_frame(result: BacktestResult) -> pd.DataFrame:
    """Return equity per bar: ``time`` (ISO 8601 UTC), ``timestamp`` (ms, as in the Parquet
    files) and ``equity``."""
    t = pd.to_datetime(result.timestamps, unit="ms", utc=True)
    return pd.DataFrame(
        {
            "time": t.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "timestamp": result.timestamps,
            "equity": result.equity,
        }
    )


def trades_frame(result: BacktestResult) -> pd.DataFrame:
    """Return every fill: bar timestamp, symbol, side, quantity (> 0), fill price, fee,
    slippage (cost in quote currency) and reason (see ``kernel.TRADE_REASONS``)."""
    log = result.trade_log
    bar = log[:, k.T_BAR].astype(np.int64)
    qty = log[:, k.T_QTY]
    symbols = np.asarray(result.symbols, dtype=object)
    reasons = np.asarray(k.TRADE_REASONS, dtype=object)
    return pd.DataFrame(
        {
            "timestamp": result.timestamps[bar],
            "symbol": symbols[log[:, k.T_SYM].astype(np.int64)],
            "side": np.where(qty > 0, "buy", "sell").astype(object),
            "quantity": np.abs(qty),
            "price": log[:, k.T_PRICE],
            "fee": log[:, k.T_FEE],
            "slippage": log[:, k.T_SLIP],
            "reason": reasons[log[:, k.T_REASON].astype(np.int64)],
        }
    )


def funding_frame(result: BacktestResult) -> pd.DataFrame:
    """Return every funding payment: bar timestamp, symbol, signed position quantity, mark,
    rate and payment (> 0: paid)."""
    log = result.funding_log
    symbols = np.asarray(result.symbols, dtype=object)
    return pd.DataFrame(
        {
            "timestamp": result.timestamps[log[:, k.F_BAR].astype(np.int64)],
            "symbol": symbols[log[:, k.F_SYM].astype(np.int64)],
            "quantity": log[:, k.F_QTY],
            "mark": log[:, k.F_MARK],
            "rate": log[:, k.F_RATE],
            "payment": log[:, k.F_PAY],
        }
    )


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def write_outputs(result: BacktestResult, out: Path, run: Mapping[str, Any]) -> None:
    """Write the data outputs into ``out``, each atomically; ``metrics.json`` holds the
    metrics and, under ``run``, what was run (period, store, symbols, config version)."""
    out.mkdir(parents=True, exist_ok=True)
    doc: dict[str, Any] = {**result.metrics, "run": dict(run)}
    atomic_write_text(out / "metrics.json", json.dumps(doc, indent=2, sort_keys=True))
    atomic_write_text(out / "equity.csv", equity_frame(result).to_csv(index=False))
    _write_parquet(weights_frame(result), out / "weights.parquet")
    _write_parquet(trades_frame(result), out / "trades.parquet")
    _write_parquet(funding_frame(result), out / "funding.parquet")
    atomic_write_text(out / "attribution.csv", attribution_table(result).to_csv())
