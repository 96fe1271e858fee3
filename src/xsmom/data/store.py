"""Parquet store of OHLCV, mark-price candles and funding events, one file per symbol.

Layout under the store root::

    ohlcv/<timeframe>/<BASE>_<QUOTE>_<SETTLE>.parquet   timestamp, open, high, low, close, volume
    mark/<timeframe>/<BASE>_<QUOTE>_<SETTLE>.parquet    same columns, volume 0
    funding/<BASE>_<QUOTE>_<SETTLE>.parquet             timestamp, rate

Timestamps are int64 ms UTC (bar open time for candles, funding time for funding events, kept
with the venue's ms jitter). Every write is validated and atomic, so a crash or a refused file
never leaves half a store. Several series can be changed together with :meth:`ParquetStore.plan`
and :meth:`ParquetStore.apply`: every new file is written to a temp file first, and only when all
are written are they renamed into place.
"""

from __future__ import annotations

import fcntl
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.data.atomic import atomic_write
from xsmom.data.symbols import from_file_id, to_file_id
from xsmom.data.validate import (
    FUNDING_MATCH_MS,
    Kind,
    ValidationReport,
    columns_for,
    validate_frame,
    validate_stacked,
)
from xsmom.errors import DataError


@dataclass(frozen=True)
class MergePlan:
    """A validated change to one stored series, not yet written.

    ``frame`` is the whole new series (stored rows plus new ones), or None when nothing is new.
    """

    kind: Kind
    symbol: str
    timeframe: str | None
    path: Path
    frame: pd.DataFrame | None
    added: int
    report: ValidationReport


def _near(existing: np.ndarray, incoming: np.ndarray, tol_ms: int) -> np.ndarray:
    """Return a mask of ``incoming`` timestamps within ``tol_ms`` of a sorted ``existing`` one."""
    if existing.size == 0:
        return np.zeros(incoming.size, dtype=bool)
    pos = np.searchsorted(existing, incoming)
    left = existing[np.clip(pos - 1, 0, existing.size - 1)]
    right = existing[np.clip(pos, 0, existing.size - 1)]
    dist = np.minimum(np.abs(incoming - left), np.abs(right - incoming))
    return np.asarray(dist < tol_ms)


def new_rows(kind: Kind, current: pd.DataFrame, incoming: pd.DataFrame) -> pd.DataFrame:
    """Return the rows of ``incoming`` that ``current`` does not hold yet.

    Candles match on the exact timestamp; funding events match within a minute, so the same
    event reported with different ms jitter is not stored twice.
    """
    cur = current["timestamp"].to_numpy(np.int64)
    inc = incoming["timestamp"].to_numpy(np.int64)
    exact = kind is not Kind.FUNDING
    seen = np.isin(inc, cur) if exact else _near(np.sort(cur), inc, FUNDING_MATCH_MS)
    return incoming.loc[~seen]


def rows_frame(kind: Kind, rows: np.ndarray) -> pd.DataFrame:
    """Return float64 ``rows`` (the kind's columns, timestamp first) as a store frame."""
    df = pd.DataFrame(rows, columns=list(columns_for(kind)))
    return df.astype({"timestamp": "int64"})


def _to_table(kind: Kind, frame: pd.DataFrame) -> pa.Table:
    cols = list(columns_for(kind))
    typed = frame[cols].astype({c: ("int64" if c == "timestamp" else "float64") for c in cols})
    return pa.Table.from_pandas(typed.reset_index(drop=True), preserve_index=False)


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ParquetStore:
    """A folder of per-symbol Parquet files; see the module docstring for the layout."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the store's writer lock (``.lock``), or fail at once if another writer has it.

        Imports and downloads take it so that two of them never merge into one file at the same
        time; readers need no lock, since every file is replaced atomically.
        """
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / ".lock", "a+") as fh:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as exc:
                raise DataError(
                    f"{self.root}: another import or download is writing to this store"
                ) from exc
            try:
                yield
            finally:
                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)

    def path(self, kind: Kind, symbol: str, timeframe: str | None = None) -> Path:
        """Return the file that holds ``symbol``'s series of ``kind``."""
        name = f"{to_file_id(symbol)}.parquet"
        if kind is Kind.FUNDING:
            return self.root / kind.value / name
        if timeframe is None:
            raise DataError(f"{kind.value} needs a timeframe")
        return self.root / kind.value / timeframe / name

    def symbols(self, kind: Kind = Kind.OHLCV, timeframe: str | None = "1h") -> list[str]:
        """Return the unified symbols stored for ``kind`` (and ``timeframe``), sorted."""
        folder = self.root / kind.value
        if kind is not Kind.FUNDING:
            folder = folder / str(timeframe)
        if not folder.is_dir():
            return []
        return sorted(from_file_id(p.stem) for p in folder.glob("*.parquet"))

    def timeframes(self, kind: Kind = Kind.OHLCV) -> list[str]:
        """Return the timeframes that have at least one file for ``kind``."""
        folder = self.root / kind.value
        if kind is Kind.FUNDING or not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.is_dir() and any(p.glob("*.parquet")))

    def exists(self, kind: Kind, symbol: str, timeframe: str | None = None) -> bool:
        """Return True if a file exists for this series."""
        return self.path(kind, symbol, timeframe).is_file()

    def read(
        self,
        kind: Kind,
        symbol: str,
        timeframe: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pd.DataFrame:
        """Read a series, optionally limited to ``start_ms <= timestamp < end_ms``."""
        path = self.path(kind, symbol, timeframe)
        if not path.is_file():
            raise DataError(f"no {kind.value} data for {symbol} in {self.root}")
        try:
            table = pq.read_table(path, columns=list(columns_for(kind)))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: unreadable Parquet file ({exc})") from exc
        df: pd.DataFrame = table.to_pandas()
        if start_ms is not None or end_ms is not None:
            ts = df["timestamp"].to_numpy()
            keep = np.ones(len(df), dtype=bool)
            if start_ms is not None:
                keep &= ts >= start_ms
            if end_ms is not None:
                keep &= ts < end_ms
            df = df.loc[keep].reset_index(drop=True)
        return df

    def read_columns(
        self,
        kind: Kind,
        symbol: str,
        timeframe: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Read a series like :meth:`read`, as one numpy array per column (not to be changed)."""
        df = self.read(kind, symbol, timeframe, start_ms=start_ms, end_ms=end_ms)
        return {c: df[c].to_numpy() for c in columns_for(kind)}

    def last_timestamp(self, kind: Kind, symbol: str, timeframe: str | None = None) -> int | None:
        """Return the newest stored timestamp of a series, or None if there is none."""
        path = self.path(kind, symbol, timeframe)
        if not path.is_file():
            return None
        try:
            ts = pq.read_table(path, columns=["timestamp"]).column("timestamp").to_numpy()
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{path}: unreadable Parquet file ({exc})") from exc
        return int(ts[-1]) if ts.size else None

    def write(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> ValidationReport:
        """Validate ``df`` and replace the stored series with it, atomically."""
        cols = list(columns_for(kind))
        frame = df[cols] if set(cols) <= set(df.columns) else df
        report = validate_frame(kind, frame, source=source or symbol, timeframe=timeframe)
        table = _to_table(kind, frame)
        path = self.path(kind, symbol, timeframe)
        atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return report

    def plan(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> MergePlan:
        """Validate ``df`` and work out the merged series, without writing anything.

        Rows already stored win over incoming rows with the same timestamp (within a minute for
        funding), so a re-import adds nothing and an interrupted download resumes cleanly.
        """
        src = source or symbol
        path = self.path(kind, symbol, timeframe)
        cols = list(columns_for(kind))
        missing = [c for c in cols if c not in df.columns]
        if missing:
            raise DataError(f"{src}: missing columns {missing}")
        incoming = df[cols]
        report = validate_frame(kind, incoming, source=src, timeframe=timeframe)
        if not path.is_file():
            frame = incoming.reset_index(drop=True)
            return MergePlan(kind, symbol, timeframe, path, frame, len(frame), report)
        current = self.read(kind, symbol, timeframe)
        new = new_rows(kind, current, incoming)
        if new.empty:
            report = validate_frame(kind, current, source=str(path), timeframe=timeframe)
            return MergePlan(kind, symbol, timeframe, path, None, 0, report)
        merged = pd.concat([current, new], ignore_index=True)
        merged = merged.sort_values("timestamp", kind="stable").reset_index(drop=True)
        report = validate_frame(
            kind, merged, source=f"{src} merged into {path}", timeframe=timeframe
        )
        return MergePlan(kind, symbol, timeframe, path, merged, len(new), report)

    def apply(self, plans: Sequence[MergePlan]) -> None:
        """Write every plan's series: all to temp files first, then rename them into place.

        If any temp file cannot be written, all are removed and the store is unchanged. The
        renames come last; a crash among them leaves each file whole (old or new), and a rerun
        of an incremental import or download completes the rest.
        """
        self.apply_tables(
            [(p.path, partial(_to_table, p.kind, p.frame)) for p in plans if p.frame is not None]
        )

    def apply_tables(self, tables: Iterable[tuple[Path, Callable[[], pa.Table]]]) -> None:
        """Write whole series, staged and renamed as :meth:`apply` does.

        Each table is built by its callable just before its temp file is written, so only one
        is in memory at a time. The tables must hold valid series with the store's columns and
        types (the caller validated them); nothing is checked here.
        """
        staged: list[tuple[Path, Path]] = []
        try:
            for path, build in tables:
                staged.append((self._stage(path, build()), path))
        except BaseException:
            for tmp, _ in staged:
                tmp.unlink(missing_ok=True)
            raise
        for tmp, path in staged:
            os.replace(tmp, path)
        for folder in {path.parent for _, path in staged}:
            _fsync_dir(folder)

    def _stage(self, path: Path, table: pa.Table) -> Path:
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        except OSError as exc:
            raise DataError(f"{path}: cannot write to the store ({exc})") from exc
        os.close(fd)
        tmp = Path(name)
        try:
            pq.write_table(table, tmp, compression="zstd")
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
        except (OSError, pa.ArrowException) as exc:
            tmp.unlink(missing_ok=True)
            raise DataError(f"{path}: cannot write to the store ({exc})") from exc
        return tmp

    def merge(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> tuple[int, ValidationReport]:
        """Add the rows of ``df`` newer or missing from the store; return (rows added, report).

        Rows already stored win over incoming rows with the same timestamp, so a re-import
        is a no-op and an interrupted download resumes where it stopped.
        """
        plan = self.plan(kind, symbol, df, timeframe, source=source)
        self.apply([plan])
        return plan.added, plan.report

    def merge_batch(
        self,
        kind: Kind,
        batch: Mapping[str, np.ndarray],
        timeframe: str | None = None,
        *,
        sources: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        """Merge new rows of several symbols at once; return the rows added per symbol.

        ``batch`` maps a symbol to float64 rows with the kind's columns (timestamp first). All
        are validated in one pass (the rules of :func:`validate_frame`) before anything is
        planned; then each is merged as :meth:`merge` does, and written with one :meth:`apply`.
        A refused row refuses the whole batch: nothing of it is written.
        """
        names = {s: (sources or {}).get(s, s) for s in batch}
        validate_stacked(kind, [(names[s], r) for s, r in batch.items()], timeframe=timeframe)
        plans = [
            self.plan(kind, s, rows_frame(kind, r), timeframe, source=names[s])
            for s, r in batch.items()
        ]
        self.apply(plans)
        return {p.symbol: p.added for p in plans}
