"""Which names get a position: all, or top/bottom K with hysteresis (no-trade bands)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.config.schema import SelectionConfig

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
I8 = npt.NDArray[np.int8]


def k_series(cfg: SelectionConfig, disp_ratio: F64) -> npt.NDArray[np.int64]:
    """Return K per bar: fixed, or ``round(k / dispersion_ratio)`` clipped to [k_min, k_max].

    High dispersion (relative to its trailing mean) concentrates the book in fewer names,
    low dispersion spreads it over more.
    """
    n = disp_ratio.shape[0]
    if cfg.k_mode == "fixed":
        return np.full(n, cfg.k, dtype=np.int64)
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(np.isfinite(disp_ratio) & (disp_ratio > 0), cfg.k / disp_ratio, cfg.k)
    return np.clip(np.rint(k), cfg.k_min, max(cfg.k_max, cfg.k_min)).astype(np.int64)


@njit(cache=True)
def _pick_side(
    signal: F64,
    t: int,
    elig: B,
    held: I8,
    side: int,
    k: int,
    band: int,
    out: I8,
    top: npt.NDArray[np.int64],
    stamp: npt.NDArray[np.int64],
    tag: int,
) -> None:  # pragma: no cover - numba
    # the best k + band names on this side by repeated scans (k is small: no sort needed);
    # stamp[j] == tag marks names already picked in this call
    m = signal.shape[1]
    limit = min(k + band, m)
    found = 0
    for _ in range(limit):
        best = -1
        best_v = 0.0
        for j in range(m):
            v = signal[t, j] * side
            if elig[j] and v > best_v and stamp[j] != tag:
                best = j
                best_v = v
        if best < 0:
            break
        stamp[best] = tag
        top[found] = best
        found += 1
    count = 0
    for r in range(found):
        if held[top[r]] == side:
            out[t, top[r]] = side
            count += 1
    for r in range(found):
        if count >= k:
            break
        if out[t, top[r]] == 0:
            out[t, top[r]] = side
            count += 1


@njit(cache=True)
def select_sides(
    signal: F64, mask: B, k: npt.NDArray[np.int64], band: int, take_all: bool
) -> I8:  # pragma: no cover - numba
    """Return +1/-1/0 per bar and name: long, short or flat.

    ``take_all`` gives every eligible name the sign of its signal. Otherwise the K strongest
    positive signals go long and the K strongest negative ones short; a name already held on
    a side keeps it while its rank on that side stays below ``K + band`` (hysteresis).
    """
    n, m = signal.shape
    out = np.zeros((n, m), dtype=np.int8)
    prev = np.zeros(m, dtype=np.int8)
    elig = np.empty(m, dtype=np.bool_)
    top = np.zeros(m, dtype=np.int64)
    stamp = np.full(m, -1, dtype=np.int64)
    for t in range(n):
        for j in range(m):
            elig[j] = mask[t, j] and np.isfinite(signal[t, j]) and signal[t, j] != 0.0
        row = out[t]
        if take_all:
            for j in range(m):
                if elig[j]:
                    row[j] = 1 if signal[t, j] > 0 else -1
        else:
            _pick_side(signal, t, elig, prev, 1, k[t], band, out, top, stamp, 2 * t)
            _pick_side(signal, t, elig, prev, -1, k[t], band, out, top, stamp, 2 * t + 1)
        prev = row  # rows are final once written
    return out
