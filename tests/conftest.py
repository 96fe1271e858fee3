"""Fixtures shared by every test folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.data import MarketPanel, load_panel
from xsmom.data.bundled import sample_store

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Return ../shared/data; fail loudly when it is missing (tests need the real data)."""
    if not (SHARED_DATA / "README.md").is_file():
        pytest.fail(
            f"real market data not found at {SHARED_DATA}: clone with ../shared beside the repo"
        )
    return SHARED_DATA


@pytest.fixture(scope="session")
def sample_panel() -> MarketPanel:
    """Return the bundled sample as a panel (12 symbols x 8760 hourly bars)."""
    return load_panel(sample_store())


def build_store_from_shared(shared: Path, dest: Path, bases: tuple[str, ...]) -> Path:
    """Copy the normalized hourly OHLCV, mark and funding of ``bases`` into a store at ``dest``."""
    import pandas as pd

    from xsmom.data import Kind, ParquetStore
    from xsmom.data.symbols import from_venue_id

    store = ParquetStore(dest)
    for base in bases:
        vid = f"{base}USDT"
        sym = from_venue_id(vid)
        store.write(
            Kind.OHLCV,
            sym,
            pd.read_parquet(shared / f"ohlcv/binance_usdm/parquet/1h/{vid}.parquet"),
            "1h",
        )
        store.write(
            Kind.MARK,
            sym,
            pd.read_parquet(shared / f"mark/binance_usdm/parquet/1h/{vid}.parquet"),
            "1h",
        )
        fund = pd.read_parquet(shared / f"funding/binance_usdm/parquet/{vid}.parquet")
        store.write(Kind.FUNDING, sym, fund[["timestamp", "rate"]])
    return dest


@pytest.fixture(scope="session")
def shared_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a store holding 10 real symbols of ../shared/data (hourly, 2025-02 .. 2026-05)."""
    bases = ("BTC", "ETH", "SOL", "DOGE", "SUI", "ENA", "XRP", "ADA", "1000PEPE", "LTC")
    return build_store_from_shared(shared_data, tmp_path_factory.mktemp("shared_store"), bases)


@pytest.fixture(scope="session")
def meta_model(sample_panel: MarketPanel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a model folder trained with the default config on the sample's first 2000 bars.

    It gates entries decided from bar 2000 of the sample on.
    """
    from xsmom.config import Config
    from xsmom.meta.labels import default_spec
    from xsmom.meta.models import TrainOptions
    from xsmom.meta.train import train_single

    cfg = Config()
    out = tmp_path_factory.mktemp("meta_model")
    return train_single(sample_panel.slice(0, 2000), cfg, default_spec(cfg), TrainOptions(), out)
