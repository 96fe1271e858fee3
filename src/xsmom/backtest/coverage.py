"""Funding coverage of a backtest: position-time held where the store has no funding data.

A symbol-bar counts as *position-time* when a position is held into the bar (the position at
the previous close: the one a funding event in the bar is charged on). Where that bar lies in a
stretch without funding data (``MarketPanel.funding_gaps``), the backtest would charge no
funding: it refuses, unless ``backtest.allow_funding_gaps`` is set, and then reports the
uncovered share. A funding event without a mark candle is charged at the bar's trade open
instead of the mark open (a difference of the basis times the rate); that share is reported.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xsmom.data.coverage import NO_FUNDING, NO_MARK, fmt_ms
from xsmom.errors import DataError

F64 = npt.NDArray[np.float64]
UNCOVERED_KEY = "funding_uncovered_share"
MARK_KEY = "funding_mark_fallback_share"


def held_into(held: F64) -> npt.NDArray[np.bool_]:
    """Return where a position is held into each bar (the previous close's position)."""
    into = np.zeros(held.shape, dtype=bool)
    into[1:] = held[:-1] != 0.0
    return into


def _stretch(gaps_col: npt.NDArray[np.int8], t: int) -> tuple[int, int]:
    """Return the first and last bar of the run of NO_FUNDING bars around ``t``."""
    good = gaps_col != NO_FUNDING
    before = np.flatnonzero(good[:t])
    after = np.flatnonzero(good[t + 1 :])
    lo = int(before[-1]) + 1 if before.size else 0
    hi = t + int(after[0]) if after.size else good.size - 1
    return lo, hi


def refusal(
    symbols: tuple[str, ...],
    timestamps: npt.NDArray[np.int64],
    gaps: npt.NDArray[np.int8],
    into: npt.NDArray[np.bool_],
) -> DataError | None:
    """Return the one-line error for the first position held through missing funding."""
    cells = np.argwhere(into & (gaps == NO_FUNDING))
    if cells.size == 0:
        return None
    t, j = (int(x) for x in cells[0])
    lo, hi = _stretch(gaps[:, j], t)
    n_sym = len(set(cells[:, 1].tolist()))
    return DataError(
        f"{symbols[j]}: the backtest would hold a position through "
        f"{fmt_ms(int(timestamps[lo]))} .. {fmt_ms(int(timestamps[hi]))} UTC with no funding "
        f"data in the store ({n_sym} symbol(s) affected; `xsmom data validate` lists the gaps); "
        "pass --allow-funding-gaps (backtest.allow_funding_gaps: true) to run anyway, charging "
        f"no funding there and reporting the uncovered share as {UNCOVERED_KEY}"
    )


def coverage_metrics(
    gaps: npt.NDArray[np.int8], events: npt.NDArray[np.bool_], into: npt.NDArray[np.bool_]
) -> dict[str, float]:
    """Return the uncovered share of position-time and the mark-fallback share of payments."""
    held = int(into.sum())
    paid = int((into & events).sum())
    uncovered = int((into & (gaps == NO_FUNDING)).sum())
    no_mark = int((into & events & (gaps == NO_MARK)).sum())
    return {
        UNCOVERED_KEY: uncovered / held if held else 0.0,
        MARK_KEY: no_mark / paid if paid else 0.0,
    }
