"""A Parquet store held in memory for the live engine: batched appends, write-behind flushes.

`CachedStore` reads each series from disk once and keeps it in numpy arrays with room to grow.
A batch of new rows for many symbols (:meth:`CachedStore.merge_batch`, what the downloader
sends each bar) is validated in one pass: each series' new rows with its last stored row before
them (the seam), by :func:`~xsmom.data.validate.validate_stacked`, the rules of every store
write. That is the whole validation a full re-check of the merged series would do, since the
stored rows were valid when they were written and every rule looks at one row or at two
consecutive rows. Rows that are not a clean append (older or overlapping rows, a new series)
take :meth:`ParquetStore.plan`, the path of ``xsmom data download``, and are written at once.

With ``write_behind`` the appended rows are written by :meth:`CachedStore.flush_behind` (the
engine calls it every ``live.engine.store_flush_bars`` bars: a background thread writes the
files while the cycles go on) or :meth:`CachedStore.flush` (at stop; waits). Every write is the
store's staged, atomic write (temp file, fsync, rename), so the files are never half written: a
crash loses at most the rows not flushed yet, and since the downloader continues from the
newest row on disk, the next start downloads them again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.data.store import MergePlan, ParquetStore, rows_frame
from xsmom.data.validate import (
    FUNDING_MATCH_MS,
    Kind,
    ValidationReport,
    columns_for,
    validate_stacked,
)
from xsmom.errors import DataError

_Key = tuple[Kind, str, str | None]
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


def _table(kind: Kind, ts: I64, vals: F64) -> pa.Table:
    cols = columns_for(kind)
    data = {"timestamp": pa.array(ts, pa.int64())}
    for j, c in enumerate(cols[1:]):
        data[c] = pa.array(vals[:, j], pa.float64())
    return pa.table(data)


@dataclass(frozen=True)
class _Job:
    """One series to write: its whole rows (``ts``, ``vals``), or, when memory holds only a
    window (None), the file's rows followed by ``chunks``, the rows not yet on disk."""

    key: _Key
    path: Path
    chunks: list[F64]
    ts: I64 | None
    vals: F64 | None

    def table(self) -> pa.Table:
        kind = self.key[0]
        if self.ts is not None and self.vals is not None:
            return _table(kind, self.ts, self.vals)
        cols = columns_for(kind)
        new = np.vstack(self.chunks)
        try:
            old = pq.read_table(self.path, columns=list(cols))
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"{self.path}: unreadable Parquet file ({exc})") from exc
        ts = np.concatenate([old.column(0).to_numpy(), new[:, 0].astype(np.int64)])
        vals = np.column_stack(
            [np.concatenate([old.column(j).to_numpy(), new[:, j]]) for j in range(1, len(cols))]
        )
        return _table(kind, ts, vals)


class _Series:
    """One series in memory: ``ts[lo:n]`` and ``vals[lo:n]``, with spare room after ``n``.

    Arrays handed out are views; appends write after ``n`` and compaction allocates new arrays,
    so a view never changes. ``cut``: rows before it may be on disk only (a rolling window).
    """

    def __init__(self, ts: I64, vals: F64) -> None:
        self.ts, self.vals = ts, vals
        self.lo, self.n = 0, int(ts.size)
        self.cut: int | None = None
        self._reserve(0)

    @classmethod
    def of(cls, kind: Kind, df: pd.DataFrame) -> _Series:
        cols = list(columns_for(kind))
        ts = df["timestamp"].to_numpy(np.int64)
        return cls(ts, df[cols[1:]].to_numpy(np.float64))

    def last(self) -> int | None:
        return int(self.ts[self.n - 1]) if self.n > self.lo else None

    def last_row(self) -> F64:
        row = np.empty(self.vals.shape[1] + 1)
        row[0] = self.ts[self.n - 1]
        row[1:] = self.vals[self.n - 1]
        return row

    def _reserve(self, extra: int) -> None:
        size = self.n - self.lo
        if self.n + extra <= self.ts.size and self.lo <= max(size, 64):
            return
        cap = 2 * (size + extra) + 64
        ts = np.empty(cap, dtype=np.int64)
        vals = np.empty((cap, self.vals.shape[1]), dtype=np.float64)
        ts[:size] = self.ts[self.lo : self.n]
        vals[:size] = self.vals[self.lo : self.n]
        self.ts, self.vals, self.lo, self.n = ts, vals, 0, size

    def append(self, rows: F64) -> None:
        self._reserve(rows.shape[0])
        end = self.n + rows.shape[0]
        self.ts[self.n : end] = rows[:, 0].astype(np.int64)
        self.vals[self.n : end] = rows[:, 1:]
        self.n = end

    def bounds(self, start_ms: int | None, end_ms: int | None) -> tuple[int, int]:
        ts = self.ts[self.lo : self.n]
        a = 0 if start_ms is None else int(np.searchsorted(ts, start_ms, "left"))
        b = ts.size if end_ms is None else int(np.searchsorted(ts, end_ms, "left"))
        return self.lo + a, self.lo + max(a, b)

    def drop_before(self, ts_ms: int) -> None:
        self.cut = ts_ms if self.cut is None else max(self.cut, ts_ms)
        self.lo = self.bounds(self.cut, None)[0]
        self._reserve(0)

    def frame(self, kind: Kind, a: int, b: int) -> pd.DataFrame:
        cols = columns_for(kind)
        data: dict[str, np.ndarray] = {"timestamp": self.ts[a:b].copy()}
        for j, c in enumerate(cols[1:]):
            data[c] = self.vals[a:b, j].copy()
        return pd.DataFrame(data)


def _is_append(kind: Kind, last: int | None, rows: F64) -> bool:
    if last is None:
        return False
    ts = rows[:, 0]
    gap = FUNDING_MATCH_MS if kind is Kind.FUNDING else 1
    return bool(np.all(np.diff(ts) > 0) and ts[0] >= last + gap)


class CachedStore(ParquetStore):
    """A `ParquetStore` served from memory after the first read; see the module docstring."""

    def __init__(self, root: Path | str, *, write_behind: bool = False) -> None:
        super().__init__(root)
        self.write_behind = write_behind
        self._mem: dict[_Key, _Series] = {}
        self._pending: dict[_Key, list[F64]] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._running: tuple[Future[None], list[_Job]] | None = None

    # ---- reads -----------------------------------------------------------------------------
    def _load(self, kind: Kind, symbol: str, timeframe: str | None) -> _Series | None:
        key = (kind, symbol, timeframe)
        s = self._mem.get(key)
        if s is None and super().exists(kind, symbol, timeframe):
            s = self._mem[key] = _Series.of(kind, super().read(kind, symbol, timeframe))
        return s

    def _from_disk(self, s: _Series, start_ms: int | None) -> bool:
        """Return True when a read from ``start_ms`` needs rows that only the file holds."""
        return s.cut is not None and (start_ms is None or start_ms < s.cut)

    def read(
        self,
        kind: Kind,
        symbol: str,
        timeframe: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> pd.DataFrame:
        """Read a series (from memory after the first read), limited like `ParquetStore.read`."""
        s = self._load(kind, symbol, timeframe)
        if s is None or self._from_disk(s, start_ms):
            self._flush_keys([(kind, symbol, timeframe)])  # the file must hold every row
            return super().read(kind, symbol, timeframe, start_ms=start_ms, end_ms=end_ms)
        return s.frame(kind, *s.bounds(start_ms, end_ms))

    def read_columns(
        self,
        kind: Kind,
        symbol: str,
        timeframe: str | None = None,
        *,
        start_ms: int | None = None,
        end_ms: int | None = None,
    ) -> dict[str, np.ndarray]:
        """Return read-only views of the series' columns in memory (no copy)."""
        s = self._load(kind, symbol, timeframe)
        if s is None or self._from_disk(s, start_ms):
            df = self.read(kind, symbol, timeframe, start_ms=start_ms, end_ms=end_ms)
            return {c: df[c].to_numpy() for c in columns_for(kind)}
        a, b = s.bounds(start_ms, end_ms)
        out: dict[str, np.ndarray] = {"timestamp": s.ts[a:b]}
        for j, c in enumerate(columns_for(kind)[1:]):
            out[c] = s.vals[a:b, j]
        for v in out.values():
            v.flags.writeable = False
        return out

    def exists(self, kind: Kind, symbol: str, timeframe: str | None = None) -> bool:
        """Return True if the series is stored (or held in memory)."""
        return (kind, symbol, timeframe) in self._mem or super().exists(kind, symbol, timeframe)

    def last_timestamp(self, kind: Kind, symbol: str, timeframe: str | None = None) -> int | None:
        """Return the newest timestamp of a series (unflushed rows included), None if none."""
        s = self._load(kind, symbol, timeframe)
        return None if s is None else s.last()

    def forget_before(self, kind: Kind, symbol: str, timeframe: str | None, ts: int) -> None:
        """Keep only rows from ``ts`` on in memory (a rolling window); the file is untouched.

        Reads that need older rows go to the file (after writing what memory has not yet).
        """
        s = self._load(kind, symbol, timeframe)
        if s is not None:  # nothing stored (a symbol without mark candles): nothing to drop
            s.drop_before(ts)

    def memory_rows(self, kind: Kind, symbol: str, timeframe: str | None = None) -> int:
        """Return how many rows of the series memory holds (0 if none)."""
        s = self._mem.get((kind, symbol, timeframe))
        return 0 if s is None else s.n - s.lo

    def pending_rows(self) -> int:
        """Return how many appended rows are not on disk yet."""
        return sum(r.shape[0] for rows in self._pending.values() for r in rows)

    # ---- writes ----------------------------------------------------------------------------
    def merge_batch(
        self,
        kind: Kind,
        batch: Mapping[str, np.ndarray],
        timeframe: str | None = None,
        *,
        sources: Mapping[str, str] | None = None,
    ) -> dict[str, int]:
        """Append new rows of several symbols with one validation; see the module docstring."""
        names = {s: (sources or {}).get(s, s) for s in batch}
        return {s: n for s, (n, _) in self._merge(kind, batch, timeframe, names).items()}

    def merge(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> tuple[int, ValidationReport]:
        """Merge one series' rows (as `ParquetStore.merge`), by the batch path."""
        cols = list(columns_for(kind))
        numeric = set(cols) <= set(df.columns) and all(
            pd.api.types.is_numeric_dtype(df[c]) for c in cols
        )
        if not numeric or len(df) == 0:  # refused by the per-series path, with its message
            return super().merge(kind, symbol, df, timeframe, source=source)
        rows = df[cols].to_numpy(np.float64)
        return self._merge(kind, {symbol: rows}, timeframe, {symbol: source or symbol})[symbol]

    def _merge(
        self,
        kind: Kind,
        batch: Mapping[str, np.ndarray],
        timeframe: str | None,
        names: Mapping[str, str],
    ) -> dict[str, tuple[int, ValidationReport]]:
        appends: dict[str, F64] = {}
        series: list[tuple[str, np.ndarray]] = []
        for sym, rows in batch.items():
            s = self._load(kind, sym, timeframe)
            if s is not None and _is_append(kind, s.last(), rows):
                appends[sym] = rows
                src = f"{names[sym]} appended to {self.path(kind, sym, timeframe)}"
                series.append((src, np.vstack([s.last_row(), rows])))
            else:
                series.append((names[sym], rows))
        reports = validate_stacked(kind, series, timeframe=timeframe)
        out = {
            sym: (rows.shape[0], rep)
            for (sym, rows), rep in zip(batch.items(), reports, strict=True)
            if sym in appends
        }
        for sym, rows in appends.items():
            key = (kind, sym, timeframe)
            self._mem[key].append(rows)
            self._pending.setdefault(key, []).append(rows)
        others = [
            self.plan(kind, sym, rows_frame(kind, rows), timeframe, source=names[sym])
            for sym, rows in batch.items()
            if sym not in appends
        ]
        self.apply(others)
        out.update({p.symbol: (p.added, p.report) for p in others})
        if not self.write_behind:
            self.flush()
        return {sym: out[sym] for sym in batch}

    def apply(self, plans: Sequence[MergePlan]) -> None:
        """Write the plans at once; memory reloads those series from disk on the next read."""
        keys = [(p.kind, p.symbol, p.timeframe) for p in plans if p.frame is not None]
        self._flush_keys(keys)
        super().apply(plans)
        for key in keys:
            self._mem.pop(key, None)

    def write(
        self,
        kind: Kind,
        symbol: str,
        df: pd.DataFrame,
        timeframe: str | None = None,
        *,
        source: str | None = None,
    ) -> ValidationReport:
        """Replace a series on disk (as `ParquetStore.write`) and drop it from memory."""
        key = (kind, symbol, timeframe)
        self._settle()
        report = super().write(kind, symbol, df, timeframe, source=source)
        self._mem.pop(key, None)
        self._pending.pop(key, None)
        return report

    def flush(self) -> int:
        """Write every series with unflushed rows now; return how many were written.

        Waits for a background flush first (and raises its error, its rows queued again).
        """
        return self._flush_keys(list(self._pending))

    def flush_behind(self) -> int:
        """Start writing every series with unflushed rows in a background thread.

        Return how many series it writes. The cycle does not wait for the disk: the next
        flush, a read that needs the files, any other write, or :meth:`close` waits for it
        first and raises its error (a :class:`DataError`; its rows are queued again).
        """
        self._settle()
        jobs = self._snapshot(list(self._pending))
        if jobs:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(1, thread_name_prefix="xsmom-store-flush")
            self._running = (self._pool.submit(self._write, jobs), jobs)
        return len(jobs)

    def close(self) -> None:
        """Write every unflushed row and stop the background writer."""
        try:
            self.flush()
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def _settle(self) -> None:
        running, self._running = self._running, None
        if running is None:
            return
        future, jobs = running
        try:
            future.result()
        except BaseException:
            self._requeue(jobs)
            raise

    def _requeue(self, jobs: Sequence[_Job]) -> None:
        for job in jobs:
            self._pending[job.key] = [*job.chunks, *self._pending.get(job.key, [])]

    def _snapshot(self, keys: Sequence[_Key]) -> list[_Job]:
        """Take the unflushed rows of ``keys`` off the queue as write jobs."""
        jobs = []
        for key in keys:
            chunks = self._pending.pop(key, None)
            if not chunks:
                continue
            s = self._mem[key]
            path = self.path(*key)
            if s.cut is None:  # memory holds the whole series: views, never changed later
                jobs.append(_Job(key, path, chunks, s.ts[s.lo : s.n], s.vals[s.lo : s.n]))
            else:
                jobs.append(_Job(key, path, chunks, None, None))
        return jobs

    def _write(self, jobs: Sequence[_Job]) -> None:
        self.apply_tables((job.path, job.table) for job in jobs)  # one table at a time

    def _flush_keys(self, keys: Sequence[_Key]) -> int:
        self._settle()
        jobs = self._snapshot(keys)
        try:
            self._write(jobs)
        except BaseException:
            self._requeue(jobs)
            raise
        return len(jobs)
