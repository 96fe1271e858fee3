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
    sig: F64, elig: B, held: I8, side: int, k: int, band: int, out: I8
) -> None:  # pragma: no cover - numba
    m = sig.shape[0]
    vals = np.empty(m)
    for j in range(m):
        ok = elig[j] and sig[j] * side > 0.0
        vals[j] = sig[j] * side if ok else -np.inf
    order = np.argsort(-vals, kind="mergesort")
    count = 0
    for r in range(m):
        j = order[r]
        if vals[j] == -np.inf:
            break
        if held[j] == side and r < k + band:
            out[j] = side
            count += 1
    for r in range(m):
        if count >= k:
            break
        j = order[r]
        if vals[j] == -np.inf:
            break
        if out[j] == 0:
            out[j] = side
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
    for t in range(n):
        elig = np.empty(m, dtype=np.bool_)
        for j in range(m):
            elig[j] = mask[t, j] and np.isfinite(signal[t, j]) and signal[t, j] != 0.0
        row = out[t]
        if take_all:
            for j in range(m):
                if elig[j]:
                    row[j] = 1 if signal[t, j] > 0 else -1
        else:
            _pick_side(signal[t], elig, prev, 1, k[t], band, row)
            _pick_side(signal[t], elig, prev, -1, k[t], band, row)
        prev = row.copy()
    return out
