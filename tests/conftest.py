"""Fixtures shared by every test folder."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from pg_server import ENV_URL, postgres_server, unavailable_reason
from xsmom.config import Config
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
    """Return a store holding 10 real symbols of ../shared/data (hourly, 2025-02 .. 2026-05).

    Its funding has real gaps (ENA 2025-07-17 .. 2025-12-31, the last event of SOL and SUI,
    BTC's first days): a backtest with funding on that holds those refuses unless the config
    sets ``backtest.allow_funding_gaps`` (see docs/backtest.md).
    """
    bases = ("BTC", "ETH", "SOL", "DOGE", "SUI", "ENA", "XRP", "ADA", "1000PEPE", "LTC")
    return build_store_from_shared(shared_data, tmp_path_factory.mktemp("shared_store"), bases)


# --- PostgreSQL: run where a server can be had, skip visibly elsewhere, never skip in CI ---

PG_HOWTO = f"run bash .ci/postgres.sh (installs the server; needs root) or set {ENV_URL}"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_report_header(config: pytest.Config) -> str:
    """Say up front whether the PostgreSQL tests will run."""
    reason = unavailable_reason()
    if reason is None:
        return f"postgres: {'server at ' + ENV_URL if os.environ.get(ENV_URL) else 'private'}"
    then = "they fail (CI=true)" if _in_ci() else "postgres tests will be skipped"
    return f"postgres: {reason}; {then}; {PG_HOWTO}"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Print one line per kind of skipped test (PostgreSQL, browser), saying how to run them."""
    skips = terminalreporter.stats.get("skipped", [])
    skipped = [r for r in skips if PG_HOWTO in str(r.longrepr)]
    if skipped:
        terminalreporter.write_line(
            f"postgres tests skipped ({len(skipped)}): no server; {PG_HOWTO}", yellow=True
        )
    browser = [r for r in skips if "ci/browser.sh" in str(r.longrepr)]
    if browser:
        terminalreporter.write_line(
            f"browser tests skipped ({len(browser)}): no Chromium; run bash .ci/browser.sh",
            yellow=True,
        )


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """Yield the URL of an empty PostgreSQL database (one per session; use unique names).

    A private throw-away server when the PostgreSQL binaries are installed, or the server at
    ``XSMOM_TEST_PG_URL``. Without either: skip (one summary line says how to run them), but
    fail under CI (``CI=true``), where every PostgreSQL test must run.
    """
    reason = unavailable_reason()
    if reason is not None:
        if _in_ci():
            pytest.fail(f"PostgreSQL tests cannot run in CI: {reason}; {PG_HOWTO}")
        pytest.skip(f"postgres: {reason}; {PG_HOWTO}")
    try:
        with postgres_server() as url:
            yield url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="session")
def meta_model(sample_panel: MarketPanel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Return a model folder trained with the default config on the sample's first 3000 bars.

    It gates entries decided from bar 3000 of the sample on (weekly rebalancing: ~30 entries).
    """
    from xsmom.config import Config
    from xsmom.meta.labels import default_spec
    from xsmom.meta.models import TrainOptions
    from xsmom.meta.train import train_single

    cfg = Config()
    out = tmp_path_factory.mktemp("meta_model")
    return train_single(sample_panel.slice(0, 3000), cfg, default_spec(cfg), TrainOptions(), out)


@pytest.fixture(scope="session")
def meta_gated_cfg(sample_panel: MarketPanel, meta_model: Path) -> Config:
    """Return the default config gated by ``meta_model`` at the median probability of the
    sample's book entries from bar 3000 on (a threshold that surely refuses some)."""
    import dataclasses

    import numpy as np

    from xsmom.config import config_from_dict
    from xsmom.meta.artifact import load_model_set
    from xsmom.meta.dataset import strategy_book
    from xsmom.meta.gate import probabilities

    cfg = config_from_dict({"strategy": {"meta": {"model": str(meta_model)}}})
    book = strategy_book(sample_panel.slice(0, 4000), Config().strategy)
    book = dataclasses.replace(book, cfg=cfg.strategy)
    prob, _ = probabilities(load_model_set(meta_model, cfg.strategy), book)
    threshold = float(np.median(prob[np.isfinite(prob)]))
    return config_from_dict(
        {"strategy": {"meta": {"model": str(meta_model), "threshold": threshold}}}
    )
