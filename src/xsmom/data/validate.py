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


def _check_timestamps(ts: np.ndarray, source: str) -> None:
    out = np.flatnonzero((ts < MIN_TS_MS) | (ts > MAX_TS_MS))
    if out.size:
        row = int(out[0])
        raise _fail(
            source,
            f"timestamp {int(ts[row])} at row {row} is not ms since the epoch in 2009..2100 "
            "(seconds or nanoseconds?)",
        )
    diffs = np.diff(ts)
    if (diffs == 0).any():
        row = int(np.flatnonzero(diffs == 0)[0]) + 1
        raise _fail(source, f"duplicate timestamp {int(ts[row])} at row {row}")
    if (diffs < 0).any():
        row = int(np.flatnonzero(diffs < 0)[0]) + 1
        raise _fail(source, f"timestamps not sorted ascending at row {row}")


def _check_prices(df: pd.DataFrame, source: str) -> None:
    prices = df[list(PRICE_COLUMNS)].to_numpy(dtype=np.float64)
    bad = np.flatnonzero((prices <= 0).any(axis=1) | ~np.isfinite(prices).all(axis=1))
    if bad.size:
        raise _fail(source, f"non-positive or infinite price at row {int(bad[0])}")
    o, h, lo, c = prices.T
    bad = np.flatnonzero(h < lo)
    if bad.size:
        raise _fail(source, f"high < low at row {int(bad[0])}")
    tol = 1e-9 * h
    bad = np.flatnonzero((o > h + tol) | (o < lo - tol) | (c > h + tol) | (c < lo - tol))
    if bad.size:
        raise _fail(source, f"open or close outside [low, high] at row {int(bad[0])}")
    vol = df["volume"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(vol < 0)
    if bad.size:
        raise _fail(source, f"negative volume at row {int(bad[0])}")


def _check_funding(df: pd.DataFrame, ts: np.ndarray, source: str) -> None:
    rates = df["rate"].to_numpy(dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(rates) | (np.abs(rates) > MAX_FUNDING_RATE))
    if bad.size:
        row = int(bad[0])
        raise _fail(source, f"funding rate {rates[row]} beyond 5% per interval at row {row}")
    close = np.flatnonzero(np.diff(ts) < FUNDING_MATCH_MS)
    if close.size:
        row = int(close[0]) + 1
        raise _fail(
            source, f"duplicate funding event at row {row}: less than 60 s after the previous one"
        )


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
    _check_timestamps(ts, source)
    report = ValidationReport(source=source, rows=len(df))
    if kind is Kind.FUNDING:
        _check_funding(df, ts, source)
        report.gaps = find_funding_gaps(ts)
        return report
    _check_prices(df, source)
    if timeframe is not None:
        step = timeframe_ms(timeframe)
        off = np.flatnonzero(ts % step != 0)
        if off.size:
            row = int(off[0])
            raise _fail(
                source, f"timestamp {int(ts[row])} at row {row} is off the {timeframe} grid"
            )
        report.gaps = find_gaps(ts, step)
    if kind is Kind.OHLCV:
        report.spikes = find_spikes(df, spike_sigma)
    return report
