"""The backtest report page: statistics, interactive charts, attribution and the trade list."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from xsmom.backtest import kernel as k
from xsmom.backtest.engine import BacktestResult
from xsmom.data.atomic import atomic_write_text
from xsmom.data.timeframes import bars_per_year
from xsmom.reports import charts
from xsmom.reports.html import Page, pairs_table, table_html
from xsmom.reports.stats import (
    RunSeries,
    benchmarks,
    compute_stats,
    daily_exposure,
    daily_turnover,
    monthly_returns,
    rolling_sharpe,
    stats_rows,
)
from xsmom.reports.trades import TRADE_COLUMNS

MAX_TRADE_ROWS = 2000
ROLLING_DAYS = 30


def run_series(result: BacktestResult, close: pd.DataFrame, timeframe: str) -> RunSeries:
    """Return the series the report reads; ``result`` must be run with ``record_held``."""
    held = result.held
    if held.shape[0] != result.timestamps.size:
        raise ValueError("the report needs run_backtest(..., record_held=True)")
    bars = result.bars
    return RunSeries(
        timestamps=result.timestamps,
        equity=result.equity,
        initial=result.initial_equity,
        bars_per_year=bars_per_year(timeframe),
        fees=bars[:, k.B_FEES],
        slippage=bars[:, k.B_SLIP],
        funding=bars[:, k.B_FUNDING],
        traded=bars[:, k.B_TRADED],
        long_exposure=np.where(held > 0, held, 0.0).sum(axis=1),
        short_exposure=-np.where(held < 0, held, 0.0).sum(axis=1),
        close=close,
    )


def _iso(ms: pd.Series) -> pd.Series:
    t = pd.to_datetime(ms.astype("float64"), unit="ms", utc=True)
    return t.dt.strftime("%Y-%m-%dT%H:%M:%SZ").where(ms.notna(), "")


def trades_for_humans(trips: pd.DataFrame) -> pd.DataFrame:
    """Return the round trips with ISO 8601 UTC times (for round_trips.csv and the page)."""
    out = trips.copy()
    out["entry_time"] = _iso(trips["entry_time"])
    out["exit_time"] = _iso(trips["exit_time"])
    return out


def _charts(page: Page, run: RunSeries) -> None:
    eq = run.equity_series()
    page.heading("Equity")
    page.figure(charts.equity_figure(eq, benchmarks(run)))
    page.note(
        "Benchmarks start from the same capital: equal weight buys every symbol with a price at "
        "the first bar in equal parts and holds; BTC holds BTC."
    )
    page.figure(charts.drawdown_figure(eq, run.initial))
    page.heading("Returns")
    page.figure(charts.monthly_heatmap(monthly_returns(eq, run.initial)))
    page.figure(
        charts.rolling_sharpe_figure(rolling_sharpe(eq, run.initial, ROLLING_DAYS), ROLLING_DAYS)
    )
    page.heading("Exposure and turnover")
    page.figure(charts.exposure_figure(daily_exposure(run)))
    page.figure(charts.turnover_figure(daily_turnover(run)))


def _attribution(page: Page, attr: pd.DataFrame) -> None:
    page.heading("Attribution")
    comp = attr[["price", "fees", "slippage", "funding"]].sum()
    vals = np.array([comp["price"], -comp["fees"], -comp["slippage"], -comp["funding"]])
    page.figure(
        charts.bar_figure(
            ["price moves", "fees", "slippage", "funding"], vals, "PnL by component", "USDT"
        )
    )
    by = attr.sort_values("total")
    page.figure(
        charts.bar_figure(list(by.index), by["total"].to_numpy(float), "Net PnL by symbol", "USDT")
    )
    table = attr.copy()
    table.loc["TOTAL"] = table.sum(numeric_only=True)
    page.note("USDT; fees, slippage and funding are amounts paid (funding < 0: received).")
    page.raw(table_html(table, formats={"round_trips": lambda v: f"{float(str(v)):.0f}"}))


def _trade_list(page: Page, trips: pd.DataFrame | None) -> None:
    page.heading("Trades")
    if trips is None:
        page.note("No trade log in this run.")
        return
    shown = trades_for_humans(trips)
    if len(shown) > MAX_TRADE_ROWS:
        page.note(
            f"The last {MAX_TRADE_ROWS} of {len(shown)} trades; round_trips.csv holds all, "
            "trades.parquet every fill."
        )
        shown = shown.tail(MAX_TRADE_ROWS)
    else:
        page.note("round_trips.csv holds these rows, trades.parquet every fill.")
    fmt = {
        "size": lambda v: f"{float(str(v)):.6g}",
        "entry_price": lambda v: f"{float(str(v)):.6g}",
        "exit_price": lambda v: f"{float(str(v)):.6g}",
        "fills": lambda v: str(v),
    }
    page.raw(table_html(shown, formats=fmt, index=False, scroll=True))


def render_backtest_html(
    result: BacktestResult,
    run: RunSeries,
    trips: pd.DataFrame | None,
    title: str,
    meta: Mapping[str, str],
) -> tuple[str, dict[str, float]]:
    """Return the report page and the statistics it shows."""
    empty = pd.DataFrame(columns=TRADE_COLUMNS)
    stats = compute_stats(run, trips if trips is not None else empty, result.metrics)
    page = Page(title, meta)
    page.heading("Statistics")
    page.raw(pairs_table(stats_rows(stats), ("statistic", "value")))
    if result.liquidated:
        page.note("WARNING: the account was liquidated during the backtest.")
    _charts(page, run)
    _attribution(page, result.attribution)
    _trade_list(page, trips)
    return page.render(), stats


def write_backtest_report(
    result: BacktestResult,
    run: RunSeries,
    trips: pd.DataFrame | None,
    out: Path,
    title: str,
    meta: Mapping[str, str],
) -> dict[str, float]:
    """Write ``report.html`` (and ``round_trips.csv`` when there is a trade log) into ``out``;
    return the statistics."""
    page, stats = render_backtest_html(result, run, trips, title, meta)
    atomic_write_text(out / "report.html", page)
    if trips is not None:
        atomic_write_text(out / "round_trips.csv", trades_for_humans(trips).to_csv(index=False))
    return stats
