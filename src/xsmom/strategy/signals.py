"""Momentum scores: risk-adjusted multi-lookback returns and volatility."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import SignalConfig
from xsmom.strategy.at_rows import momentum_at
from xsmom.strategy.rolling import lag_diff, rolling_std

F64 = npt.NDArray[np.float64]


def log_prices(close: F64) -> F64:
    """Return log closes (NaN where there is no bar)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.log(close)


def bar_volatility(logp: F64, lookback: int) -> F64:
    """Return the trailing standard deviation of one-bar log returns."""
    return rolling_std(lag_diff(logp, 1), lookback, max(lookback // 2, 2))


def lookback_weights(cfg: SignalConfig) -> Sequence[float]:
    """Return the normalized weight of each lookback (equal when none are given)."""
    raw = cfg.lookback_weights or tuple(1.0 for _ in cfg.lookbacks)
    total = float(sum(abs(w) for w in raw))
    return [w / total for w in raw] if total > 0 else [0.0 for _ in raw]


def momentum_score(
    logp: F64, vol: F64, cfg: SignalConfig, rows: npt.NDArray[np.int64] | None = None
) -> F64:
    """Return the weighted sum over lookbacks L of ``log return over L / (vol * sqrt(L))``.

    Each term is a t-statistic of the trend over its lookback, so lookbacks of different
    length add on one scale. NaN where any term is missing. With ``rows``, only those bars
    are scored and ``vol`` holds their volatility (one row per entry of ``rows``).
    """
    if rows is not None:
        lbs = np.asarray(cfg.lookbacks, dtype=np.int64)
        return momentum_at(logp, vol, rows, lbs, np.asarray(lookback_weights(cfg), dtype=float))
    score = np.zeros_like(vol)
    with np.errstate(invalid="ignore", divide="ignore"):
        for lb, w in zip(cfg.lookbacks, lookback_weights(cfg), strict=True):
            score += w * lag_diff(logp, lb) / (vol * np.sqrt(lb))
    score[~np.isfinite(score)] = np.nan
    return score
