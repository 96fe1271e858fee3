"""Validation of market-data frames before they enter the store.

Fatal problems (refused with :class:`DataError` naming the source and the problem): empty frame,
missing columns, non-numeric or NaN values, timestamps that are not ms since the epoch (seconds
or nanoseconds by mistake), duplicate or unsorted timestamps, timestamps off the timeframe grid,
non-positive or infinite prices, ``high < low``, open/close outside ``[low, high]``, negative
volume; for funding: a rate beyond 5 % per interval, or two events less than a minute apart (the
same event twice, with the venue's ms jitter).

Warnings (kept in the report, data accepted): gaps in the bar grid, funding pauses longer than a
day, and spikes (a bar whose
range or close-to-close move is more than ``spike_sigma`` robust deviations from the series'
median move).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import pandas as pd

from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import DataError


class Kind(StrEnum):
    """What a stored series holds."""

    OHLCV = "ohlcv"
    MARK = "mark"
    FUNDING = "funding"


OHLCV_COLUMNS: tuple[str, ...] = ("timestamp", "open", "high", "low", "close", "volume")
FUNDING_COLUMNS: tuple[str, ...] = ("timestamp", "rate")
PRICE_COLUMNS: tuple[str, ...] = ("open", "high", "low", "close")
# Plausible ms timestamps: 2009-01-01 .. 2100-01-01. Outside it, the unit is wrong.
MIN_TS_MS = 1_230_768_000_000
MAX_TS_MS = 4_102_444_800_000
# Funding events closer than this are one event reported twice (ms jitter between sources).
FUNDING_MATCH_MS = 60_000
MAX_FUNDING_RATE = 0.05
# Funding is paid every 1, 4 or 8 h; a pause longer than a day is reported as a gap.
FUNDING_GAP_MS = 86_400_000


def columns_for(kind: Kind) -> tuple[str, ...]:
    """Return the columns a frame of ``kind`` must have."""
    return FUNDING_COLUMNS if kind is Kind.FUNDING else OHLCV_COLUMNS


@dataclass
class ValidationReport:
    """What validation found that did not make the data unusable."""

    source: str
    rows: int
    gaps: list[tuple[int, int]] = field(default_factory=list)
    spikes: list[int] = field(default_factory=list)

    @property
    def missing_bars(self) -> int:
        """Return the number of bars missing inside the series."""
        return sum(n for _, n in self.gaps)

    def summary(self) -> str:
        """Return a one-line summary of the warnings."""
        parts = [f"{self.rows} rows"]
        if self.gaps:
            parts.append(f"{len(self.gaps)} gaps ({self.missing_bars} bars missing)")
        if self.spikes:
            parts.append(f"{len(self.spikes)} spikes")
        return ", ".join(parts)


def _fail(source: str, problem: str) -> DataError:
    return DataError(f"{source}: {problem}")


@dataclass(frozen=True)
class _Rows:
    """Several series stacked in one array: which series, and which of its rows, row i is.

    ``starts`` holds each series' first row (``starts[0] == 0``); differences between
    consecutive rows are checked only inside a series.
    """

    sources: tuple[str, ...]
    starts: np.ndarray

    def fail(self, row: int, problem: str) -> DataError:
        """Return the error for global ``row``; ``{row}`` in ``problem`` is its series' row."""
        g = int(np.searchsorted(self.starts, row, "right")) - 1
        return _fail(self.sources[g], problem.format(row=row - int(self.starts[g])))

    def inside(self, n: int) -> np.ndarray:
        """Return a mask of the ``n - 1`` row differences that lie inside one series."""
        mask = np.ones(max(n - 1, 0), dtype=bool)
        mask[self.starts[1:] - 1] = False
        return mask


def _check_columns(df: pd.DataFrame, kind: Kind, source: str) -> None:
    if len(df) == 0:
        raise _fail(source, "empty: no rows")
    missing = [c for c in columns_for(kind) if c not in df.columns]
    if missing:
        raise _fail(source, f"missing columns {missing}")
    for col in columns_for(kind):
        if not pd.api.types.is_numeric_dtype(df[col]):
            raise _fail(source, f"column {col!r} is not numeric")
        if df[col].isna().any():
            first = int(df.index[df[col].isna()][0])
            raise _fail(source, f"column {col!r} has NaN values (first at row {first})")


def _check_timestamps(ts: np.ndarray, rows: _Rows) -> None:
    out = np.flatnonzero((ts < MIN_TS_MS) | (ts > MAX_TS_MS))
    if out.size:
        row = int(out[0])
        raise rows.fail(
            row,
            f"timestamp {int(ts[row])} at row {{row}} is not ms since the epoch in 2009..2100 "
            "(seconds or nanoseconds?)",
        )
    diffs = np.diff(ts)
    inside = rows.inside(ts.size)
    if ((diffs == 0) & inside).any():
        row = int(np.flatnonzero((diffs == 0) & inside)[0]) + 1
        raise rows.fail(row, f"duplicate timestamp {int(ts[row])} at row {{row}}")
    if ((diffs < 0) & inside).any():
        row = int(np.flatnonzero((diffs < 0) & inside)[0]) + 1
        raise rows.fail(row, "timestamps not sorted ascending at row {row}")


def _check_prices(prices: np.ndarray, vol: np.ndarray, rows: _Rows) -> None:
    """Check ``prices`` (open, high, low, close columns) and ``vol`` row by row."""
    bad = np.flatnonzero((prices <= 0).any(axis=1) | ~np.isfinite(prices).all(axis=1))
    if bad.size:
        raise rows.fail(int(bad[0]), "non-positive or infinite price at row {row}")
    o, h, lo, c = prices.T
    bad = np.flatnonzero(h < lo)
    if bad.size:
        raise rows.fail(int(bad[0]), "high < low at row {row}")
    tol = 1e-9 * h
    bad = np.flatnonzero((o > h + tol) | (o < lo - tol) | (c > h + tol) | (c < lo - tol))
    if bad.size:
        raise rows.fail(int(bad[0]), "open or close outside [low, high] at row {row}")
    bad = np.flatnonzero(vol < 0)
    if bad.size:
        raise rows.fail(int(bad[0]), "negative volume at row {row}")


def _check_funding(rates: np.ndarray, ts: np.ndarray, rows: _Rows) -> None:
    bad = np.flatnonzero(~np.isfinite(rates) | (np.abs(rates) > MAX_FUNDING_RATE))
    if bad.size:
        row = int(bad[0])
        raise rows.fail(row, f"funding rate {rates[row]} beyond 5% per interval at row {{row}}")
    close = np.flatnonzero((np.diff(ts) < FUNDING_MATCH_MS) & rows.inside(ts.size))
    if close.size:
        raise rows.fail(
            int(close[0]) + 1,
            "duplicate funding event at row {row}: less than 60 s after the previous one",
        )


def _check_grid(ts: np.ndarray, timeframe: str, rows: _Rows) -> None:
    off = np.flatnonzero(ts % timeframe_ms(timeframe) != 0)
    if off.size:
        row = int(off[0])
        raise rows.fail(row, f"timestamp {int(ts[row])} at row {{row}} is off the {timeframe} grid")


def _check_values(
    kind: Kind, ts: np.ndarray, values: np.ndarray, rows: _Rows, timeframe: str | None
) -> None:
    """Apply every fatal rule to stacked rows (``values``: the kind's columns after timestamp)."""
    _check_timestamps(ts, rows)
    if kind is Kind.FUNDING:
        _check_funding(values[:, 0], ts, rows)
        return
    _check_prices(values[:, :4], values[:, 4], rows)
    if timeframe is not None:
        _check_grid(ts, timeframe, rows)


def find_gaps(ts: np.ndarray, step_ms: int) -> list[tuple[int, int]]:
    """Return ``(timestamp_before_gap, bars_missing)`` for each hole in a regular grid."""
    diffs = np.diff(ts)
    idx = np.flatnonzero(diffs > step_ms)
    return [(int(ts[i]), int(diffs[i] // step_ms) - 1) for i in idx]


def find_funding_gaps(ts: np.ndarray) -> list[tuple[int, int]]:
    """Return ``(timestamp_before_gap, events_missing)`` for pauses longer than a day.

    The events missing are counted at the series' median interval.
    """
    diffs = np.diff(ts)
    idx = np.flatnonzero(diffs > FUNDING_GAP_MS)
    if idx.size == 0:
        return []
    step = float(np.median(diffs))
    return [(int(ts[i]), max(round(diffs[i] / step) - 1, 1)) for i in idx]


def find_spikes(df: pd.DataFrame, spike_sigma: float) -> list[int]:
    """Return row positions whose log move is an outlier by a robust (MAD) score."""
    close = df["close"].to_numpy(dtype=np.float64)
    if close.size < 20:
        return []
    hl = np.log(df["high"].to_numpy(dtype=np.float64) / df["low"].to_numpy(dtype=np.float64))
    cc = np.abs(np.diff(np.log(close), prepend=np.log(close[0])))
    found: set[int] = set()
    for series in (hl, cc):
        med = float(np.median(series))
        mad = float(np.median(np.abs(series - med))) * 1.4826
        if mad <= 0:
            continue
        found.update(int(i) for i in np.flatnonzero((series - med) / mad > spike_sigma))
    return sorted(found)


def validate_frame(
    kind: Kind,
    df: pd.DataFrame,
    *,
    source: str,
    timeframe: str | None = None,
    spike_sigma: float = 50.0,
) -> ValidationReport:
    """Check ``df`` and return a report of warnings; raise :class:`DataError` if it is unusable."""
    _check_columns(df, kind, source)
    ts = df["timestamp"].to_numpy(dtype=np.int64)
    values = df[list(columns_for(kind)[1:])].to_numpy(dtype=np.float64)
    _check_values(kind, ts, values, _Rows((source,), np.zeros(1, dtype=np.int64)), timeframe)
    report = ValidationReport(source=source, rows=len(df))
    if kind is Kind.FUNDING:
        report.gaps = find_funding_gaps(ts)
        return report
    if timeframe is not None:
        report.gaps = find_gaps(ts, timeframe_ms(timeframe))
    if kind is Kind.OHLCV:
        report.spikes = find_spikes(df, spike_sigma)
    return report


def validate_stacked(
    kind: Kind,
    series: Sequence[tuple[str, np.ndarray]],
    *,
    timeframe: str | None = None,
) -> list[ValidationReport]:
    """Check several series in one pass with the rules of :func:`validate_frame`.

    ``series`` holds ``(source, rows)`` per series, ``rows`` a float64 array with the kind's
    columns (:func:`columns_for`, timestamp first). Return one report per series (gaps; spikes
    need 20 rows and are left to :func:`validate_frame`); raise :class:`DataError` naming the
    series and its row for the first problem found.
    """
    if not series:
        return []
    for source, arr in series:
        if arr.shape[0] == 0:
            raise _fail(source, "empty: no rows")
    stacked = np.concatenate([arr for _, arr in series])
    starts = np.cumsum([0] + [arr.shape[0] for _, arr in series[:-1]]).astype(np.int64)
    rows = _Rows(tuple(src for src, _ in series), starts)
    nan = np.isnan(stacked)
    if nan.any():
        col = int(np.flatnonzero(nan.any(axis=0))[0])
        first = int(np.flatnonzero(nan[:, col])[0])
        name = columns_for(kind)[col]
        raise rows.fail(first, f"column {name!r} has NaN values (first at row {{row}})")
    ts = stacked[:, 0].astype(np.int64)
    _check_values(kind, ts, stacked[:, 1:], rows, timeframe)
    reports = []
    for (source, _), lo, hi in zip(series, starts, [*starts[1:], ts.size], strict=True):
        rep = ValidationReport(source=source, rows=int(hi - lo))
        if kind is Kind.FUNDING:
            rep.gaps = find_funding_gaps(ts[lo:hi])
        elif timeframe is not None:
            rep.gaps = find_gaps(ts[lo:hi], timeframe_ms(timeframe))
        reports.append(rep)
    return reports
