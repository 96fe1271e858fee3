"""From selected signals to target weights: power, inverse volatility, neutrality, gross, caps."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]


@njit(cache=True)
def water_fill(a: F64, total: float, cap: float) -> F64:  # pragma: no cover - numba
    """Scale non-negative ``a`` to sum to ``total`` with no element above ``cap``.

    Capped elements are fixed at ``cap`` and the rest rescaled until none exceeds it; if the
    caps cannot reach ``total``, every element ends at ``cap``.
    """
    k = a.shape[0]
    out = np.zeros(k)
    capped = np.zeros(k, dtype=np.bool_)
    for _ in range(k + 1):
        free = 0.0
        ncap = 0
        for i in range(k):
            if capped[i]:
                ncap += 1
            else:
                free += a[i]
        remaining = total - cap * ncap
        if free <= 0.0 or remaining <= 0.0:
            break
        lam = remaining / free
        grew = False
        for i in range(k):
            if not capped[i] and lam * a[i] > cap:
                capped[i] = True
                grew = True
        if not grew:
            for i in range(k):
                out[i] = cap if capped[i] else lam * a[i]
            return out
    for i in range(k):
        out[i] = cap if capped[i] else 0.0
    return out


@njit(cache=True)
def _demean_selected(raw: F64) -> bool:  # pragma: no cover - numba
    """Subtract the mean of the non-zero entries in place; False if fewer than two."""
    s = 0.0
    c = 0
    for j in range(raw.shape[0]):
        if raw[j] != 0.0:
            s += raw[j]
            c += 1
    if c < 2:
        return False
    for j in range(raw.shape[0]):
        if raw[j] != 0.0:
            raw[j] -= s / c
    return True


@njit(cache=True)
def _neutral_row(raw: F64, gross: float, cap: float) -> F64:  # pragma: no cover - numba
    m = raw.shape[0]
    out = np.zeros(m)
    if not _demean_selected(raw):
        return out
    for side in (1.0, -1.0):
        mag = np.zeros(m)
        for j in range(m):
            if raw[j] * side > 0.0:
                mag[j] = abs(raw[j])
        if mag.sum() == 0.0:
            return np.zeros(m)
        filled = water_fill(mag, gross / 2.0, cap)
        for j in range(m):
            if mag[j] > 0.0:
                out[j] = side * filled[j]
    return out


@njit(cache=True)
def _size_row(raw: F64, neutral: bool, gross: float, cap: float) -> F64:  # pragma: no cover
    if neutral:
        return _neutral_row(raw, gross, cap)
    filled = water_fill(np.abs(raw), gross, cap)
    return np.where(raw > 0, filled, -filled)


@njit(cache=True)
def size_weights(
    signal: F64,
    sides: I8,
    vol: F64,
    regime: I8,
    power: float,
    gross: float,
    cap: float,
    market_neutral: bool,
) -> F64:  # pragma: no cover - numba
    """Return target weights per bar.

    Selected names get ``sign * |signal|^power / vol``; in xsmom bars with ``market_neutral``
    the book is demeaned and each side filled to ``gross/2`` (so the sum of weights is 0),
    otherwise all names are filled to ``gross``. Per-asset ``cap`` holds after the scaling
    (water-filling); a side that cannot reach its share at the cap stays below it.
    """
    n, m = signal.shape
    out = np.zeros((n, m))
    for t in range(n):
        raw = np.zeros(m)
        for j in range(m):
            v = vol[t, j]
            if sides[t, j] != 0 and np.isfinite(v) and v > 0.0:
                raw[j] = sides[t, j] * abs(signal[t, j]) ** power / v
        out[t] = _size_row(raw, market_neutral and regime[t] == 0, gross, cap)
    return out


@njit(cache=True)
def apply_weight_band(w: F64, band: float) -> F64:  # pragma: no cover - numba
    """Keep the previous weight where the new one is on the same side and within ``band``."""
    n, m = w.shape
    out = w.copy()
    if band <= 0.0:
        return out
    for t in range(1, n):
        for j in range(m):
            prev = out[t - 1, j]
            new = w[t, j]
            if prev != 0.0 and new * prev > 0.0 and abs(new - prev) < band:
                out[t, j] = prev
    return out


def hold_between_rebalances(
    w: F64, timestamps: npt.NDArray[np.int64], bar_ms: int, every: int
) -> F64:
    """Keep each target until the next rebalance close.

    A bar is a rebalance bar when its close time is a multiple of ``every`` bars since the
    epoch (so 24 on 1h bars rebalances at 00:00 UTC daily), which keeps the schedule the same
    however the history is cut.
    """
    if every <= 1:
        return w
    closes = (timestamps + bar_ms) // bar_ms
    is_reb = closes % every == 0
    idx = np.where(is_reb, np.arange(w.shape[0]), -1)
    last = np.maximum.accumulate(idx)
    out = np.zeros_like(w)
    ok = last >= 0
    out[ok] = w[last[ok]]
    return out
