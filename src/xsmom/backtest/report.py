"""Write a backtest's outputs: metrics.json, equity.csv, weights.parquet, trades.parquet,
funding.parquet, attribution.csv, report.html (self-contained, opens offline)."""

from __future__ import annotations

import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.backtest import kernel as k
from xsmom.backtest.charts import area_chart, bar_chart, line_chart
from xsmom.backtest.engine import BacktestResult
from xsmom.backtest.metrics import METRIC_KEYS
from xsmom.data.atomic import atomic_write, atomic_write_text

_PCT = {"total_return", "cagr", "max_drawdown", "hit_rate"}
_STYLE = """body{font-family:system-ui,sans-serif;margin:2em;max-width:1100px;color:#222}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 10px;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
img{max-width:100%}h2{margin-top:1.6em}.meta{color:#666;font-size:90%}"""


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


def _table(df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in [df.index.name or "", *df.columns])
    rows = []
    for idx, row in df.iterrows():
        cells = "".join(f"<td>{v:,.2f}</td>" for v in row.to_numpy(dtype=float))
        rows.append(f"<tr><td>{html.escape(str(idx))}</td>{cells}</tr>")
    return f"<table><tr>{head}</tr>{''.join(rows)}</table>"


def render_html(result: BacktestResult, title: str, meta: dict[str, str]) -> str:
    """Return the HTML report: metrics, equity, drawdown, exposure and attribution charts."""
    ts = result.timestamps
    eq = result.equity
    peak = np.maximum.accumulate(np.concatenate(([result.initial_equity], eq)))[1:]
    dd = -(1.0 - eq / peak)
    attr = result.attribution.sort_values("total")
    metric_rows = "".join(
        f"<tr><td>{k}</td><td>{format_metric(k, result.metrics[k])}</td></tr>" for k in METRIC_KEYS
    )
    meta_html = "<br>".join(f"{html.escape(k)}: {html.escape(v)}" for k, v in meta.items())
    comp = attr[["price", "fees", "slippage", "funding"]].sum()
    comp_vals = np.array([comp["price"], -comp["fees"], -comp["slippage"], -comp["funding"]])
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>",
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>",
        f"<p class='meta'>{meta_html}</p><h2>Metrics</h2>",
        f"<table><tr><th>metric</th><th>value</th></tr>{metric_rows}</table>",
        "<h2>Equity</h2>",
        line_chart(ts, {"equity": eq}, "Equity (quote currency)"),
        "<h2>Drawdown</h2>",
        area_chart(ts, dd, "Drawdown"),
        "<h2>Exposure</h2>",
        area_chart(
            ts, result.gross_exposure, "Gross exposure (sum |notional| / equity)", "tab:blue"
        ),
        "<h2>Attribution</h2>",
        bar_chart(["price", "fees", "slippage", "funding"], comp_vals, "PnL by component"),
        bar_chart(list(attr.index), attr["total"].to_numpy(float), "Net PnL by symbol"),
        _table(attribution_table(result)),
        "</body></html>",
    ]
    return "\n".join(parts)


def weights_frame(result: BacktestResult) -> pd.DataFrame:
    """Return the target weights, one column per symbol, indexed by bar timestamp."""
    df = pd.DataFrame(result.weights, columns=list(result.symbols))
    df.insert(0, "timestamp", result.timestamps)
    return df


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


def write_outputs(result: BacktestResult, out: Path, title: str, meta: dict[str, str]) -> None:
    """Write every output file of a backtest into ``out``, each atomically."""
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "metrics.json", json.dumps(result.metrics, indent=2, sort_keys=True))
    eq = pd.DataFrame({"timestamp": result.timestamps, "equity": result.equity})
    atomic_write_text(out / "equity.csv", eq.to_csv(index=False))
    _write_parquet(weights_frame(result), out / "weights.parquet")
    _write_parquet(trades_frame(result), out / "trades.parquet")
    _write_parquet(funding_frame(result), out / "funding.parquet")
    atomic_write_text(out / "attribution.csv", attribution_table(result).to_csv())
    atomic_write_text(out / "report.html", render_html(result, title, meta))
