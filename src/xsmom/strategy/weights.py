"""From selected signals to target weights: power, inverse volatility, neutrality, gross, caps."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]


@njit(cache=True)
def _fill_step(a: F64, total: float, cap: float, out: F64) -> bool:  # pragma: no cover
    # one round: scale the uncapped (out < 0) to what the caps leave; cap any that overflow.
    # Return True when the allocation is final.
    free = 0.0
    ncap = 0
    for i in range(a.shape[0]):
        if out[i] >= 0.0:
            ncap += 1
        else:
            free += a[i]
    remaining = total - cap * ncap
    if free <= 0.0 or remaining <= 0.0:
        for i in range(a.shape[0]):
            out[i] = max(out[i], 0.0)
        return True
    lam = remaining / free
    grew = False
    for i in range(a.shape[0]):
        if out[i] < 0.0 and lam * a[i] > cap:
            out[i] = cap
            grew = True
    if grew:
        return False
    for i in range(a.shape[0]):
        if out[i] < 0.0:
            out[i] = lam * a[i]
    return True


@njit(cache=True)
def _fill_into(a: F64, total: float, cap: float, out: F64) -> None:  # pragma: no cover
    # water-filling of non-negative a into out (same length), without allocating
    out[:] = -1.0  # -1 marks "not capped yet"
    for _ in range(a.shape[0] + 1):
        if _fill_step(a, total, cap, out):
            return


@njit(cache=True)
def water_fill(a: F64, total: float, cap: float) -> F64:  # pragma: no cover - numba
    """Scale non-negative ``a`` to sum to ``total`` with no element above ``cap``.

    Capped elements are fixed at ``cap`` and the rest rescaled until none exceeds it; if the
    caps cannot reach ``total``, every element ends at ``cap``.
    """
    out = np.empty(a.shape[0])
    _fill_into(a, total, cap, out)
    return out


@njit(cache=True)
def _size_neutral(
    raw: F64, gross: float, cap: float, mag: F64, fill: F64, out: F64
) -> None:  # pragma: no cover
    # each side keeps its sign (the selection's) and is filled to gross/2: long book = short
    # book, so the weights sum to zero without moving any name across zero
    m = raw.shape[0]
    for side in (1.0, -1.0):
        total = 0.0
        for j in range(m):
            mag[j] = abs(raw[j]) if raw[j] * side > 0.0 else 0.0
            total += mag[j]
        if total == 0.0:
            out[:] = 0.0  # one side empty: no neutral book at this bar
            return
        _fill_into(mag, gross / 2.0, cap, fill)
        for j in range(m):
            if mag[j] > 0.0:
                out[j] = side * fill[j]


@njit(cache=True)
def _size_row(
    raw: F64, neutral: bool, gross: float, cap: float, mag: F64, fill: F64, out: F64
) -> None:  # pragma: no cover - numba
    if neutral:
        _size_neutral(raw, gross, cap, mag, fill, out)
        return
    for j in range(raw.shape[0]):
        mag[j] = abs(raw[j])
    _fill_into(mag, gross, cap, fill)
    for j in range(raw.shape[0]):
        out[j] = fill[j] if raw[j] > 0 else -fill[j]


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

    Selected names get ``side * |signal|^power / vol``, ``side`` being the selection's; in
    xsmom bars with ``market_neutral`` the long and the short side are each filled to
    ``gross/2`` (so the sum of weights is 0; no name changes side, and a bar with an empty
    side is flat), otherwise all names are filled to ``gross``. Per-asset ``cap`` holds after
    the scaling (water-filling); a side that cannot reach its share at the cap stays below it.
    """
    n, m = signal.shape
    out = np.zeros((n, m))
    raw = np.zeros(m)
    mag = np.zeros(m)
    fill = np.zeros(m)
    for t in range(n):
        any_side = False
        for j in range(m):
            v = vol[t, j]
            raw[j] = 0.0
            if sides[t, j] != 0 and np.isfinite(v) and v > 0.0:
                a = abs(signal[t, j])
                raw[j] = sides[t, j] * (a if power == 1.0 else a**power) / v
                any_side = True
        if any_side:
            _size_row(raw, market_neutral and regime[t] == 0, gross, cap, mag, fill, out[t])
    return out


@njit(cache=True)
def apply_weight_band(w: F64, band: float, relative: bool = False) -> F64:  # pragma: no cover
    """Keep the previous weight where the new one is on the same side and the change is
    smaller than ``band`` (``relative``: smaller than ``band`` times the new weight's size)."""
    n, m = w.shape
    out = w.copy()
    if band <= 0.0:
        return out
    for t in range(1, n):
        for j in range(m):
            prev = out[t - 1, j]
            new = w[t, j]
            width = band * abs(new) if relative else band
            if prev != 0.0 and new * prev > 0.0 and abs(new - prev) < width:
                out[t, j] = prev
    return out


def rebalance_rows(
    timestamps: npt.NDArray[np.int64], bar_ms: int, every: int
) -> npt.NDArray[np.int64]:
    """Return the bars whose close is a rebalance time: a multiple of ``every`` bars since the
    epoch (24 on 1h bars: daily at 00:00 UTC). The schedule is the same however the history
    is cut. ``every <= 1`` rebalances at every bar."""
    if every <= 1:
        return np.arange(timestamps.shape[0], dtype=np.int64)
    closes = (timestamps + bar_ms) // bar_ms
    return np.flatnonzero(closes % every == 0).astype(np.int64)


def hold_between_rebalances(rows: npt.NDArray[np.int64], w_rows: F64, n_bars: int) -> F64:
    """Expand targets computed at the rebalance ``rows`` to every bar, held until the next
    rebalance (zero before the first)."""
    idx = np.full(n_bars, -1, dtype=np.int64)
    idx[rows] = np.arange(rows.shape[0])
    idx = np.maximum.accumulate(idx)
    out = np.zeros((n_bars, w_rows.shape[1]))
    ok = idx >= 0
    out[ok] = w_rows[idx[ok]]
    return out
