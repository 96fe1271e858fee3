"""The trailing statistics of the strategy evaluated at the rebalance closes only.

Selection and sizing happen at rebalance closes (one bar in ``rebalance_every``), so the
cross-sectional stages need their inputs only there. Each function here runs the same
running-sum loop as its full counterpart in :mod:`xsmom.strategy.rolling` (so the values are
bit for bit the same) but stores only the requested rows: no (bars, symbols) output.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@njit(cache=True)
def return_volatility_at(
    logp: F64, rows: I64, window: int, min_count: int
) -> F64:  # pragma: no cover
    """Return ``rolling_std(lag_diff(logp, 1), window, min_count)`` at ``rows``."""
    n, m = logp.shape
    out = np.full((rows.shape[0], m), np.nan)
    s = np.zeros(m)
    s2 = np.zeros(m)
    c = np.zeros(m, dtype=np.int64)
    need = max(min_count, 2)
    k = 0
    for t in range(n):
        # the return of bar t enters the window, the one of bar t - window leaves it (the
        # first bar has no return); conditions hoisted out of the symbol loop
        for j in range(m if t >= 1 else 0):
            v = logp[t, j] - logp[t - 1, j]
            if np.isfinite(v):
                s[j] += v
                s2[j] += v * v
                c[j] += 1
        for j in range(m if t - window >= 1 else 0):
            old = logp[t - window, j] - logp[t - window - 1, j]
            if np.isfinite(old):
                s[j] -= old
                s2[j] -= old * old
                c[j] -= 1
        while k < rows.shape[0] and rows[k] == t:
            for j in range(m):
                if c[j] >= need:
                    var = (s2[j] - s[j] * s[j] / c[j]) / (c[j] - 1)
                    out[k, j] = np.sqrt(var) if var > 0.0 else 0.0
            k += 1
    return out


@njit(cache=True)
def liquidity_at(
    close: F64, volume: F64, rows: I64, window: int, min_count: int
) -> tuple[F64, F64]:  # pragma: no cover - numba
    """Return (trailing mean quote volume, bars with data so far) at ``rows``, as
    ``rolling_mean(close * volume, window, min_count)`` and ``valid_count(close)``."""
    n, m = close.shape
    mean = np.full((rows.shape[0], m), np.nan)
    count = np.zeros((rows.shape[0], m))
    s = np.zeros(m)
    c = np.zeros(m, dtype=np.int64)
    seen = np.zeros(m)
    k = 0
    for t in range(n):
        for j in range(m):
            if np.isfinite(close[t, j]):
                seen[j] += 1.0
            v = close[t, j] * volume[t, j]
            if np.isfinite(v):
                s[j] += v
                c[j] += 1
        for j in range(m if t >= window else 0):
            old = close[t - window, j] * volume[t - window, j]
            if np.isfinite(old):
                s[j] -= old
                c[j] -= 1
        while k < rows.shape[0] and rows[k] == t:
            for j in range(m):
                count[k, j] = seen[j]
                if c[j] >= min_count and c[j] > 0:
                    mean[k, j] = s[j] / c[j]
            k += 1
    return mean, count


@njit(cache=True)
def momentum_at(
    logp: F64, vol: F64, rows: I64, lookbacks: I64, weights: F64
) -> F64:  # pragma: no cover - numba
    """Return ``momentum_score`` at ``rows`` (``vol`` one row per entry of ``rows``): the
    same operations in the same order, so the same values."""
    k_rows, m = vol.shape
    out = np.empty((k_rows, m))
    for k in range(k_rows):
        t = rows[k]
        for j in range(m):
            score = 0.0
            for i in range(lookbacks.shape[0]):
                lb = lookbacks[i]
                ret = logp[t, j] - logp[t - lb, j] if t >= lb else np.nan
                score += weights[i] * ret / (vol[k, j] * np.sqrt(lb))
            out[k, j] = score if np.isfinite(score) else np.nan
    return out
