"""Cross-sectional operations on one bar at a time, over the names in a mask."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]


@njit(cache=True)
def zscore(x: F64, mask: B, clip: float) -> F64:  # pragma: no cover - numba
    """Return per-bar z-scores of ``x`` over the masked names, clipped to +/- ``clip``.

    Names outside the mask get 0; a bar with fewer than two names or no spread gives 0.
    """
    n, m = x.shape
    out = np.zeros((n, m))
    for t in range(n):
        s = 0.0
        s2 = 0.0
        c = 0
        for j in range(m):
            if mask[t, j]:
                s += x[t, j]
                s2 += x[t, j] * x[t, j]
                c += 1
        if c < 2:
            continue
        mean = s / c
        var = s2 / c - mean * mean
        if var <= 1e-300:
            continue
        sd = np.sqrt(var)
        for j in range(m):
            if mask[t, j]:
                out[t, j] = min(max((x[t, j] - mean) / sd, -clip), clip)
    return out


@njit(cache=True)
def cs_std(x: F64, mask: B) -> F64:  # pragma: no cover - numba
    """Return the per-bar cross-sectional standard deviation over the masked names."""
    n, m = x.shape
    out = np.full(n, np.nan)
    for t in range(n):
        s = 0.0
        s2 = 0.0
        c = 0
        for j in range(m):
            if mask[t, j]:
                s += x[t, j]
                s2 += x[t, j] * x[t, j]
                c += 1
        if c >= 2:
            mean = s / c
            out[t] = np.sqrt(max(s2 / c - mean * mean, 0.0))
    return out


@njit(cache=True)
def cs_mean(x: F64, mask: B) -> F64:  # pragma: no cover - numba
    """Return the per-bar cross-sectional mean over the masked names (NaN if none)."""
    n, m = x.shape
    out = np.full(n, np.nan)
    for t in range(n):
        s = 0.0
        c = 0
        for j in range(m):
            if mask[t, j] and np.isfinite(x[t, j]):
                s += x[t, j]
                c += 1
        if c > 0:
            out[t] = s / c
    return out


@njit(cache=True)
def top_n_mask(x: F64, mask: B, top: int) -> B:  # pragma: no cover - numba
    """Return the masked names whose ``x`` ranks among the ``top`` largest at each bar.

    Ties go to the lower column index. Rows with at most ``top`` masked names keep them all
    (no sort needed).
    """
    n, m = x.shape
    out = np.zeros((n, m), dtype=np.bool_)
    vals = np.empty(m)
    for t in range(n):
        count = 0
        for j in range(m):
            if mask[t, j]:
                count += 1
        if count <= top:
            for j in range(m):
                out[t, j] = mask[t, j]
            continue
        for j in range(m):
            vals[j] = -x[t, j] if mask[t, j] else np.inf
        order = np.argsort(vals, kind="mergesort")
        for r in range(top):
            out[t, order[r]] = True
    return out
