"""Drive ``xsmom data`` as a user would, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


@pytest.fixture(scope="module")
def testdata() -> Path:
    """Return freqtrade's futures fixtures in ../shared/data; fail loudly when missing."""
    path = SHARED / "ohlcv" / "freqtrade_testdata" / "futures"
    if not path.is_dir():
        pytest.fail(f"real market data not found at {path} (expected ../shared/data)")
    return path


def xsmom(*args: str | Path) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "xsmom.cli.main", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)


def test_import_list_validate_reimport(testdata: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    first = xsmom("data", "import", testdata, "--store", store)
    assert first.returncode == 0, first.stderr
    assert "6 series, 2481 rows added" in first.stdout
    assert "XRP/USDT:USDT          funding" in first.stdout
    again = xsmom("data", "import", testdata, "--store", store)
    assert again.returncode == 0 and "6 series, 0 rows added" in again.stdout
    listed = xsmom("data", "list", "--store", store)
    assert listed.returncode == 0
    assert "XRP/USDT:USDT          ohlcv    5m       1999  2021-11-15 00:00" in listed.stdout
    checked = xsmom("data", "validate", "--store", store)
    # every file is valid, but freqtrade's fixtures lack funding events the candles span
    assert "6 series valid" in checked.stdout
    assert (
        "FUNDING GAP XRP/USDT:USDT 1h: no funding data 2021-11-17 08:00 .. 2021-11-17 16:00 UTC "
        "(2 funding times)" in checked.stdout
    )
    assert "MARK GAP XRP/USDT:USDT 1h: no mark price at funding time" in checked.stdout
    assert checked.returncode == 2
    assert "error: funding data missing for 2 candle series (XRP/USDT:USDT)" in checked.stderr


def test_corrupt_input_is_refused_in_one_line(testdata: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    good = (testdata / "XRP_USDT_USDT-1h-futures.feather").read_bytes()
    (src / "XRP_USDT_USDT-1h-futures.feather").write_bytes(good)
    (src / "ETH_USDT_USDT-1h-futures.feather").write_bytes(good[:500])
    res = xsmom("data", "import", src, "--store", tmp_path / "store")
    assert res.returncode == 2
    assert res.stderr.strip().count("\n") == 0
    assert "ETH_USDT_USDT-1h-futures.feather: unreadable or truncated" in res.stderr
    assert not (tmp_path / "store").exists()


def test_validate_finds_a_damaged_store_file(testdata: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    assert xsmom("data", "import", testdata, "--store", store).returncode == 0
    (store / "ohlcv" / "1h" / "XRP_USDT_USDT.parquet").write_bytes(b"PAR1 garbage")
    res = xsmom("data", "validate", "--store", store)
    assert res.returncode == 2
    assert "XRP_USDT_USDT.parquet: unreadable Parquet file" in res.stderr


def test_sample_store_is_listed_and_read_only(tmp_path: Path, testdata: Path) -> None:
    listed = xsmom("data", "list", "--store", "sample")
    assert listed.returncode == 0 and "36 series in" in listed.stdout
    res = xsmom("data", "import", testdata, "--store", "sample")
    assert res.returncode == 2 and "read-only" in res.stderr


def test_a_deleted_funding_file_fails_validate_and_the_backtest(tmp_path: Path) -> None:
    import json
    import shutil

    from xsmom.data.bundled import SAMPLE_DIR

    store = tmp_path / "store"
    shutil.copytree(SAMPLE_DIR, store)
    ok = xsmom("data", "validate", "--store", store)
    assert ok.returncode == 0, ok.stderr
    assert "0 with missing funding" in ok.stdout
    assert "INTERVAL XTZ/USDT:USDT 1h: funding interval changed: 8h -> 1h at 2025-07-20 08:00" in (
        ok.stdout
    )
    (store / "funding" / "BTC_USDT_USDT.parquet").unlink()

    checked = xsmom("data", "validate", "--store", store)
    assert checked.returncode == 2
    assert "NO FUNDING BTC/USDT:USDT 1h: no funding file in the store" in checked.stdout
    assert "FUNDING GAP BTC/USDT:USDT 1h: no funding data 2025-05-01 00:00 .. " in checked.stdout
    assert "funding data missing for 1 candle series (BTC/USDT:USDT)" in checked.stderr

    refused = xsmom("backtest", "--store", store, "--out", tmp_path / "r", "--quiet")
    assert refused.returncode == 2
    line = refused.stderr.strip()
    assert "\n" not in line
    assert line.startswith("error: BTC/USDT:USDT: the backtest would hold a position through ")
    assert "with no funding data in the store" in line
    assert not (tmp_path / "r" / "metrics.json").exists()

    out = tmp_path / "ok"
    ran = xsmom("backtest", "--store", store, "--out", out, "--quiet", "--allow-funding-gaps")
    assert ran.returncode == 0, ran.stderr
    metrics = json.loads((out / "metrics.json").read_text())
    assert 0.0 < metrics["funding_uncovered_share"] < 1.0
    assert "WARNING: funding data: " in ran.stderr and "position-time without funding" in ran.stderr
    assert "funding data: " in (out / "report.html").read_text()
