"""NaN-aware rolling statistics over the bar axis of (bars, symbols) arrays.

A window's statistic is NaN unless it holds at least ``min_count`` finite values; values at
bar t use bars ``t - window + 1 .. t`` only, so nothing here looks ahead. Loops run bar by
bar with per-symbol state, following the arrays' row-major layout (column-wise walks are
several times slower on (bars, symbols) arrays).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]


@njit(cache=True)
def rolling_mean(x: F64, window: int, min_count: int) -> F64:  # pragma: no cover - numba
    """Return the trailing mean of each column over ``window`` bars."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    s = np.zeros(m)
    c = np.zeros(m, dtype=np.int64)
    for t in range(n):
        for j in range(m):
            v = x[t, j]
            if np.isfinite(v):
                s[j] += v
                c[j] += 1
            if t >= window:
                old = x[t - window, j]
                if np.isfinite(old):
                    s[j] -= old
                    c[j] -= 1
            if c[j] >= min_count and c[j] > 0:
                out[t, j] = s[j] / c[j]
    return out


@njit(cache=True)
def rolling_std(x: F64, window: int, min_count: int) -> F64:  # pragma: no cover - numba
    """Return the trailing sample standard deviation (ddof=1) of each column."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    s = np.zeros(m)
    s2 = np.zeros(m)
    c = np.zeros(m, dtype=np.int64)
    need = max(min_count, 2)
    for t in range(n):
        for j in range(m):
            v = x[t, j]
            if np.isfinite(v):
                s[j] += v
                s2[j] += v * v
                c[j] += 1
            if t >= window:
                old = x[t - window, j]
                if np.isfinite(old):
                    s[j] -= old
                    s2[j] -= old * old
                    c[j] -= 1
            if c[j] >= need:
                var = (s2[j] - s[j] * s[j] / c[j]) / (c[j] - 1)
                out[t, j] = np.sqrt(var) if var > 0.0 else 0.0
    return out


@njit(cache=True)
def rolling_sum(x: F64, window: int) -> F64:  # pragma: no cover - numba
    """Return the trailing sum of each column, NaN counted as 0."""
    n, m = x.shape
    out = np.zeros((n, m))
    s = np.zeros(m)
    for t in range(n):
        for j in range(m):
            v = x[t, j]
            if np.isfinite(v):
                s[j] += v
            if t >= window:
                old = x[t - window, j]
                if np.isfinite(old):
                    s[j] -= old
            out[t, j] = s[j]
    return out


@njit(cache=True)
def lag_diff(x: F64, lag: int) -> F64:  # pragma: no cover - numba
    """Return ``x[t] - x[t - lag]`` (NaN where either side is missing or t < lag)."""
    n, m = x.shape
    out = np.full((n, m), np.nan)
    for t in range(lag, n):
        for j in range(m):
            out[t, j] = x[t, j] - x[t - lag, j]
    return out


@njit(cache=True)
def valid_count(x: F64) -> F64:  # pragma: no cover - numba
    """Return, per bar, how many finite values each column has had so far."""
    n, m = x.shape
    out = np.zeros((n, m))
    c = np.zeros(m)
    for t in range(n):
        for j in range(m):
            if np.isfinite(x[t, j]):
                c[j] += 1.0
            out[t, j] = c[j]
    return out


@njit(cache=True)
def true_range(high: F64, low: F64, close: F64) -> F64:  # pragma: no cover - numba
    """Return the true range of each bar (NaN where the bar is missing)."""
    n, m = close.shape
    tr = np.full((n, m), np.nan)
    for t in range(n):
        for j in range(m):
            h = high[t, j]
            lo = low[t, j]
            if not (np.isfinite(h) and np.isfinite(lo)):
                continue
            r = h - lo
            if t > 0 and np.isfinite(close[t - 1, j]):
                pc = close[t - 1, j]
                r = max(r, abs(h - pc), abs(lo - pc))
            tr[t, j] = r
    return tr


def average_true_range(high: F64, low: F64, close: F64, period: int) -> F64:
    """Return the simple-average true range over ``period`` bars."""
    return np.asarray(rolling_mean(true_range(high, low, close), period, period))
