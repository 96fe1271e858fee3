"""Import the real freqtrade and normalized Parquet files of ../shared/data."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xsmom.data.importers import import_data
from xsmom.data.panel import load_panel
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.errors import DataError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "TON/USDT:USDT", "XTZ/USDT:USDT"]


@pytest.fixture(scope="module")
def shared() -> Path:
    """Return ../shared/data; fail loudly when it is missing."""
    if not (SHARED / "README.md").is_file():
        pytest.fail(f"real market data not found at {SHARED} (expected ../shared/data)")
    return SHARED


def _inventory(shared: Path) -> pd.DataFrame:
    return pd.read_csv(shared / "inventory_binance_usdm.csv")


def test_freqtrade_feathers_match_the_inventory(shared: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    src = shared / "ohlcv/binance_usdm/freqtrade_feather"
    res = import_data(src, store, symbols=SYMS)
    assert {(s.symbol, s.timeframe) for s in res.series} == {
        *((s, "1h") for s in SYMS),
        ("BTC/USDT:USDT", "15m"),
        ("ETH/USDT:USDT", "15m"),
    }
    pq_btc = pd.read_parquet(shared / "ohlcv/binance_usdm/parquet/1h/BTCUSDT.parquet")
    got = store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h")
    assert len(got) == 58623
    pd.testing.assert_frame_equal(got, pq_btc)


def test_funding_1h_and_8h_files_are_merged_with_jitter_kept(shared: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    src = shared / "funding/binance_usdm/freqtrade_feather"
    res = import_data(src, store, symbols=SYMS)
    files = {s.symbol: s.files for s in res.series}
    assert files["BTC/USDT:USDT"] == 2 and files["XTZ/USDT:USDT"] == 1
    for sym, vid in (("BTC/USDT:USDT", "BTCUSDT"), ("TON/USDT:USDT", "TONUSDT")):
        ref = pd.read_parquet(shared / f"funding/binance_usdm/parquet/{vid}.parquet")
        got = store.read(Kind.FUNDING, sym)
        assert len(got) == len(ref)
        np.testing.assert_array_equal(got["rate"], ref["rate"])
        np.testing.assert_array_equal(got["timestamp"], ref["timestamp"])
    ts = store.read(Kind.FUNDING, "TON/USDT:USDT")["timestamp"].to_numpy()
    assert (ts % 1000 != 0).sum() == 715  # jitter such as ...00:00:00.010 kept as it is
    ton = next(s for s in res.series if s.symbol == "TON/USDT:USDT")
    assert ton.gaps == 1  # the real 4004 h pause in TON funding


def test_normalized_parquet_layout_and_panel(shared: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    for kind in ("ohlcv", "mark", "funding"):
        import_data(shared / kind / "binance_usdm/parquet", store, symbols=SYMS, timeframes=["1h"])
    inv = _inventory(shared)
    for sym in SYMS:
        vid = sym.split("/")[0] + "USDT"
        for kind, tf in ((Kind.OHLCV, "1h"), (Kind.MARK, "1h"), (Kind.FUNDING, None)):
            row = inv[(inv["kind"] == kind.value) & (inv["symbol"] == vid)]
            if tf is not None:
                row = row[row["timeframe"] == tf]
            assert len(store.read(kind, sym, tf)) == int(row["rows"].iloc[0]), (sym, kind)
    panel = load_panel(store, "1h", SYMS)
    assert panel.n_symbols == 4 and panel.funding_event.sum() > 0
    assert np.isfinite(panel.mark_close).any()


def test_reimport_of_everything_adds_zero_rows(shared: Path, tmp_path: Path) -> None:
    store = ParquetStore(tmp_path / "store")
    src = shared / "ohlcv/freqtrade_testdata"
    first = import_data(src, store)
    assert first.added == 2481
    digest = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in store.root.rglob("*.parquet")}
    again = import_data(src, store)
    assert again.added == 0 and all(s.added == 0 for s in again.series)
    assert digest == {
        p: hashlib.sha256(p.read_bytes()).hexdigest() for p in store.root.rglob("*.parquet")
    }


def test_incremental_import_of_a_longer_file(shared: Path, tmp_path: Path) -> None:
    full = pd.read_feather(
        shared / "ohlcv/binance_usdm/freqtrade_feather/1h/ETH_USDT_USDT-1h-futures.feather"
    )
    src = tmp_path / "src"
    src.mkdir()
    name = "ETH_USDT_USDT-1h-futures.feather"
    full.iloc[:40000].reset_index(drop=True).to_feather(src / name)
    store = ParquetStore(tmp_path / "store")
    assert import_data(src, store).added == 40000
    shutil.copy(shared / "ohlcv/binance_usdm/freqtrade_feather/1h" / name, src / name)
    assert import_data(src, store).added == len(full) - 40000
    assert len(store.read(Kind.OHLCV, "ETH/USDT:USDT", "1h")) == len(full)


def test_corrupt_real_file_refused_and_store_unchanged(shared: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    base = shared / "ohlcv/binance_usdm/freqtrade_feather/1h"
    for name in ("BTC_USDT_USDT-1h-futures.feather", "ETH_USDT_USDT-1h-futures.feather"):
        shutil.copy(base / name, src / name)
    store = ParquetStore(tmp_path / "store")
    import_data(src, store)
    before = {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()}
    shutil.copy(base / "ADA_USDT_USDT-1h-futures.feather", src / "ADA_USDT_USDT-1h-futures.feather")
    raw = (base / "XRP_USDT_USDT-1h-futures.feather").read_bytes()
    bad = src / "XRP_USDT_USDT-1h-futures.feather"
    bad.write_bytes(raw[: len(raw) // 3])
    with pytest.raises(
        DataError, match=r"XRP_USDT_USDT-1h-futures\.feather: unreadable or truncated"
    ):
        import_data(src, store)
    assert {p: p.read_bytes() for p in store.root.rglob("*") if p.is_file()} == before
