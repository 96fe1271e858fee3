"""What a store holds, series by series, and a re-validation of every file in it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from xsmom.data.coverage import FundingCoverage, Stretch, funding_coverage, mark_gaps
from xsmom.data.store import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind, ValidationReport, validate_frame
from xsmom.errors import DataError


@dataclass(frozen=True)
class SeriesInfo:
    """One stored series: its size, time span and validation warnings."""

    kind: Kind
    symbol: str
    timeframe: str | None
    rows: int
    first_ms: int | None
    last_ms: int | None
    gaps: int
    missing: int
    spikes: int


@dataclass(frozen=True)
class SeriesProblem:
    """A stored series that fails validation or cannot be read."""

    kind: Kind
    symbol: str
    timeframe: str | None
    error: str


def series_keys(store: ParquetStore) -> Iterator[tuple[Kind, str, str | None]]:
    """Yield (kind, symbol, timeframe) for every file of ``store``, by symbol then kind."""
    keys: list[tuple[Kind, str, str | None]] = []
    for kind in (Kind.OHLCV, Kind.MARK):
        for tf in store.timeframes(kind):
            keys.extend((kind, s, tf) for s in store.symbols(kind, tf))
    keys.extend((Kind.FUNDING, s, None) for s in store.symbols(Kind.FUNDING, None))
    order = {Kind.OHLCV: 0, Kind.MARK: 1, Kind.FUNDING: 2}
    yield from sorted(keys, key=lambda k: (k[1], order[k[0]], k[2] or ""))


def _check(
    store: ParquetStore, kind: Kind, symbol: str, tf: str | None
) -> tuple[ValidationReport, pd.Series]:
    df = store.read(kind, symbol, tf)
    source = str(store.path(kind, symbol, tf))
    return validate_frame(kind, df, source=source, timeframe=tf), df["timestamp"]


def inspect(store: ParquetStore) -> tuple[list[SeriesInfo], list[SeriesProblem]]:
    """Read and validate every series of ``store``; return the good ones and the problems."""
    infos: list[SeriesInfo] = []
    problems: list[SeriesProblem] = []
    for kind, symbol, tf in series_keys(store):
        try:
            rep, ts = _check(store, kind, symbol, tf)
        except DataError as exc:
            problems.append(SeriesProblem(kind, symbol, tf, str(exc)))
            continue
        infos.append(
            SeriesInfo(
                kind=kind,
                symbol=symbol,
                timeframe=tf,
                rows=rep.rows,
                first_ms=int(ts.iloc[0]) if len(ts) else None,
                last_ms=int(ts.iloc[-1]) if len(ts) else None,
                gaps=len(rep.gaps),
                missing=rep.missing_bars,
                spikes=len(rep.spikes),
            )
        )
    return infos, problems


def fmt_ms(ms: int | None) -> str:
    """Format an epoch-ms timestamp as ``YYYY-MM-DD HH:MM`` UTC."""
    if ms is None:
        return "-"
    return pd.Timestamp(ms, unit="ms", tz="UTC").strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True)
class SymbolCoverage:
    """Funding and mark-price coverage of one symbol's candles of one timeframe."""

    symbol: str
    timeframe: str
    has_funding: bool
    funding: FundingCoverage
    mark: tuple[Stretch, ...]

    def lines(self) -> list[str]:
        """Return the report lines: gaps, mark gaps and interval changes ([] when complete)."""
        name = f"{self.symbol} {self.timeframe}"
        out = [] if self.has_funding else [f"NO FUNDING {name}: no funding file in the store"]
        out += [f"FUNDING GAP {name}: {g.describe()}" for g in self.funding.gaps]
        out += [f"MARK GAP {name}: {g.describe()} (charged at the trade open)" for g in self.mark]
        if self.funding.changes:
            changes = ", ".join(c.describe() for c in self.funding.changes)
            out.append(f"INTERVAL {name}: funding interval changed: {changes}")
        return out


def _timestamps(store: ParquetStore, kind: Kind, symbol: str, tf: str | None) -> np.ndarray:
    if not store.exists(kind, symbol, tf):
        return np.zeros(0, dtype=np.int64)
    return store.read(kind, symbol, tf)["timestamp"].to_numpy(np.int64)


def coverage_report(store: ParquetStore) -> tuple[list[SymbolCoverage], list[SeriesProblem]]:
    """Return the funding coverage of every OHLCV series of ``store`` against its own bars.

    Series that cannot be read are returned as problems (``inspect`` names them too).
    """
    found: list[SymbolCoverage] = []
    problems: list[SeriesProblem] = []
    for tf in store.timeframes(Kind.OHLCV):
        bar_ms = timeframe_ms(tf)
        for sym in store.symbols(Kind.OHLCV, tf):
            try:
                bars = _timestamps(store, Kind.OHLCV, sym, tf)
                fts = _timestamps(store, Kind.FUNDING, sym, None)
                mts = _timestamps(store, Kind.MARK, sym, tf)
            except DataError as exc:
                problems.append(SeriesProblem(Kind.FUNDING, sym, tf, str(exc)))
                continue
            if bars.size == 0:
                continue
            first, last = int(bars[0]), int(bars[-1])
            cov = funding_coverage(sym, fts, first, last, bar_ms)
            marks = mark_gaps(fts, mts, first, last + bar_ms, bar_ms)
            has = store.exists(Kind.FUNDING, sym, None)
            found.append(SymbolCoverage(sym, tf, has, cov, tuple(marks)))
    return found, problems
