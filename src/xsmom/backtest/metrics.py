"""Performance metrics from an equity curve and the kernel's cost totals.

Definitions (``r`` = per-bar simple returns of equity, starting from the initial equity;
``B`` = bars per year of the timeframe):

* total_return = final / initial - 1; cagr = (final / initial) ^ (B / bars) - 1
* sharpe = mean(r) / std(r, ddof=1) * sqrt(B); sortino = mean(r) / sqrt(mean(min(r, 0)^2)) * sqrt(B)
* max_drawdown = max over bars of 1 - equity / running peak (initial equity counts as a peak)
* calmar = cagr / max_drawdown
* turnover = traded notional / mean equity, per year
* fees, funding, slippage: totals in quote currency (funding > 0 means paid)
* hit_rate = winning round trips / closed round trips (a round trip ends when a position
  goes flat or flips; its PnL includes price, fees, slippage and funding)
* exposure = mean gross exposure (sum of |notional| / equity) over bars
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

F64 = npt.NDArray[np.float64]
METRIC_KEYS: tuple[str, ...] = (
    "total_return",
    "cagr",
    "sharpe",
    "sortino",
    "max_drawdown",
    "calmar",
    "turnover",
    "fees",
    "funding",
    "slippage",
    "hit_rate",
    "exposure",
)


def bar_returns(equity: F64, initial: float) -> F64:
    """Return per-bar simple returns, the first one against ``initial``."""
    prev = np.concatenate(([initial], equity[:-1]))
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(prev > 0, equity / prev - 1.0, 0.0)
    return np.asarray(r)


def sharpe_ratio(r: F64, bars_per_year: float) -> float:
    """Return the annualized Sharpe ratio of per-bar returns (0 when flat)."""
    if r.size < 2:
        return 0.0
    sd = float(np.std(r, ddof=1))
    return float(np.mean(r)) / sd * math.sqrt(bars_per_year) if sd > 0 else 0.0


def sortino_ratio(r: F64, bars_per_year: float) -> float:
    """Return the annualized Sortino ratio (downside deviation around 0)."""
    if r.size < 2:
        return 0.0
    dd = math.sqrt(float(np.mean(np.minimum(r, 0.0) ** 2)))
    return float(np.mean(r)) / dd * math.sqrt(bars_per_year) if dd > 0 else 0.0


def max_drawdown(equity: F64, initial: float) -> float:
    """Return the largest peak-to-trough loss as a positive fraction."""
    if equity.size == 0:
        return 0.0
    peak = np.maximum.accumulate(np.concatenate(([initial], equity)))
    with np.errstate(invalid="ignore", divide="ignore"):
        dd = 1.0 - np.concatenate(([initial], equity)) / peak
    return float(np.nanmax(dd))


def cagr(final: float, initial: float, n_bars: int, bars_per_year: float) -> float:
    """Return the compound annual growth rate."""
    if n_bars == 0:
        return 0.0
    if final <= 0:
        return -1.0
    return float((final / initial) ** (bars_per_year / n_bars) - 1.0)


def compute_metrics(
    equity: F64,
    initial: float,
    bars_per_year: float,
    *,
    fees: float = 0.0,
    funding: float = 0.0,
    slippage: float = 0.0,
    traded_notional: float = 0.0,
    gross_exposure: F64 | None = None,
    wins: float = 0.0,
    losses: float = 0.0,
) -> dict[str, float]:
    """Return every metric of the module docstring, keyed as in METRIC_KEYS."""
    n = int(equity.size)
    final = float(equity[-1]) if n else initial
    r = bar_returns(equity, initial)
    c = cagr(final, initial, n, bars_per_year)
    mdd = max_drawdown(equity, initial)
    years = n / bars_per_year if n else 0.0
    mean_eq = float(np.mean(equity)) if n else initial
    return {
        "total_return": final / initial - 1.0,
        "cagr": c,
        "sharpe": sharpe_ratio(r, bars_per_year),
        "sortino": sortino_ratio(r, bars_per_year),
        "max_drawdown": mdd,
        "calmar": c / mdd if mdd > 0 else 0.0,
        "turnover": traded_notional / mean_eq / years if years > 0 and mean_eq > 0 else 0.0,
        "fees": fees,
        "funding": funding,
        "slippage": slippage,
        "hit_rate": wins / (wins + losses) if wins + losses > 0 else 0.0,
        "exposure": float(np.mean(gross_exposure)) if gross_exposure is not None and n else 0.0,
    }
