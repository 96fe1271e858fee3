"""Overfitting statistics: deflated Sharpe, PBO by CSCV, bootstrap interval of a Sharpe ratio.

* Deflated Sharpe ratio: Bailey & López de Prado (2014), "The Deflated Sharpe Ratio:
  Correcting for Selection Bias, Backtest Overfitting and Non-Normality", Journal of
  Portfolio Management 40(5). Sharpe ratios here are per observation (not annualized) and
  kurtosis is the raw (non-excess) kurtosis, 3 for a normal distribution.
* Probability of backtest overfitting: Bailey, Borwein, López de Prado & Zhu (2017), "The
  Probability of Backtest Overfitting", Journal of Computational Finance 20(4), with
  combinatorially symmetric cross-validation (CSCV). The performance measure is the Sharpe
  ratio; it is computed from per-block sufficient statistics (count, sum, sum of squares),
  which give exactly the Sharpe ratio of the concatenated blocks, so trials run on other
  machines only need to store 3 numbers per block.
* Stationary bootstrap: Politis & Romano (1994), percentile interval.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import combinations

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

F64 = npt.NDArray[np.float64]
EULER_GAMMA = 0.5772156649015329


def expected_max_sharpe(n_trials: int, var_sharpe: float) -> float:
    """Return the expected maximum Sharpe of ``n_trials`` unskilled trials (eq. in DSR paper)."""
    if n_trials <= 1 or var_sharpe <= 0:
        return 0.0
    z1 = sps.norm.ppf(1.0 - 1.0 / n_trials)
    z2 = sps.norm.ppf(1.0 - 1.0 / (n_trials * math.e))
    return float(math.sqrt(var_sharpe) * ((1.0 - EULER_GAMMA) * z1 + EULER_GAMMA * z2))


def probabilistic_sharpe(
    sharpe: float, benchmark: float, n_obs: int, skew: float = 0.0, kurtosis: float = 3.0
) -> float:
    """Return P[true Sharpe > benchmark] given an observed per-observation Sharpe (PSR)."""
    if n_obs < 2:
        return float("nan")
    denom = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if denom <= 0:
        return float("nan")
    z = (sharpe - benchmark) * math.sqrt(n_obs - 1) / math.sqrt(denom)
    return float(sps.norm.cdf(z))


def deflated_sharpe(
    sharpe: float,
    n_obs: int,
    *,
    n_trials: int,
    var_sharpe: float,
    skew: float = 0.0,
    kurtosis: float = 3.0,
) -> float:
    """Return the deflated Sharpe ratio: the PSR against the expected maximum of the trials."""
    sr0 = expected_max_sharpe(n_trials, var_sharpe)
    return probabilistic_sharpe(sharpe, sr0, n_obs, skew, kurtosis)


def moments(returns: F64) -> tuple[float, float, float]:
    """Return (per-observation Sharpe, skewness, raw kurtosis) of a return series."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 3:
        return 0.0, 0.0, 3.0
    sd = float(np.std(r, ddof=1))
    if sd == 0:
        return 0.0, 0.0, 3.0
    return (
        float(np.mean(r)) / sd,
        float(sps.skew(r, bias=False)),
        float(sps.kurtosis(r, fisher=False, bias=False)),
    )


def block_stats(returns: F64, n_blocks: int) -> F64:
    """Return (n_blocks, 3): count, sum and sum of squares of equal consecutive blocks.

    The first ``len % n_blocks`` observations are dropped so the blocks have equal size.
    """
    r = np.asarray(returns, dtype=np.float64)
    size = r.size // n_blocks
    if size < 2:
        raise ValueError(f"{r.size} observations cannot fill {n_blocks} blocks of 2+")
    b = r[r.size - size * n_blocks :].reshape(n_blocks, size)
    return np.stack([np.full(n_blocks, float(size)), b.sum(axis=1), (b * b).sum(axis=1)], axis=1)


@dataclass(frozen=True)
class PBOResult:
    """Outcome of CSCV: the probability of overfitting and the logits behind it."""

    pbo: float
    logits: F64
    n_combinations: int
    is_sharpe: F64
    oos_sharpe: F64


def _pooled_sharpe(cnt: F64, s: F64, ss: F64) -> F64:
    mean = s / cnt
    var = (ss - cnt * mean * mean) / np.maximum(cnt - 1.0, 1.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        sr = np.where(var > 0, mean / np.sqrt(np.maximum(var, 0.0)), 0.0)
    return np.asarray(sr)


def pbo_from_blocks(blocks: F64) -> PBOResult:
    """Return the PBO of ``blocks`` shaped (S, N, 3): per block and trial (count, sum, sumsq).

    For every split of the S blocks into two halves J (in sample) and its complement
    (out of sample), the trial with the best in-sample Sharpe is located in the out-of-sample
    ranking: omega = rank / (N + 1), logit = ln(omega / (1 - omega)). PBO is the share of
    splits with logit <= 0, i.e. where the in-sample winner is at or below the OOS median.
    """
    b = np.asarray(blocks, dtype=np.float64)
    n_blocks, n_trials, _ = b.shape
    if n_blocks % 2 or n_blocks < 2:
        raise ValueError("CSCV needs an even number of blocks")
    if n_trials < 2:
        raise ValueError("CSCV needs at least 2 trials")
    combos = list(combinations(range(n_blocks), n_blocks // 2))
    ind = np.zeros((len(combos), n_blocks))
    for i, c in enumerate(combos):
        ind[i, list(c)] = 1.0
    sums_is = [ind @ b[:, :, j] for j in range(3)]
    sums_oos = [(1.0 - ind) @ b[:, :, j] for j in range(3)]
    sr_is = _pooled_sharpe(*sums_is)
    sr_oos = _pooled_sharpe(*sums_oos)
    best = np.argmax(sr_is, axis=1)
    rows = np.arange(len(combos))
    ranks = sps.rankdata(sr_oos, method="average", axis=1)[rows, best]
    omega = ranks / (n_trials + 1.0)
    logits = np.log(omega / (1.0 - omega))
    return PBOResult(
        pbo=float(np.mean(logits <= 0.0)),
        logits=logits,
        n_combinations=len(combos),
        is_sharpe=sr_is[rows, best],
        oos_sharpe=sr_oos[rows, best],
    )


def pbo(returns: F64, n_blocks: int) -> PBOResult:
    """Return the PBO of a (T, N) matrix of per-bar returns of N trials."""
    m = np.asarray(returns, dtype=np.float64)
    blocks = np.stack([block_stats(m[:, j], n_blocks) for j in range(m.shape[1])], axis=1)
    return pbo_from_blocks(blocks)


def stationary_bootstrap_index(
    n: int, n_samples: int, mean_block: float, rng: np.random.Generator
) -> npt.NDArray[np.int64]:
    """Return (n_samples, n) indices of the stationary bootstrap (geometric block lengths)."""
    p = 1.0 / max(mean_block, 1.0)
    idx = np.empty((n_samples, n), dtype=np.int64)
    idx[:, 0] = rng.integers(0, n, n_samples)
    starts = rng.random((n_samples, n)) < p
    fresh = rng.integers(0, n, (n_samples, n))
    for i in range(1, n):
        idx[:, i] = np.where(starts[:, i], fresh[:, i], (idx[:, i - 1] + 1) % n)
    return idx


def bootstrap_sharpe_interval(
    returns: F64,
    *,
    periods_per_year: float,
    n_samples: int = 1000,
    mean_block: float = 24.0,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float]:
    """Return the (low, high) percentile interval of the annualized Sharpe ratio."""
    r = np.asarray(returns, dtype=np.float64)
    if r.size < 3:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    idx = stationary_bootstrap_index(r.size, n_samples, mean_block, rng)
    sample = r[idx]
    sd = sample.std(axis=1, ddof=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        sr = np.where(sd > 0, sample.mean(axis=1) / sd, 0.0) * math.sqrt(periods_per_year)
    alpha = (1.0 - confidence) / 2.0
    lo, hi = np.quantile(sr, [alpha, 1.0 - alpha])
    return float(lo), float(hi)
