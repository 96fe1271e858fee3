"""Import market-data files into the store: all validated first, then written together.

The import runs in three steps:

1. find and classify every file under the source (see :mod:`xsmom.data.sources`);
2. read and validate every file, combine the files of one series (the first file in path order
   wins on equal timestamps; funding events within a minute of each other are one event), and
   plan the merge of each series with what the store holds (stored rows win);
3. only if every file passed, write all changed series (temp files first, then renames).

So a corrupt, truncated or empty file anywhere under the source aborts the import before the
store is touched, with a :class:`DataError` naming the file and the problem. The import is
incremental: importing the same files again adds 0 rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from xsmom.data.sources import Series, Skipped, discover, read_source
from xsmom.data.store import MergePlan, ParquetStore
from xsmom.data.validate import FUNDING_MATCH_MS, Kind, validate_frame
from xsmom.errors import DataError

SeriesKey = tuple[Kind, str, str | None]


@dataclass(frozen=True)
class SeriesResult:
    """What an import did to one stored series."""

    kind: Kind
    symbol: str
    timeframe: str | None
    added: int
    rows: int
    gaps: int
    missing_bars: int
    spikes: int
    files: int


@dataclass
class ImportResult:
    """The outcome of one import: a row per series touched, and the files skipped."""

    series: list[SeriesResult] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    written: bool = False

    @property
    def added(self) -> int:
        """Return the total number of rows added."""
        return sum(s.added for s in self.series)


def dedupe(kind: Kind, frame: pd.DataFrame) -> pd.DataFrame:
    """Sort by time and keep the first row of each timestamp (funding: of each minute-near run)."""
    frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)
    ts = frame["timestamp"].to_numpy(np.int64)
    if kind is not Kind.FUNDING:
        keep = np.ones(ts.size, dtype=bool)
        keep[1:] = ts[1:] != ts[:-1]
        return frame.loc[keep].reset_index(drop=True)
    keep_idx: list[int] = []
    last = None
    for i, t in enumerate(ts.tolist()):
        if last is None or t - last >= FUNDING_MATCH_MS:
            keep_idx.append(i)
            last = t
    return frame.iloc[keep_idx].reset_index(drop=True)


def _wanted(s: Series, timeframes: set[str] | None, symbols: set[str] | None) -> bool:
    if symbols is not None and s.symbol not in symbols:
        return False
    return timeframes is None or s.kind is Kind.FUNDING or s.timeframe in timeframes


def read_and_group(
    src: Path,
    *,
    timeframes: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
) -> tuple[dict[SeriesKey, list[Series]], list[Skipped]]:
    """Read and validate every file under ``src``; group the frames by stored series."""
    found, skipped = discover(src)
    tf_set = set(timeframes) if timeframes else None
    sym_set = set(symbols) if symbols else None
    groups: dict[SeriesKey, list[Series]] = {}
    for sf in found:
        if sf.symbol is not None and sym_set is not None and sf.symbol not in sym_set:
            continue
        if tf_set is not None and sf.timeframe is not None and sf.timeframe not in tf_set:
            continue
        for series in read_source(sf):
            if not _wanted(series, tf_set, sym_set):
                continue
            where = str(sf.path) if sf.symbol is not None else f"{sf.path} [{series.symbol}]"
            validate_frame(series.kind, series.frame, source=where, timeframe=series.timeframe)
            groups.setdefault((series.kind, series.symbol, series.timeframe), []).append(series)
    return groups, skipped


def plan_import(
    store: ParquetStore, groups: dict[SeriesKey, list[Series]]
) -> list[tuple[MergePlan, int]]:
    """Combine each group's frames and plan its merge into ``store``; nothing is written."""
    plans: list[tuple[MergePlan, int]] = []
    for (kind, symbol, tf), parts in sorted(groups.items(), key=lambda kv: _sort_key(kv[0])):
        combined = dedupe(kind, pd.concat([p.frame for p in parts], ignore_index=True))
        names = ", ".join(str(p.source) for p in parts)
        plans.append((store.plan(kind, symbol, combined, tf, source=names), len(parts)))
    return plans


def _sort_key(key: SeriesKey) -> tuple[str, str, str]:
    kind, symbol, tf = key
    return (symbol, kind.value, tf or "")


def import_data(
    src: Path,
    store: ParquetStore,
    *,
    timeframes: Sequence[str] | None = None,
    symbols: Sequence[str] | None = None,
    dry_run: bool = False,
) -> ImportResult:
    """Import every recognised file under ``src`` into ``store``; see the module docstring."""
    groups, skipped = read_and_group(src, timeframes=timeframes, symbols=symbols)
    if not groups:
        raise DataError(f"{src}: no importable market-data files found")
    if dry_run:
        planned = plan_import(store, groups)
    else:
        with store.writer_lock():
            planned = plan_import(store, groups)
            store.apply([p for p, _ in planned])
    result = ImportResult(skipped=skipped, written=not dry_run)
    for plan, n_files in planned:
        rep = plan.report
        result.series.append(
            SeriesResult(
                kind=plan.kind,
                symbol=plan.symbol,
                timeframe=plan.timeframe,
                added=plan.added,
                rows=rep.rows,
                gaps=len(rep.gaps),
                missing_bars=rep.missing_bars,
                spikes=len(rep.spikes),
                files=n_files,
            )
        )
    return result


def format_result(result: ImportResult, *, max_skipped: int = 20) -> list[str]:
    """Return the per-series summary lines of an import, for printing."""
    lines = [
        f"{'symbol':<22} {'kind':<8} {'tf':<4} {'added':>8} {'rows':>8} {'gaps':>9} {'spikes':>6}"
    ]
    for s in result.series:
        gaps = f"{s.gaps}" if not s.gaps else f"{s.gaps}/{s.missing_bars}b"
        lines.append(
            f"{s.symbol:<22} {s.kind.value:<8} {s.timeframe or '-':<4} {s.added:>8} "
            f"{s.rows:>8} {gaps:>9} {s.spikes:>6}"
        )
    verb = "added" if result.written else "would add (dry run)"
    lines.append(f"{len(result.series)} series, {result.added} rows {verb}")
    if result.skipped:
        lines.append(f"{len(result.skipped)} files skipped:")
        lines.extend(f"  {s.path}: {s.reason}" for s in result.skipped[:max_skipped])
        if len(result.skipped) > max_skipped:
            lines.append(f"  ... and {len(result.skipped) - max_skipped} more")
    return lines
