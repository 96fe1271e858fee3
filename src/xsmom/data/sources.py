"""Find and read market-data files to import: freqtrade feather/json.gz, Parquet and CSV.

A file is recognised by its name and folder:

* freqtrade names ``<BASE>_<QUOTE>_<SETTLE>-<tf>-futures|mark|funding_rate.<ext>`` give the
  symbol, timeframe and kind directly (the funding ``<tf>`` is freqtrade's, and ignored);
* per-symbol names ``BTCUSDT.<ext>`` (Binance id) or ``BTC_USDT_USDT.<ext>`` (store file id) take
  the kind from the nearest folder named ``ohlcv``, ``mark`` or ``funding`` and the timeframe from
  the nearest folder named like ``1h`` (the normalized layout of the shared data and the store's
  own layout both read this way);
* a ``.csv`` or ``.parquet`` with columns ``timestamp,symbol,rate`` holds funding events of many
  symbols.

Mark candles have no volume: a missing (NaN) mark volume is stored as 0.
``<ext>`` is one of ``feather``, ``parquet``, ``csv``, ``json``, ``json.gz``. Anything else is
skipped and listed with the reason. Every reader returns frames in the store's columns with int64
ms timestamps and raises :class:`DataError` naming the file when it cannot be read.
"""

from __future__ import annotations

import gzip
import json
import re
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from xsmom.data.symbols import from_file_id, from_venue_id, is_unified
from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import OHLCV_COLUMNS, Kind
from xsmom.errors import DataError

EXTENSIONS = (".json.gz", ".feather", ".parquet", ".csv", ".json")
_FREQTRADE = re.compile(
    r"^(?P<fid>[A-Z0-9]+_[A-Z0-9]+_[A-Z0-9]+)-(?P<tf>[0-9]+[a-zA-Z])-(?P<type>futures|mark|funding_rate)$"
)
_FILE_ID = re.compile(r"^[A-Z0-9]+_[A-Z0-9]+_[A-Z0-9]+$")
_VENUE_ID = re.compile(r"^[A-Z0-9]+(USDT|USDC)$")
_FREQTRADE_KIND = {"futures": Kind.OHLCV, "mark": Kind.MARK, "funding_rate": Kind.FUNDING}
MULTI_FUNDING_COLUMNS = ("timestamp", "symbol", "rate")


@dataclass(frozen=True)
class SourceFile:
    """One input file and what it holds; ``symbol`` is None for a many-symbol funding file."""

    path: Path
    kind: Kind
    symbol: str | None
    timeframe: str | None
    fmt: str


@dataclass(frozen=True)
class Skipped:
    """A file under the source folder that was not imported, and why."""

    path: Path
    reason: str


@dataclass(frozen=True)
class Series:
    """A frame read from one file for one stored series."""

    kind: Kind
    symbol: str
    timeframe: str | None
    frame: pd.DataFrame
    source: Path


def _split_ext(name: str) -> tuple[str, str] | None:
    for ext in EXTENSIONS:
        if name.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], ext.lstrip(".")
    return None


def _symbol_from_stem(stem: str) -> str | None:
    if _FILE_ID.match(stem):
        return from_file_id(stem)
    if _VENUE_ID.match(stem):
        return from_venue_id(stem)
    return None


def _is_timeframe(name: str) -> bool:
    try:
        timeframe_ms(name)
    except DataError:
        return False
    return True


def _from_folders(path: Path) -> tuple[Kind | None, str | None]:
    """Return the kind and timeframe given by the nearest matching parent folders."""
    timeframe: str | None = None
    for parent in path.parents:
        if timeframe is None and _is_timeframe(parent.name):
            timeframe = parent.name
        if parent.name in {k.value for k in Kind}:
            return Kind(parent.name), timeframe
    return None, timeframe


def _peek_columns(path: Path, fmt: str) -> list[str]:
    try:
        if fmt == "parquet":
            return list(pq.read_schema(path).names)
        with open(path, encoding="utf-8") as fh:
            return [c.strip() for c in fh.readline().split(",")]
    except (OSError, UnicodeDecodeError, pa.ArrowException) as exc:
        raise DataError(f"{path}: unreadable ({exc})") from exc


def classify(path: Path) -> SourceFile | Skipped:
    """Return what ``path`` holds, or why it is skipped."""
    parts = _split_ext(path.name)
    if parts is None:
        return Skipped(path, "not a data file extension")
    stem, fmt = parts
    m = _FREQTRADE.match(stem)
    if m is not None:
        kind = _FREQTRADE_KIND[m["type"]]
        tf = None if kind is Kind.FUNDING else m["tf"]
        if tf is not None and not _is_timeframe(tf):
            return Skipped(path, f"unsupported timeframe {tf!r}")
        return SourceFile(path, kind, from_file_id(m["fid"]), tf, fmt)
    symbol = _symbol_from_stem(stem)
    if symbol is not None:
        kind_or_none, tf = _from_folders(path)
        if kind_or_none is None:
            return Skipped(path, "no ohlcv/, mark/ or funding/ folder above it")
        if kind_or_none is not Kind.FUNDING and tf is None:
            return Skipped(path, "no timeframe folder (like 1h/) above it")
        tf = None if kind_or_none is Kind.FUNDING else tf
        return SourceFile(path, kind_or_none, symbol, tf, fmt)
    if fmt in ("csv", "parquet") and set(MULTI_FUNDING_COLUMNS) <= set(_peek_columns(path, fmt)):
        return SourceFile(path, Kind.FUNDING, None, None, fmt)
    return Skipped(path, "name not recognised")


def discover(src: Path) -> tuple[list[SourceFile], list[Skipped]]:
    """Walk ``src`` (a folder or one file) and classify every file, in path order."""
    if not src.exists():
        raise DataError(f"{src}: no such file or folder")
    if src.is_file():
        paths = [src]
    else:  # hidden files and folders (temp files, .git) are not data
        paths = sorted(
            p
            for p in src.rglob("*")
            if p.is_file() and not any(part.startswith(".") for part in p.relative_to(src).parts)
        )
    found: list[SourceFile] = []
    skipped: list[Skipped] = []
    for p in paths:
        item = classify(p)
        if isinstance(item, SourceFile):
            found.append(item)
        else:
            skipped.append(item)
    return found, skipped


def _to_ms(col: pd.Series, path: Path) -> pd.Series:
    """Convert a date column (datetime, ISO strings or int ms) to int64 ms UTC."""
    if pd.api.types.is_integer_dtype(col):
        return col.astype("int64")
    if pd.api.types.is_float_dtype(col):
        if col.isna().any() or (col != np.floor(col)).any():
            raise DataError(f"{path}: timestamp column has NaN or fractional values")
        return col.astype("int64")
    try:
        dt = pd.to_datetime(col, utc=True)
    except (ValueError, TypeError) as exc:
        raise DataError(f"{path}: timestamps cannot be parsed ({exc})") from exc
    if dt.isna().any():
        raise DataError(f"{path}: empty timestamp at row {int(np.flatnonzero(dt.isna())[0])}")
    delta = dt.dt.tz_convert("UTC").dt.tz_localize(None) - pd.Timestamp(0)
    return (delta // pd.Timedelta(milliseconds=1)).astype("int64")


def _read_csv(path: Path) -> pd.DataFrame:
    df = pd.read_csv(path)
    if len(df) and df.iloc[-1].isna().any() and not path.read_bytes().endswith(b"\n"):
        raise DataError(f"{path}: truncated: the last line is incomplete")
    return df


def _read_raw(path: Path, fmt: str) -> pd.DataFrame:
    try:
        if fmt == "feather":
            return pd.read_feather(path)
        if fmt == "parquet":
            table: pd.DataFrame = pq.read_table(path).to_pandas()
            return table
        if fmt == "csv":
            return _read_csv(path)
        opener = gzip.open if fmt == "json.gz" else open
        with opener(path, "rt", encoding="utf-8") as fh:
            rows = json.load(fh)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"{path}: empty file") from exc
    except (OSError, EOFError, ValueError, zlib.error, pa.ArrowException) as exc:
        raise DataError(f"{path}: unreadable or truncated {fmt} file ({exc})") from exc
    if not isinstance(rows, list) or any(not isinstance(r, list) or len(r) < 6 for r in rows):
        raise DataError(f"{path}: expected a JSON list of [ms, open, high, low, close, volume]")
    return pd.DataFrame([r[:6] for r in rows], columns=list(OHLCV_COLUMNS))


def _with_timestamp(df: pd.DataFrame, path: Path) -> pd.DataFrame:
    df = df.rename(columns=str.lower)
    if "timestamp" not in df.columns and "date" in df.columns:
        df = df.rename(columns={"date": "timestamp"})
    if "timestamp" not in df.columns:
        raise DataError(f"{path}: no timestamp (or date) column; columns are {list(df.columns)}")
    if len(df) == 0:
        raise DataError(f"{path}: empty: no rows")
    df = df.copy()
    df["timestamp"] = _to_ms(df["timestamp"], path)
    return df


def _need(df: pd.DataFrame, cols: tuple[str, ...], path: Path) -> pd.DataFrame:
    missing = [c for c in cols if c not in df.columns]
    if missing:
        raise DataError(f"{path}: missing columns {missing}; columns are {list(df.columns)}")
    out = df[list(cols)].reset_index(drop=True)
    for c in cols[1:] if cols[0] == "timestamp" else cols:
        if c != "symbol" and not pd.api.types.is_numeric_dtype(out[c]):
            raise DataError(f"{path}: column {c!r} is not numeric")
    return out


def _funding_frame(df: pd.DataFrame, src: SourceFile) -> pd.DataFrame:
    if "rate" not in df.columns and "open" in df.columns:  # freqtrade: the rate is in `open`
        df = df.rename(columns={"open": "rate"})
    if "rate" not in df.columns and "fundingrate" in df.columns:
        df = df.rename(columns={"fundingrate": "rate"})
    if "symbol" in df.columns and src.symbol is not None:
        names = {str(v) for v in df["symbol"].unique()}
        wanted = {src.symbol, src.symbol.replace("/", "").split(":")[0]}
        if not names <= wanted:
            raise DataError(f"{src.path}: symbol column {sorted(names)} disagrees with the name")
    return _need(df, ("timestamp", "rate"), src.path)


def _unified(name: str, path: Path) -> str:
    if is_unified(name):
        return name
    try:
        return from_venue_id(name)
    except DataError as exc:
        raise DataError(f"{path}: {exc}") from exc


def read_source(src: SourceFile) -> list[Series]:
    """Read ``src`` into one frame per stored series (several for a many-symbol funding file)."""
    df = _with_timestamp(_read_raw(src.path, src.fmt), src.path)
    if src.kind is not Kind.FUNDING:
        assert src.symbol is not None
        if src.kind is Kind.MARK and "volume" in df.columns:
            # Mark candles have no volume; freqtrade stores NaN there, the store 0.
            df["volume"] = df["volume"].fillna(0.0)
        frame = _need(df, OHLCV_COLUMNS, src.path)
        return [Series(src.kind, src.symbol, src.timeframe, frame, src.path)]
    if src.symbol is not None:
        return [Series(Kind.FUNDING, src.symbol, None, _funding_frame(df, src), src.path)]
    frame = _need(df, MULTI_FUNDING_COLUMNS, src.path)
    out: list[Series] = []
    for name, part in frame.groupby("symbol", sort=True):
        rates = part[["timestamp", "rate"]].reset_index(drop=True)
        out.append(Series(Kind.FUNDING, _unified(str(name), src.path), None, rates, src.path))
    return out
