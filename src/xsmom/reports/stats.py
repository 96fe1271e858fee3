"""The statistics table of a backtest, with plain names and units (docs/reports.md).

Inputs are the backtest's own outputs (equity per bar, costs per bar, held exposure per bar,
the fill and funding logs) and the store's closes for the benchmarks; every figure here can be
recomputed from ``equity.csv``, ``trades.parquet`` and ``funding.parquet`` with pandas.

* benchmark (equal weight): the initial equity split equally over the symbols with a price
  at the first bar, bought at that bar's close and held; BTC: all of it in BTC
* exposure time: share of bars that end with a position (gross exposure > 0)
* max drawdown duration: the longest time from a peak to the first bar back at that peak
  (or to the end), in days; the initial equity is the first peak, at the first bar
* trade figures come from :func:`xsmom.reports.trades.round_trips`, closed trades only:
  win rate, best / worst / average trade, profit factor (gross wins / gross losses) and
  expectancy (average PnL per trade = win rate x average win + loss rate x average loss)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

F64 = npt.NDArray[np.float64]
DAY_MS = 86_400_000


@dataclass(frozen=True, kw_only=True)
class RunSeries:
    """What the statistics and charts of one run read; timestamps in ms UTC, one per bar."""

    timestamps: npt.NDArray[np.int64]
    equity: F64
    initial: float
    bars_per_year: float
    fees: F64  # per bar, quote currency
    slippage: F64
    funding: F64  # paid (> 0) per bar
    traded: F64  # traded notional per bar
    long_exposure: F64  # sum of long notional / equity at each close
    short_exposure: F64  # sum of |short notional| / equity
    close: pd.DataFrame  # store closes of the window, columns = symbols

    @property
    def index(self) -> pd.DatetimeIndex:
        """Return the bars as a UTC DatetimeIndex."""
        return pd.DatetimeIndex(pd.to_datetime(self.timestamps, unit="ms", utc=True))

    def equity_series(self) -> pd.Series:
        """Return equity on the UTC index."""
        return pd.Series(self.equity, index=self.index, name="equity")


def benchmarks(run: RunSeries, btc: str = "BTC/USDT:USDT") -> dict[str, pd.Series]:
    """Return buy-and-hold equity curves from the run's initial equity (module docstring)."""
    close = run.close.ffill()
    first = close.iloc[0]
    held = [c for c in close.columns if np.isfinite(first[c]) and first[c] > 0]
    out: dict[str, pd.Series] = {}
    if held:
        units = run.initial / len(held) / first[held]
        out["buy & hold, equal weight"] = (close[held] * units).sum(axis=1)
    if btc in held:
        out["buy & hold BTC"] = close[btc] / first[btc] * run.initial
    return {k: pd.Series(v.to_numpy(float), index=run.index) for k, v in out.items()}


def max_dd_duration_days(ts: npt.NDArray[np.int64], equity: F64, initial: float) -> float:
    """Return the longest peak-to-recovery time in days (module docstring)."""
    peak, peak_ts, longest, under = initial, int(ts[0]), 0, False
    for t, e in zip(ts.tolist(), equity.tolist(), strict=True):
        if e >= peak:
            if under:  # back at the peak: the drawdown lasted until this bar
                longest = max(longest, t - peak_ts)
            peak, peak_ts, under = e, t, False
        else:
            under = True
            longest = max(longest, t - peak_ts)
    return longest / DAY_MS


def _trade_stats(trips: pd.DataFrame) -> dict[str, float]:
    closed = trips[trips["status"] == "closed"]
    pnl = closed["pnl"].to_numpy(float)
    wins, losses = pnl[pnl > 0], pnl[pnl <= 0]
    n = len(pnl)
    gross_loss = -losses.sum()
    out = {
        "trades": float(n),
        "open_trades": float((trips["status"] == "open").sum()),
        "win_rate": wins.size / n * 100.0 if n else math.nan,
        "best_trade": float(pnl.max()) if n else math.nan,
        "worst_trade": float(pnl.min()) if n else math.nan,
        "avg_trade": float(pnl.mean()) if n else math.nan,
        "avg_win": float(wins.mean()) if wins.size else math.nan,
        "avg_loss": float(losses.mean()) if losses.size else math.nan,
        "profit_factor": float(wins.sum() / gross_loss) if gross_loss > 0 else math.nan,
        "best_trade_pct": float(closed["return_pct"].max()) if n else math.nan,
        "worst_trade_pct": float(closed["return_pct"].min()) if n else math.nan,
        "avg_trade_pct": float(closed["return_pct"].mean()) if n else math.nan,
    }
    p = out["win_rate"] / 100.0
    out["expectancy"] = (
        p * out["avg_win"] + (1 - p) * out["avg_loss"]
        if n and wins.size and losses.size
        else out["avg_trade"]
    )
    held = (closed["exit_time"].astype(float) - closed["entry_time"].astype(float)) / 3_600_000
    out["avg_hold_hours"] = float(held.mean()) if n else math.nan
    for side in ("long", "short"):
        s = closed[closed["direction"] == side]["pnl"].to_numpy(float)
        out[f"{side}_trades"] = float(s.size)
        out[f"{side}_pnl"] = float(s.sum())
        out[f"{side}_win_rate"] = float((s > 0).mean() * 100.0) if s.size else math.nan
    return out


def compute_stats(
    run: RunSeries, trips: pd.DataFrame, metrics: Mapping[str, float]
) -> dict[str, float]:
    """Return every figure of the statistics table, keyed by ``STAT_ROWS``'s keys."""
    eq = run.equity
    bench = benchmarks(run)
    gross = run.long_exposure + run.short_exposure
    start, end = int(run.timestamps[0]), int(run.timestamps[-1])
    out: dict[str, float] = {
        "start_ms": float(start),
        "end_ms": float(end),
        "period_days": (end - start) / DAY_MS,
        "start_value": run.initial,
        "end_value": float(eq[-1]),
        "total_return": (float(eq[-1]) / run.initial - 1.0) * 100.0,
        "max_gross_exposure": float(gross.max()),
        "avg_gross_exposure": float(gross.mean()),
        "exposure_time": float((gross > 0).mean() * 100.0),
        "total_fees": float(run.fees.sum()),
        "total_slippage": float(run.slippage.sum()),
        "total_funding": float(run.funding.sum()),
        "max_drawdown": metrics["max_drawdown"] * 100.0,
        "max_dd_days": max_dd_duration_days(run.timestamps, eq, run.initial),
        "cagr": metrics["cagr"] * 100.0,
        "sharpe": metrics["sharpe"],
        "sortino": metrics["sortino"],
        "calmar": metrics["calmar"],
        "turnover": metrics["turnover"],
    }
    for name, key in (("buy & hold, equal weight", "bench_ew"), ("buy & hold BTC", "bench_btc")):
        s = bench.get(name)
        out[key] = (float(s.iloc[-1]) / run.initial - 1.0) * 100.0 if s is not None else math.nan
    out.update(_trade_stats(trips))
    return out


def _date(v: float) -> str:
    return pd.Timestamp(int(v), unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M UTC")


# (key, plain name, unit/format); the unit is part of the name people read.
STAT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("start_ms", "Start", "date"),
    ("end_ms", "End (last bar)", "date"),
    ("period_days", "Period", "days"),
    ("start_value", "Start value", "USDT"),
    ("end_value", "End value", "USDT"),
    ("total_return", "Total return", "%"),
    ("bench_ew", "Benchmark return: buy & hold, equal weight", "%"),
    ("bench_btc", "Benchmark return: buy & hold BTC", "%"),
    ("cagr", "Annual growth (CAGR)", "%"),
    ("max_gross_exposure", "Max gross exposure", "x equity"),
    ("avg_gross_exposure", "Average gross exposure", "x equity"),
    ("exposure_time", "Exposure time (bars holding a position)", "%"),
    ("turnover", "Turnover (traded notional / mean equity per year)", "x per year"),
    ("total_fees", "Costs: fees", "USDT"),
    ("total_slippage", "Costs: slippage", "USDT"),
    ("total_funding", "Costs: funding paid (< 0: received)", "USDT"),
    ("max_drawdown", "Max drawdown", "%"),
    ("max_dd_days", "Max drawdown duration", "days"),
    ("sharpe", "Sharpe ratio (annualized)", "ratio"),
    ("sortino", "Sortino ratio (annualized)", "ratio"),
    ("calmar", "Calmar ratio (CAGR / max drawdown)", "ratio"),
    ("trades", "Trades (closed round trips)", "count"),
    ("open_trades", "Trades still open at the end", "count"),
    ("win_rate", "Win rate", "%"),
    ("best_trade", "Best trade", "USDT"),
    ("worst_trade", "Worst trade", "USDT"),
    ("avg_trade", "Average trade", "USDT"),
    ("best_trade_pct", "Best trade (return on entry notional)", "%"),
    ("worst_trade_pct", "Worst trade (return on entry notional)", "%"),
    ("avg_trade_pct", "Average trade (return on entry notional)", "%"),
    ("avg_win", "Average winning trade", "USDT"),
    ("avg_loss", "Average losing trade", "USDT"),
    ("profit_factor", "Profit factor (gross wins / gross losses)", "ratio"),
    ("expectancy", "Expectancy (average PnL per trade)", "USDT"),
    ("avg_hold_hours", "Average holding time", "hours"),
    ("long_trades", "Long trades", "count"),
    ("long_pnl", "Long trades PnL", "USDT"),
    ("long_win_rate", "Long win rate", "%"),
    ("short_trades", "Short trades", "count"),
    ("short_pnl", "Short trades PnL", "USDT"),
    ("short_win_rate", "Short win rate", "%"),
)


def format_stat(value: float, unit: str) -> str:
    """Format one figure with its unit; NaN reads 'n/a'."""
    if unit == "date":
        return _date(value)
    if not math.isfinite(value):
        return "n/a"
    if unit == "count":
        return f"{value:,.0f}"
    if unit == "USDT":
        return f"{value:,.2f} USDT"
    if unit == "%":
        return f"{value:,.2f} %"
    if unit in {"days", "hours"}:
        return f"{value:,.1f} {unit}"
    if unit == "ratio":
        return f"{value:.3f}"
    return f"{value:,.2f} {unit}"


def stats_rows(stats: Mapping[str, float]) -> list[tuple[str, str]]:
    """Return (plain name, formatted value with unit) rows in table order."""
    return [(name, format_stat(stats[key], unit)) for key, name, unit in STAT_ROWS]


def monthly_returns(equity: pd.Series, initial: float) -> pd.DataFrame:
    """Return compounded monthly returns in %, years x months (Jan..Dec), NaN where no bar."""
    ends = equity.resample("ME").last().dropna()
    prev = pd.Series([initial, *ends.iloc[:-1]], index=ends.index)
    ret = (ends / prev - 1.0) * 100.0
    idx = pd.DatetimeIndex(ret.index)
    table = pd.DataFrame({"year": idx.year, "month": idx.month, "r": ret.to_numpy()})
    out = table.pivot(index="year", columns="month", values="r")
    out = out.reindex(columns=range(1, 13))
    out.columns = pd.Index(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    )
    return out


def rolling_sharpe(equity: pd.Series, initial: float, window_days: int = 30) -> pd.Series:
    """Return the rolling Sharpe of daily returns over ``window_days``, x sqrt(365)."""
    daily = equity.resample("D").last().dropna()
    r = daily / pd.Series([initial, *daily.iloc[:-1]], index=daily.index) - 1.0
    roll = r.rolling(window_days)
    return (roll.mean() / roll.std(ddof=1) * math.sqrt(365.0)).dropna()


def daily_exposure(run: RunSeries) -> pd.DataFrame:
    """Return the daily mean of long, short (as a negative number), gross and net exposure."""
    df = pd.DataFrame(
        {
            "long": run.long_exposure,
            "short": -run.short_exposure,
            "gross": run.long_exposure + run.short_exposure,
            "net": run.long_exposure - run.short_exposure,
        },
        index=run.index,
    )
    return df.resample("D").mean().dropna(how="all")


def daily_turnover(run: RunSeries) -> pd.Series:
    """Return traded notional per day / that day's mean equity."""
    df = pd.DataFrame({"traded": run.traded, "equity": run.equity}, index=run.index)
    day = df.resample("D").agg({"traded": "sum", "equity": "mean"})
    return (day["traded"] / day["equity"]).dropna()
