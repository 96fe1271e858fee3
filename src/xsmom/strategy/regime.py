"""Regime switch between cross-sectional (xsmom) and time-series (tsmom) momentum.

The ``auto`` rule, evaluated at the close of every bar on trailing data only:

    tsmom  iff  avg_corr >= corr_threshold
           and  dispersion / trailing mean dispersion <= dispersion_threshold
           and  |trend| >= trend_threshold
    xsmom  otherwise

* ``avg_corr``: the implied average pairwise correlation of one-bar returns of the eligible
  names over ``corr_lookback`` bars, from the variance of their equal-weight mean return:
  ``(var(mean) - sum(var_i)/N^2) / ((sum(sd_i)^2 - sum(var_i))/N^2)``.
* ``dispersion``: the cross-sectional standard deviation of the momentum scores; its trailing
  mean is taken over ``dispersion_lookback`` bars.
* ``trend``: the mean over ``trend_symbols`` (BTC and ETH by default) of the t-statistic of
  their log return over ``trend_lookback`` bars. Without those symbols the trend is 0 and the
  rule stays in xsmom.

When names move together, their cross-section carries little information while a strong
market trend does: that is when time-series momentum is chosen.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import RegimeConfig
from xsmom.strategy.cross_section import cs_mean, cs_std
from xsmom.strategy.rolling import lag_diff, rolling_mean, rolling_std

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
XSMOM = 0
TSMOM = 1


def average_correlation(logp: F64, mask: B, lookback: int) -> F64:
    """Return the implied average pairwise correlation of the masked names per bar."""
    ret = lag_diff(logp, 1)
    minc = max(lookback // 2, 2)
    sd = rolling_std(ret, lookback, minc)
    mkt = cs_mean(ret, mask)[:, None]
    var_m = rolling_std(mkt, lookback, minc)[:, 0] ** 2
    use = mask & np.isfinite(sd)
    n = use.sum(axis=1).astype(np.float64)
    sd0 = np.where(use, sd, 0.0)
    sum_var = (sd0**2).sum(axis=1)
    sum_sd = sd0.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        num = var_m - sum_var / n**2
        den = (sum_sd**2 - sum_var) / n**2
        corr = np.where((n >= 2) & (den > 0), num / den, np.nan)
    return np.asarray(np.clip(corr, -1.0, 1.0))


def trend_proxy(symbols: Sequence[str], logp: F64, vol: F64, cfg: RegimeConfig) -> F64:
    """Return the mean t-statistic of the trend symbols' return over ``trend_lookback``."""
    cols = [i for i, s in enumerate(symbols) if s in cfg.trend_symbols]
    if not cols:
        return np.zeros(logp.shape[0])
    sub = logp[:, cols]
    with np.errstate(invalid="ignore", divide="ignore"):
        t = lag_diff(sub, cfg.trend_lookback) / (vol[:, cols] * np.sqrt(cfg.trend_lookback))
    t = np.where(np.isfinite(t), t, np.nan)
    count = np.isfinite(t).sum(axis=1)
    total = np.nansum(t, axis=1)
    return np.asarray(np.where(count > 0, total / np.maximum(count, 1), 0.0))


def dispersion_ratio(score: F64, mask: B, lookback: int) -> F64:
    """Return cross-sectional dispersion of scores divided by its trailing mean."""
    use = mask & np.isfinite(score)
    disp = cs_std(np.where(use, score, 0.0), use)
    mean = rolling_mean(disp[:, None], lookback, max(lookback // 4, 1))[:, 0]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(np.where(mean > 0, disp / mean, np.nan))


def regime_series(
    symbols: Sequence[str], logp: F64, vol: F64, score: F64, mask: B, cfg: RegimeConfig
) -> npt.NDArray[np.int8]:
    """Return the regime (XSMOM=0, TSMOM=1) chosen at the close of each bar."""
    n = logp.shape[0]
    if cfg.mode == "xsmom":
        return np.zeros(n, dtype=np.int8)
    if cfg.mode == "tsmom":
        return np.ones(n, dtype=np.int8)
    corr = average_correlation(logp, mask, cfg.corr_lookback)
    ratio = dispersion_ratio(score, mask, cfg.dispersion_lookback)
    trend = trend_proxy(symbols, logp, vol, cfg)
    ts = (
        (np.nan_to_num(corr, nan=-1.0) >= cfg.corr_threshold)
        & (np.nan_to_num(ratio, nan=np.inf) <= cfg.dispersion_threshold)
        & (np.abs(trend) >= cfg.trend_threshold)
    )
    return ts.astype(np.int8)
