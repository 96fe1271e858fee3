"""Parquet store of OHLCV, mark-price candles and funding events, one file per symbol.

Layout under the store root::

    ohlcv/<timeframe>/<BASE>_<QUOTE>_<SETTLE>.parquet   timestamp, open, high, low, close, volume
    mark/<timeframe>/<BASE>_<QUOTE>_<SETTLE>.parquet    same columns, volume 0
    funding/<BASE>_<QUOTE>_<SETTLE>.parquet             timestamp, rate

Timestamps are int64 ms UTC (bar open time for candles, funding time for funding events).
Every write is validated and atomic, so a crash or a refused file never leaves half a store.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.data.atomic import atomic_write
from xsmom.data.symbols import from_file_id, to_file_id
from xsmom.data.validate import Kind, ValidationReport, columns_for, validate_frame
from xsmom.errors import DataError


class ParquetStore:
    """A folder of per-symbol Parquet files; see the module docstring for the layout."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

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
        df = table.to_pandas()
        if start_ms is not None or end_ms is not None:
            ts = df["timestamp"].to_numpy()
            keep = np.ones(len(df), dtype=bool)
            if start_ms is not None:
                keep &= ts >= start_ms
            if end_ms is not None:
                keep &= ts < end_ms
            df = df.loc[keep].reset_index(drop=True)
        return df

    def last_timestamp(self, kind: Kind, symbol: str, timeframe: str | None = None) -> int | None:
        """Return the newest stored timestamp of a series, or None if there is none."""
        path = self.path(kind, symbol, timeframe)
        if not path.is_file():
            return None
        ts = pq.read_table(path, columns=["timestamp"]).column("timestamp").to_numpy()
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
        frame = df[cols].copy() if set(cols) <= set(df.columns) else df
        report = validate_frame(kind, frame, source=source or symbol, timeframe=timeframe)
        frame = frame.astype({c: ("int64" if c == "timestamp" else "float64") for c in cols})
        table = pa.Table.from_pandas(frame.reset_index(drop=True), preserve_index=False)
        path = self.path(kind, symbol, timeframe)
        atomic_write(path, lambda tmp: pq.write_table(table, tmp, compression="zstd"))
        return report

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
        src = source or symbol
        incoming = df[list(columns_for(kind))]
        validate_frame(kind, incoming, source=src, timeframe=timeframe)
        if not self.exists(kind, symbol, timeframe):
            return len(incoming), self.write(kind, symbol, incoming, timeframe, source=src)
        current = self.read(kind, symbol, timeframe)
        new = incoming.loc[~incoming["timestamp"].isin(current["timestamp"])]
        if new.empty:
            report = validate_frame(kind, current, source=src, timeframe=timeframe)
            return 0, report
        merged = pd.concat([current, new], ignore_index=True).sort_values("timestamp")
        return len(new), self.write(kind, symbol, merged, timeframe, source=src)
