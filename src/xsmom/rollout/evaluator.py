"""The evaluator's statistics: live daily figures against the backtest of the same days.

Inputs are paired daily series over one window: live and backtest returns (equity at each
day's end over the day before) and costs paid (fees and slippage as a fraction of the
window's starting equity). Four figures, each "higher is better":

* ``sharpe``: mean / std (ddof 1, at least 0.01 %) of daily returns x sqrt(365);
* ``total_return``: product of (1 + r) - 1;
* ``drawdown``: minus the largest fall from a running peak of the compounded returns;
* ``costs``: minus the sum of the daily costs.

Band (a paired moving-block bootstrap): the same resampled days are taken from both series,
``delta* = figure(live*) - figure(backtest*)``; the spread ``delta* - delta`` is how much the
live-minus-backtest gap moves from sampling alone. The band for the live figure is the
backtest figure plus the ``(1-c)/2`` and ``(1+c)/2`` quantiles of that spread, widened by the
figure's tolerance. In or above the band: consistent with the backtest. Below the band's low
end by more than ``rollback_threshold`` x tolerance: worse than the backtest beyond doubt.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.config.rollout import EvaluatorConfig
from xsmom.errors import DataError

F64 = npt.NDArray[np.float64]
DAYS_PER_YEAR = 365.0
MIN_DAILY_STD = 1e-4  # 0.01 %: a resample of near-identical days must not explode the Sharpe
FIGURES = ("sharpe", "total_return", "drawdown", "costs")
PROMOTE, HOLD, ROLLBACK = "promote", "hold", "rollback"


def sharpe(r: F64, c: F64) -> float:
    """Return the annualized Sharpe ratio of daily returns (0 with < 2 days)."""
    if r.size < 2:
        return 0.0
    sd = max(float(np.std(r, ddof=1)), MIN_DAILY_STD)
    return float(np.mean(r)) / sd * math.sqrt(DAYS_PER_YEAR)


def total_return(r: F64, c: F64) -> float:
    """Return the compounded return of the days."""
    return float(np.prod(1.0 + r) - 1.0)


def drawdown(r: F64, c: F64) -> float:
    """Return minus the maximum drawdown of the compounded returns (0 = none)."""
    curve = np.concatenate(([1.0], np.cumprod(1.0 + r)))
    peak = np.maximum.accumulate(curve)
    return -float(np.max(1.0 - curve / peak))


def costs(r: F64, c: F64) -> float:
    """Return minus the costs paid, as a fraction of the starting equity."""
    return -float(np.sum(c))


STATS: dict[str, Callable[[F64, F64], float]] = {
    "sharpe": sharpe,
    "total_return": total_return,
    "drawdown": drawdown,
    "costs": costs,
}


def tolerance(cfg: EvaluatorConfig, figure: str) -> float:
    """Return the configured tolerance of ``figure``."""
    return {
        "sharpe": cfg.sharpe_tolerance,
        "total_return": cfg.return_tolerance,
        "drawdown": cfg.drawdown_tolerance,
        "costs": cfg.cost_tolerance,
    }[figure]


@dataclass(frozen=True, kw_only=True)
class Band:
    """One figure: live, backtest, and the band the live value should fall in."""

    figure: str
    live: float
    backtest: float
    low: float
    high: float
    floor: float  # below this: roll back

    @property
    def status(self) -> str:
        """Return ``above``, ``in``, ``below`` or ``far_below`` (under the rollback floor)."""
        if self.live < self.floor:
            return "far_below"
        if self.live < self.low:
            return "below"
        return "above" if self.live > self.high else "in"

    def to_json(self) -> dict[str, float | str]:
        """Return a JSON-safe dict."""
        return {
            "live": self.live,
            "backtest": self.backtest,
            "low": self.low,
            "high": self.high,
            "floor": self.floor,
            "status": self.status,
        }


@dataclass(frozen=True, kw_only=True)
class Paired:
    """Daily live and backtest returns and costs over the same days."""

    live_returns: F64
    bt_returns: F64
    live_costs: F64
    bt_costs: F64
    note: str = ""  # how the live series were adjusted (real execution at small), if at all

    def __post_init__(self) -> None:
        n = self.live_returns.size
        sizes = {n, self.bt_returns.size, self.live_costs.size, self.bt_costs.size}
        if len(sizes) != 1:
            raise DataError(f"paired series differ in length: {sorted(sizes)}")
        for name in ("live_returns", "bt_returns", "live_costs", "bt_costs"):
            if not np.all(np.isfinite(getattr(self, name))):
                raise DataError(f"evaluator input {name} has a missing or infinite value")

    @property
    def days(self) -> int:
        """Return the number of paired days."""
        return int(self.live_returns.size)


def block_indices(
    n: int, block: int, samples: int, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Return ``samples`` x ``n`` day indices drawn as moving blocks of ``block`` days."""
    b = max(1, min(block, n))
    per = -(-n // b)
    starts = rng.integers(0, n - b + 1, size=(samples, per))
    idx = (starts[:, :, None] + np.arange(b)[None, None, :]).reshape(samples, per * b)
    return np.asarray(idx[:, :n], dtype=np.int64)


def bands(data: Paired, cfg: EvaluatorConfig) -> dict[str, Band]:
    """Return the band of every figure (paired moving-block bootstrap, seeded)."""
    n = data.days
    if n < 2:
        raise DataError(f"the evaluator needs at least 2 daily returns, got {n}")
    rng = np.random.default_rng(cfg.seed)
    idx = block_indices(n, cfg.block_days, cfg.bootstrap_samples, rng)
    lo_q, hi_q = (1 - cfg.confidence) / 2, (1 + cfg.confidence) / 2
    out: dict[str, Band] = {}
    for name, stat in STATS.items():
        live = stat(data.live_returns, data.live_costs)
        bt = stat(data.bt_returns, data.bt_costs)
        spread = np.array(
            [
                stat(data.live_returns[i], data.live_costs[i])
                - stat(data.bt_returns[i], data.bt_costs[i])
                for i in idx
            ]
        ) - (live - bt)
        tol = tolerance(cfg, name)
        low = bt + float(np.quantile(spread, lo_q)) - tol
        high = bt + float(np.quantile(spread, hi_q)) + tol
        floor = low - cfg.rollback_threshold * tol
        out[name] = Band(figure=name, live=live, backtest=bt, low=low, high=high, floor=floor)
    return out


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What the evaluator says about one version at its stage, and why."""

    action: str  # promote, hold, rollback
    reasons: tuple[str, ...]
    days: int = 0
    fills: int = 0
    hours: float = 0.0
    bands: Mapping[str, Band] | None = None

    def to_json(self) -> dict[str, object]:
        """Return a JSON-safe dict (the ``evaluation`` of ``xsmom rollout status --json``)."""
        return {
            "action": self.action,
            "reasons": list(self.reasons),
            "days": self.days,
            "fills": self.fills,
            "hours": round(self.hours, 3),
            "figures": {k: b.to_json() for k, b in (self.bands or {}).items()},
        }


def describe(b: Band) -> str:
    """Return one line on a band, e.g. ``sharpe 0.41 below its band [0.80, 1.90]``."""
    return (
        f"{b.figure} {b.live:.4g} {b.status.replace('_', ' ')} its band [{b.low:.4g}, {b.high:.4g}]"
    )


def judge(
    data: Paired | None,
    cfg: EvaluatorConfig,
    *,
    fills: int,
    hours: float,
    min_fills: int,
    min_hours: float,
) -> Verdict:
    """Return promote, hold or roll back for one version from its paired daily figures.

    Roll back when a figure is under its floor (after ``min_days``); promote when the stage's
    minimum hours and fills are met and every figure is in or above its band; else hold.
    """
    days = 0 if data is None else data.days
    if data is None or days < cfg.min_days:
        why = (f"{days} of {cfg.min_days} daily returns",)
        return Verdict(action=HOLD, reasons=why, days=days, fills=fills, hours=hours)
    bs = bands(data, cfg)
    far = [describe(b) for b in bs.values() if b.status == "far_below"]
    if far:
        return Verdict(
            action=ROLLBACK, reasons=tuple(far), bands=bs, days=days, fills=fills, hours=hours
        )
    waits = [describe(b) for b in bs.values() if b.status == "below"]
    if hours < min_hours:
        waits.append(f"{hours:.1f} of {min_hours:g} hours at this stage")
    if fills < min_fills:
        waits.append(f"{fills} of {min_fills} fills")
    if waits:
        return Verdict(
            action=HOLD, reasons=tuple(waits), bands=bs, days=days, fills=fills, hours=hours
        )
    ok = ("every figure in or above its band",)
    return Verdict(action=PROMOTE, reasons=ok, bands=bs, days=days, fills=fills, hours=hours)
