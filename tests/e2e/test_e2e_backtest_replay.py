"""The outputs of ``xsmom backtest`` reproduce its equity: an independent pandas replay from
trades.parquet, funding.parquet and the store's prices matches equity.csv (issue 7, bug 3)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cli_run import run_xsmom
from xsmom.data.bundled import sample_store

HOUR = 3_600_000
E0 = 10_000.0
# tight stops on hourly ATRs, daily rebalancing and re-entry after the cooldown, so that
# stops, trailing stops and catastrophic stops fire (not the defaults: see docs/defaults.md)
CONFIG = """
strategy:
  portfolio: {rebalance_every: 24}
  exits: {atr_period: 24, atr_stop: 1.0, trail_atr: 1.5, catastrophic_stop: 0.03,
          max_bars_held: 12, reenter: after_cooldown}
"""


def _store_frame(kind: str, column: str) -> pd.DataFrame:
    """Return ``column`` of every stored symbol, one column per unified symbol."""
    root = Path(sample_store().root) / kind
    cols = {}
    for f in sorted(root.rglob("*.parquet")):
        base, quote, settle = f.stem.split("_")
        df = pd.read_parquet(f)
        cols[f"{base}/{quote}:{settle}"] = df.set_index("timestamp")[column]
    return pd.DataFrame(cols)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("replay")
    (tmp / "stops.yaml").write_text(CONFIG)
    out = tmp / "run"
    r = run_xsmom(
        *("backtest", "--store", "sample", "--config", tmp / "stops.yaml"),
        *("--start", "2025-06-01", "--out", out, "--quiet"),
    )
    assert r.returncode == 0, r.stderr
    return out


def test_trades_hold_every_kind_of_fill(run: Path) -> None:
    trades = pd.read_parquet(run / "trades.parquet")
    assert list(trades.columns) == [
        "timestamp",
        "symbol",
        "side",
        "quantity",
        "price",
        "fee",
        "slippage",
        "reason",
    ]
    reasons = set(trades["reason"])
    assert {"rebalance", "stop", "trailing", "catastrophic", "time"} <= reasons
    assert (trades["quantity"] > 0).all() and set(trades["side"]) == {"buy", "sell"}


def test_equity_replays_from_the_outputs_and_the_store(run: Path) -> None:
    equity = pd.read_csv(run / "equity.csv").set_index("timestamp")["equity"]
    trades = pd.read_parquet(run / "trades.parquet")
    funding = pd.read_parquet(run / "funding.parquet")
    close = _store_frame("ohlcv", "close").reindex(equity.index).ffill()

    signed = np.where(trades["side"] == "buy", 1.0, -1.0) * trades["quantity"]
    trade_cash = -(signed * trades["price"] + trades["fee"])
    cash = (
        E0
        + trade_cash.groupby(trades["timestamp"]).sum().reindex(equity.index, fill_value=0.0)
        - funding.groupby("timestamp")["payment"].sum().reindex(equity.index, fill_value=0.0)
    )
    cash = E0 + (cash - E0).cumsum()
    pos = (
        pd.DataFrame({"ts": trades["timestamp"], "sym": trades["symbol"], "q": signed})
        .pivot_table(index="ts", columns="sym", values="q", aggfunc="sum")
        .reindex(index=equity.index, columns=close.columns, fill_value=0.0)
        .fillna(0.0)
        .cumsum()
    )
    replay = cash + (pos * close).sum(axis=1)
    np.testing.assert_allclose(replay.to_numpy(), equity.to_numpy(), rtol=1e-9, atol=0)


def test_funding_payments_are_the_store_rates_on_the_replayed_positions(run: Path) -> None:
    trades = pd.read_parquet(run / "trades.parquet")
    funding = pd.read_parquet(run / "funding.parquet")
    assert len(funding) > 100
    np.testing.assert_allclose(
        funding["payment"], funding["quantity"] * funding["mark"] * funding["rate"], rtol=1e-12
    )
    # the position held into the bar: every fill of earlier bars
    signed = np.where(trades["side"] == "buy", 1.0, -1.0) * trades["quantity"]
    for row in funding.sample(50, random_state=0).itertuples():
        mine = (trades["symbol"] == row.symbol) & (trades["timestamp"] < row.timestamp)
        assert signed[mine].sum() == pytest.approx(row.quantity, rel=1e-9, abs=1e-9)
    # the rate of the store's funding events inside the bar, at the bar's mark open
    rates = _store_frame("funding", "rate")
    by_bar = rates.groupby(rates.index // HOUR * HOUR).sum()
    stacked = by_bar.stack()
    want = stacked.reindex(list(zip(funding["timestamp"], funding["symbol"], strict=True)))
    np.testing.assert_allclose(funding["rate"], want.to_numpy(), rtol=1e-12)
    marks = _store_frame("mark", "open").stack()
    want_mark = marks.reindex(list(zip(funding["timestamp"], funding["symbol"], strict=True)))
    np.testing.assert_allclose(funding["mark"], want_mark.to_numpy(), rtol=1e-12)
