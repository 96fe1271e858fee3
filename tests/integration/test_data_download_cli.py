"""``xsmom data download`` in a subprocess, with ``--api-base`` pointing at the fake server."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from fake_binance_usdm_data import FakeBinanceUsdm, FakeMarketData

from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"


def _data() -> FakeMarketData:
    if not (SHARED / "README.md").is_file():
        pytest.fail(f"real market data not found at {SHARED} (expected ../shared/data)")
    o = pd.read_parquet(SHARED / "ohlcv/binance_usdm/parquet/1h/XRPUSDT.parquet").tail(300)
    m = pd.read_parquet(SHARED / "mark/binance_usdm/parquet/1h/XRPUSDT.parquet").tail(300)
    f = pd.read_parquet(SHARED / "funding/binance_usdm/parquet/XRPUSDT.parquet").tail(40)
    return FakeMarketData(
        ohlcv={("XRPUSDT", "1h"): o.reset_index(drop=True)},
        mark={("XRPUSDT", "1h"): m.reset_index(drop=True)},
        funding={"XRPUSDT": f.reset_index(drop=True)},
    )


def test_cli_download_then_update(tmp_path: Path) -> None:
    data = _data()
    since = pd.Timestamp(int(data.funding["XRPUSDT"]["timestamp"].iloc[0]), unit="ms", tz="UTC")
    store = tmp_path / "store"
    with FakeBinanceUsdm(data) as fake:
        cmd = [sys.executable, "-m", "xsmom.cli.main", "data", "download", "--store", str(store)]
        cmd += ["--api-base", fake.url, "--no-progress"]
        first = subprocess.run(
            [*cmd, "--symbols", "XRPUSDT", "--since", since.isoformat()],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert first.returncode == 0, first.stderr
        assert "XRP/USDT:USDT          ohlcv    1h   added     300" in first.stdout
        assert "XRP/USDT:USDT          funding  -    added      40" in first.stdout
        # No --symbols: update what the store holds; nothing is new.
        again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=False)
        assert again.returncode == 0, again.stderr
        assert again.stdout.count("added       0") == 3
    got = ParquetStore(store).read(Kind.MARK, "XRP/USDT:USDT", "1h")
    assert got["timestamp"].tolist() == data.mark[("XRPUSDT", "1h")]["timestamp"].tolist()
