"""Importer on small files written by the test: formats, naming, refusals, all-or-nothing."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from xsmom.data.importers import import_data
from xsmom.data.sources import Skipped, SourceFile, classify
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.errors import DataError

H = 3_600_000
T0 = 1_700_000_000_000 - (1_700_000_000_000 % (24 * H))


def candles(n: int = 48, start: int = T0, step: int = H) -> pd.DataFrame:
    close = 100 + np.sin(np.arange(n) / 5.0)
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "timestamp": start + step * np.arange(n, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) + 0.1,
            "low": np.minimum(open_, close) - 0.1,
            "close": close,
            "volume": np.full(n, 5.0),
        }
    )


def as_freqtrade(df: pd.DataFrame) -> pd.DataFrame:
    out = df.rename(columns={"timestamp": "date"})
    out["date"] = pd.to_datetime(out["date"], unit="ms", utc=True)
    return out


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_classify_names(tmp_path: Path) -> None:
    cases = {
        "BTC_USDT_USDT-1h-futures.feather": (Kind.OHLCV, "BTC/USDT:USDT", "1h", "feather"),
        "ETH_USDT_USDT-15m-mark.feather": (Kind.MARK, "ETH/USDT:USDT", "15m", "feather"),
        "XRP_USDT_USDT-8h-funding_rate.feather": (Kind.FUNDING, "XRP/USDT:USDT", None, "feather"),
        "XRP_USDT_USDT-1h-futures.json.gz": (Kind.OHLCV, "XRP/USDT:USDT", "1h", "json.gz"),
        "ohlcv/binance_usdm/parquet/5m/SOLUSDT.parquet": (
            Kind.OHLCV,
            "SOL/USDT:USDT",
            "5m",
            "parquet",
        ),
        "mark/binance_usdm/parquet/1h/1000PEPEUSDT.parquet": (
            Kind.MARK,
            "1000PEPE/USDT:USDT",
            "1h",
            "parquet",
        ),
        "funding/binance_usdm/parquet/BTCUSDT.parquet": (
            Kind.FUNDING,
            "BTC/USDT:USDT",
            None,
            "parquet",
        ),
        "ohlcv/4h/ADA_USDT_USDT.csv": (Kind.OHLCV, "ADA/USDT:USDT", "4h", "csv"),
    }
    for rel, (kind, symbol, tf, fmt) in cases.items():
        got = classify(tmp_path / rel)
        assert got == SourceFile(tmp_path / rel, kind, symbol, tf, fmt), rel
    assert isinstance(classify(tmp_path / "README.md"), Skipped)
    assert isinstance(classify(tmp_path / "notes/BTCUSDT.parquet"), Skipped)  # no kind folder
    assert isinstance(classify(tmp_path / "ohlcv/BTCUSDT.parquet"), Skipped)  # no timeframe


def test_csv_and_funding_csv_import(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "ohlcv/1h").mkdir(parents=True)
    candles().to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    fund = pd.DataFrame(
        {
            "timestamp": [T0, T0 + 8 * H + 10, T0, T0 + 4 * H],
            "symbol": ["BTCUSDT", "BTCUSDT", "ETHUSDT", "ETHUSDT"],
            "rate": [1e-4, -2e-4, 3e-4, 1e-4],
        }
    )
    fund.to_csv(src / "funding_all.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    res = import_data(src, store)
    assert res.added == 48 + 4
    got = store.read(Kind.FUNDING, "BTC/USDT:USDT")
    assert got["timestamp"].tolist() == [T0, T0 + 8 * H + 10]  # jitter kept as it is
    assert store.symbols(Kind.FUNDING, None) == ["BTC/USDT:USDT", "ETH/USDT:USDT"]
    pd.testing.assert_frame_equal(store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h"), candles())


def test_json_gz_and_feather_of_one_series_are_combined(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    df = candles(60)
    as_freqtrade(df.iloc[:40]).to_feather(src / "BTC_USDT_USDT-1h-futures.feather")
    rows = df.iloc[30:].to_numpy().tolist()
    with gzip.open(src / "BTC_USDT_USDT-1h-futures.json.gz", "wt") as fh:
        json.dump([[int(r[0]), *r[1:]] for r in rows], fh)
    store = ParquetStore(tmp_path / "store")
    res = import_data(src, store)
    assert [(s.added, s.files) for s in res.series] == [(60, 2)]
    pd.testing.assert_frame_equal(store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h"), df)


def _truncate(path: Path, keep: float = 0.5) -> None:
    raw = path.read_bytes()
    path.write_bytes(raw[: int(len(raw) * keep)])


def _bad_files(src: Path) -> dict[str, Path]:
    """Write one corrupt file per kind of corruption; return them by name."""
    df = candles()
    out = {}
    p = src / "a/BTC_USDT_USDT-1h-futures.feather"
    p.parent.mkdir(parents=True)
    as_freqtrade(df).to_feather(p)
    _truncate(p)
    out["truncated feather"] = p
    p = src / "b/ETH_USDT_USDT-1h-futures.json.gz"
    p.parent.mkdir(parents=True)
    with gzip.open(p, "wt") as fh:
        json.dump(df.to_numpy().tolist(), fh)
    _truncate(p)
    out["truncated json.gz"] = p
    p = src / "c/ohlcv/1h/SOLUSDT.parquet"
    p.parent.mkdir(parents=True)
    df.to_parquet(p)
    _truncate(p, 0.7)
    out["truncated parquet"] = p
    p = src / "d/ohlcv/1h/ADAUSDT.csv"
    p.parent.mkdir(parents=True)
    p.write_text("")
    out["empty csv"] = p
    p = src / "e/ohlcv/1h/LTCUSDT.csv"
    p.parent.mkdir(parents=True)
    p.write_text("timestamp,open,high,low,close,volume\n")
    out["header-only csv"] = p
    p = src / "f/ohlcv/1h/XRPUSDT.csv"
    p.parent.mkdir(parents=True)
    bad = df.copy()
    bad.loc[7, ["high", "low"]] = [1.0, 2.0]
    bad.to_csv(p, index=False)
    out["high < low"] = p
    p = src / "g/ohlcv/1h/DOTUSDT.csv"
    p.parent.mkdir(parents=True)
    text = df.to_csv(index=False)
    p.write_text(text[: len(text) - 25])  # cut inside the last row
    out["truncated csv"] = p
    return out


def test_each_corrupt_file_is_refused_naming_it(tmp_path: Path) -> None:
    files = _bad_files(tmp_path / "src")
    for what, path in files.items():
        store = ParquetStore(tmp_path / "store")
        with pytest.raises(DataError) as info:
            import_data(path, store)
        assert str(path) in str(info.value), what
        assert not (tmp_path / "store").exists(), what


def test_one_bad_file_aborts_the_whole_import_before_writing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "ohlcv/1h").mkdir(parents=True)
    candles().to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    import_data(src, store)
    before = snapshot(tmp_path / "store")
    candles(96).to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)  # 48 new rows
    candles(48).to_csv(src / "ohlcv/1h/ETHUSDT.csv", index=False)  # a new series
    (src / "ohlcv/1h/ZECUSDT.csv").write_text("timestamp,open,high,low,close,volume\n1,2")
    with pytest.raises(DataError, match=r"ZECUSDT\.csv"):
        import_data(src, store)
    assert snapshot(tmp_path / "store") == before


def test_write_failure_mid_import_leaves_store_unchanged(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for tf, step in (("1h", H), ("4h", 4 * H)):
        (src / f"ohlcv/{tf}").mkdir(parents=True)
        candles(48, step=step).to_csv(src / f"ohlcv/{tf}/BTCUSDT.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    import_data(src, store, timeframes=["1h"])
    before = snapshot(tmp_path / "store")
    # New 1h rows to write, and a 4h series whose folder cannot be created: the 4h file is
    # staged after the 1h one, so this fails in the middle of writing.
    candles(96).to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    (tmp_path / "store/ohlcv/4h").write_text("not a folder")
    before["ohlcv/4h"] = hashlib.sha256(b"not a folder").hexdigest()
    with pytest.raises(DataError, match="cannot write to the store"):
        import_data(src, store)
    assert snapshot(tmp_path / "store") == before  # no new 1h rows, no temp files left


def test_reimport_adds_nothing_and_new_rows_are_appended(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "ohlcv/1h").mkdir(parents=True)
    candles(30).to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    assert import_data(src, store).added == 30
    assert import_data(src, store).added == 0
    candles(50).to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    assert import_data(src, store).added == 20
    pd.testing.assert_frame_equal(store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h"), candles(50))


def test_symbol_and_timeframe_filters(tmp_path: Path) -> None:
    src = tmp_path / "src"
    for tf, step in (("1h", H), ("4h", 4 * H)):
        (src / f"ohlcv/{tf}").mkdir(parents=True)
        for sym in ("BTCUSDT", "ETHUSDT"):
            candles(24, step=step).to_csv(src / f"ohlcv/{tf}/{sym}.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    res = import_data(src, store, timeframes=["4h"], symbols=["ETH/USDT:USDT"])
    assert [(s.symbol, s.timeframe) for s in res.series] == [("ETH/USDT:USDT", "4h")]


def test_dry_run_writes_nothing(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "ohlcv/1h").mkdir(parents=True)
    candles().to_csv(src / "ohlcv/1h/BTCUSDT.csv", index=False)
    res = import_data(src, ParquetStore(tmp_path / "store"), dry_run=True)
    assert res.added == 48 and not res.written
    assert not (tmp_path / "store").exists()


def test_no_importable_file_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(DataError, match="no importable"):
        import_data(tmp_path, ParquetStore(tmp_path / "store"))


def test_hidden_files_are_ignored_and_bad_symbol_rows_are_named(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / ".cache/ohlcv/1h").mkdir(parents=True)
    (src / ".cache/ohlcv/1h/BTCUSDT.csv").write_text("garbage")
    fund = pd.DataFrame(
        {
            "timestamp": [T0, T0 + 8 * H, T0, T0 + 8 * H],
            "symbol": ["BTCUSDT", "BTCUSDT", "ETHUSDT", "ETHUSDT"],
            "rate": [1e-4, 1e-4, 1e-4, 0.3],
        }
    )
    fund.to_csv(src / "all_funding.csv", index=False)
    with pytest.raises(DataError, match=r"all_funding\.csv \[ETH/USDT:USDT\]: funding rate 0\.3"):
        import_data(src, ParquetStore(tmp_path / "store"))
