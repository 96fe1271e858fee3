"""Funding coverage: where a symbol's bars lack the funding events (or the mark prices at
funding times) that the venue charged.

The venue's funding interval is inferred per symbol from the data's own spacing: Binance pays
every 8 h for most symbols, every 4 h or 1 h for some, and changes a symbol's interval now and
then. A spacing between two consecutive events is a **gap** (events missing) when it is longer
than the venue's longest interval (8 h) or longer than both neighbouring spacings (a single 8 h
step among 4 h steps is one missing event); any other change of spacing is an **interval
change** (reported, not a gap). Before the first event and after the last one, the events due
at the nearest interval inside the symbol's bars are missing too. A symbol with bars and no
funding at all is one stretch over all its bars.

A stretch runs from the first to the last funding time that is missing; the bars it covers are
*uncovered*. A funding event whose bar has no mark candle is uncovered too (the backtest charges
funding at the mark open). Known limit: two consecutive doubled spacings (4 h, 8 h, 8 h, 4 h) read
as two interval changes, not as gaps; they are reported as such.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

I64 = npt.NDArray[np.int64]
HOUR_MS = 3_600_000
# Binance USDⓈ-M funding intervals; the longest bounds a regular spacing.
VENUE_INTERVALS_MS: tuple[int, ...] = (HOUR_MS, 4 * HOUR_MS, 8 * HOUR_MS)
MAX_INTERVAL_MS = max(VENUE_INTERVALS_MS)
# Funding times carry a few ms of venue jitter; spacings closer than this are equal.
JITTER_MS = 60_000
# Codes of the uncovered-bar mask (MarketPanel.funding_gaps).
COVERED, NO_FUNDING, NO_MARK = 0, 1, 2
GAP_NAMES = {NO_FUNDING: "no funding data", NO_MARK: "no mark price at funding time"}


def fmt_ms(ms: int) -> str:
    """Format epoch ms as ``YYYY-MM-DD HH:MM`` UTC."""
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


def fmt_span(ms: int) -> str:
    """Format a duration in ms as hours (``8h``) or minutes."""
    return f"{ms / HOUR_MS:g}h" if ms % 60_000 == 0 and ms >= HOUR_MS else f"{ms / 60_000:g}m"


@dataclass(frozen=True)
class Stretch:
    """Funding times ``first_ms .. last_ms`` (inclusive) whose data is missing."""

    code: int
    first_ms: int
    last_ms: int
    missing: int
    step_ms: int = 0  # the funding interval the missing times were counted at (0: events)

    def clip(self, lo_ms: int, hi_ms: int) -> Stretch | None:
        """Return the part of the stretch within ``lo_ms .. hi_ms`` (None if outside)."""
        if self.last_ms < lo_ms or self.first_ms > hi_ms:
            return None
        if self.first_ms >= lo_ms and self.last_ms <= hi_ms:
            return self
        first, last = max(self.first_ms, lo_ms), min(self.last_ms, hi_ms)
        missing = (last - first) // self.step_ms + 1 if self.step_ms else self.missing
        return Stretch(self.code, first, last, int(missing), self.step_ms)

    def describe(self) -> str:
        """Return e.g. ``no funding data 2025-07-17 16:00 .. 2025-07-18 00:00 UTC (3 ...)``."""
        return (
            f"{GAP_NAMES[self.code]} {fmt_ms(self.first_ms)} .. {fmt_ms(self.last_ms)} UTC "
            f"({self.missing} funding time{'s' if self.missing != 1 else ''})"
        )


@dataclass(frozen=True)
class IntervalChange:
    """The funding interval changed at the event ``at_ms``."""

    at_ms: int
    before_ms: int
    after_ms: int

    def describe(self) -> str:
        """Return e.g. ``8h -> 4h at 2025-06-01 00:00``."""
        return f"{fmt_span(self.before_ms)} -> {fmt_span(self.after_ms)} at {fmt_ms(self.at_ms)}"


@dataclass(frozen=True)
class FundingCoverage:
    """One symbol's funding coverage over its bars ``first_bar_ms .. last_bar_ms``."""

    symbol: str
    interval_ms: int | None
    changes: tuple[IntervalChange, ...] = ()
    gaps: tuple[Stretch, ...] = field(default_factory=tuple)

    @property
    def complete(self) -> bool:
        """Return True when no funding time in the bars lacks data."""
        return not self.gaps


def _round_hour(ms: int) -> int:
    return max(round(ms / HOUR_MS), 1) * HOUR_MS


def gap_spacings(spacing: I64) -> npt.NDArray[np.bool_]:
    """Return which spacings between consecutive events are gaps (events missing)."""
    d = np.asarray(spacing, dtype=np.int64)
    if d.size == 0:
        return np.zeros(0, dtype=bool)
    long = d > MAX_INTERVAL_MS + JITTER_MS
    prev = np.concatenate((d[:1], d[:-1]))
    nxt = np.concatenate((d[1:], d[-1:]))
    isolated = (d > prev + JITTER_MS) & (d > nxt + JITTER_MS)
    return np.asarray(long | isolated)


def _local_interval(d: I64, gap: npt.NDArray[np.bool_], i: int) -> int:
    ok = np.flatnonzero(~gap)
    if ok.size == 0:
        return MAX_INTERVAL_MS
    before = ok[ok < i]
    j = int(before[-1]) if before.size else int(ok[ok > i][0])
    return _round_hour(int(d[j]))


def _inner_gaps(ts: I64, d: I64, gap: npt.NDArray[np.bool_]) -> list[Stretch]:
    out = []
    for i in np.flatnonzero(gap).tolist():
        step = _local_interval(d, gap, i)
        missing = max(round(int(d[i]) / step) - 1, 1)
        first = int(ts[i]) + step
        last = max(int(ts[i + 1]) - step, first)
        out.append(Stretch(NO_FUNDING, first, last, missing, step))
    return out


def _round_hours(ms: I64) -> I64:
    """Return `_round_hour` of every element (the same round-half-even on the same floats)."""
    return (np.maximum(np.round(ms / HOUR_MS), 1) * HOUR_MS).astype(np.int64)


def _changes(ts: I64, d: I64, gap: npt.NDArray[np.bool_]) -> tuple[IntervalChange, ...]:
    idx = np.flatnonzero(~gap)
    steps = _round_hours(d[idx])
    at = np.flatnonzero(steps[1:] != steps[:-1]) + 1
    return tuple(
        IntervalChange(int(ts[idx[k]]), int(steps[k - 1]), int(steps[k])) for k in at.tolist()
    )


def _dominant(d: I64, gap: npt.NDArray[np.bool_]) -> int | None:
    regular = _round_hours(d[~gap])
    if regular.size == 0:
        return None
    values, counts = np.unique(regular, return_counts=True)
    return int(values[int(np.argmax(counts))])


def _edges(
    ts: I64, d: I64, gap: npt.NDArray[np.bool_], first_bar: int, end_ms: int
) -> list[Stretch]:
    """Return the stretches before the first and after the last event inside the bars."""
    out = []
    head = _local_interval(d, gap, -1) if d.size else MAX_INTERVAL_MS
    k = (int(ts[0]) - first_bar) // head
    if k >= 1:
        out.append(Stretch(NO_FUNDING, int(ts[0]) - k * head, int(ts[0]) - head, int(k), head))
    tail = _local_interval(d, gap, int(d.size)) if d.size else MAX_INTERVAL_MS
    k = (end_ms - 1 - int(ts[-1])) // tail
    if k >= 1:
        out.append(Stretch(NO_FUNDING, int(ts[-1]) + tail, int(ts[-1]) + k * tail, int(k), tail))
    return out


def funding_coverage(
    symbol: str, funding_ts: I64, first_bar_ms: int, last_bar_ms: int, bar_ms: int
) -> FundingCoverage:
    """Return where ``funding_ts`` leaves the bars ``first_bar_ms .. last_bar_ms`` uncovered."""
    end_ms = last_bar_ms + bar_ms
    ts = np.asarray(funding_ts, dtype=np.int64)
    inside = ts[(ts >= first_bar_ms) & (ts < end_ms)]
    if inside.size == 0:
        missing = max((end_ms - first_bar_ms) // MAX_INTERVAL_MS, 1)
        whole = Stretch(NO_FUNDING, first_bar_ms, last_bar_ms, int(missing), MAX_INTERVAL_MS)
        return FundingCoverage(symbol, None, gaps=(whole,))
    # events just outside the bars still tell the interval and close the edge stretches
    lo = max(int(np.searchsorted(ts, inside[0])) - 1, 0)
    hi = min(int(np.searchsorted(ts, inside[-1], "right")) + 1, ts.size)
    near = ts[lo:hi]
    d = np.diff(near)
    gap = gap_spacings(d)
    stretches = [*_edges(near, d, gap, first_bar_ms, end_ms), *_inner_gaps(near, d, gap)]
    clipped = [c for s in stretches if (c := s.clip(first_bar_ms, end_ms - 1)) is not None]
    clipped.sort(key=lambda s: s.first_ms)
    return FundingCoverage(symbol, _dominant(d, gap), _changes(near, d, gap), tuple(clipped))


def mark_gaps(
    funding_ts: I64, mark_ts: I64, first_bar_ms: int, end_ms: int, bar_ms: int
) -> list[Stretch]:
    """Return runs of consecutive funding events whose bar has no mark candle."""
    ts = np.asarray(funding_ts, dtype=np.int64)
    ts = ts[(ts >= first_bar_ms) & (ts < end_ms)]
    bars = ts - ts % bar_ms
    lacking = ~np.isin(bars, np.asarray(mark_ts, dtype=np.int64))
    out: list[Stretch] = []
    idx = np.flatnonzero(lacking)
    if idx.size == 0:
        return out
    breaks = np.flatnonzero(np.diff(idx) > 1)
    starts = np.concatenate(([0], breaks + 1))
    stops = np.concatenate((breaks, [idx.size - 1]))
    for a, b in zip(starts.tolist(), stops.tolist(), strict=True):
        out.append(Stretch(NO_MARK, int(ts[idx[a]]), int(ts[idx[b]]), b - a + 1))
    return out


def mark_stretches(
    stretches: list[Stretch], grid: I64, bar_ms: int, out: npt.NDArray[np.int8], col: int
) -> None:
    """Set ``out[:, col]`` to each stretch's code on the grid bars it covers."""
    if grid.size == 0:
        return
    for s in stretches:
        lo = max((s.first_ms - int(grid[0])) // bar_ms, 0)
        hi = min((s.last_ms - int(grid[0])) // bar_ms, grid.size - 1)
        if hi >= lo:
            seg = out[lo : hi + 1, col]
            seg[seg == COVERED] = s.code
