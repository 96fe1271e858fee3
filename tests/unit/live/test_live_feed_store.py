"""CachedStore serves exactly what the Parquet store holds, and the panel the engine computes on
equals load_panel on a plain ParquetStore (the backtest's reader), also in a rolling window."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from xsmom.data import Kind, load_panel
from xsmom.data.bundled import sample_store
from xsmom.data.store import ParquetStore
from xsmom.live.feed import CachedStore

SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]


def _copy(tmp_path: Path) -> Path:
    src = sample_store().root
    dest = tmp_path / "store"
    shutil.copytree(src, dest)
    return dest


def _cut(store: ParquetStore, sym: str, kind: Kind, tf: str | None, end: int) -> pd.DataFrame:
    df = store.read(kind, sym, tf)
    return df[df["timestamp"] < end].reset_index(drop=True)


def test_cached_reads_and_merges_equal_the_files(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    plain = ParquetStore(root)
    full = plain.read(Kind.OHLCV, SYMS[0], "1h")
    end = int(full["timestamp"].iloc[-10])
    for s in SYMS:  # start the cached store ten bars short, then append them by merges
        plain.write(Kind.OHLCV, s, _cut(plain, s, Kind.OHLCV, "1h", end), "1h")
    cached = CachedStore(root)
    before = cached.read(Kind.OHLCV, SYMS[0], "1h")
    assert len(before) == len(full) - 10
    new = full.iloc[-10:]
    added, _ = cached.merge(Kind.OHLCV, SYMS[0], new, "1h")
    assert added == 10
    mem = cached.read(Kind.OHLCV, SYMS[0], "1h")
    disk = ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h")
    pd.testing.assert_frame_equal(mem, disk, check_exact=True)
    assert cached.last_timestamp(Kind.OHLCV, SYMS[0], "1h") == int(full["timestamp"].iloc[-1])
    window = cached.read(Kind.OHLCV, SYMS[0], "1h", start_ms=end - 3_600_000 * 5, end_ms=end)
    pd.testing.assert_frame_equal(
        window,
        ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h", start_ms=end - 18_000_000, end_ms=end),
    )


def test_panel_from_cache_equals_load_panel_of_the_files(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    cached = CachedStore(root)
    a = load_panel(cached, "1h", SYMS)
    b = load_panel(ParquetStore(root), "1h", SYMS)
    for f in ("timestamps", "open", "close", "volume", "mark_open", "funding_rate"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))


def test_rolling_window_forgets_memory_but_never_the_file(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    cached = CachedStore(root)
    full = ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h")
    cut = int(full["timestamp"].iloc[-100])
    cached.forget_before(Kind.OHLCV, SYMS[0], "1h", cut)
    assert cached.memory_rows(Kind.OHLCV, SYMS[0], "1h") == 100
    # an unfiltered read (what a merge does) goes to the file: nothing is lost on disk
    pd.testing.assert_frame_equal(cached.read(Kind.OHLCV, SYMS[0], "1h"), full)
    extra = full.iloc[-1:].copy()
    extra["timestamp"] += 3_600_000
    cached.merge(Kind.OHLCV, SYMS[0], extra, "1h")
    assert len(ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h")) == len(full) + 1
    assert cached.memory_rows(Kind.OHLCV, SYMS[0], "1h") == 101


def test_write_behind_holds_appends_in_memory_until_flush(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    plain = ParquetStore(root)
    full = plain.read(Kind.OHLCV, SYMS[0], "1h")
    end = int(full["timestamp"].iloc[-5])
    plain.write(Kind.OHLCV, SYMS[0], _cut(plain, SYMS[0], Kind.OHLCV, "1h", end), "1h")
    cached = CachedStore(root, write_behind=True)
    cached.read(Kind.OHLCV, SYMS[0], "1h")
    added, _ = cached.merge(Kind.OHLCV, SYMS[0], full.iloc[-5:], "1h")
    assert added == 5
    assert len(ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h")) == len(full) - 5  # not yet
    pd.testing.assert_frame_equal(cached.read(Kind.OHLCV, SYMS[0], "1h"), full)
    assert cached.flush() == 1 and cached.flush() == 0
    pd.testing.assert_frame_equal(ParquetStore(root).read(Kind.OHLCV, SYMS[0], "1h"), full)


def test_an_append_with_a_gap_is_still_validated(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    cached = CachedStore(root)
    full = cached.read(Kind.OHLCV, SYMS[0], "1h")
    late = full.iloc[-1:].copy()
    late["timestamp"] += 5 * 3_600_000  # four bars missing at the seam
    _, report = cached.merge(Kind.OHLCV, SYMS[0], late, "1h")
    assert report.missing_bars == 4  # the seam's gap is reported, not hidden
