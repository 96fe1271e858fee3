"""The paper adapter's first market order of a symbol pays the ordinary impact: the reference
volume is the last closed bar, even from a source that drops the forming bar (issue 7, bug 1)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from xsmom.data.bundled import sample_store
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.reports import Candles, OrderRequest, OrderSide, OrderStatus
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.sim import FeeModel

BTC = "BTC/USDT:USDT"
START = 1_748_736_000_000  # 2025-06-01 00:00 UTC
HOUR = 3_600_000
FEES = FeeModel(taker_fee_bps=5.0, slippage_bps=2.0, impact_coef=0.1, unknown_volume_bps=10.0)


class FormingBarDropped(StoreMarketData):
    """Candles as the ccxt adapter returns them: the venue counts the forming bar in
    ``limit`` and the adapter drops it, so ``limit=1`` comes back empty."""

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        if since is None and limit is not None:
            return super().ohlcv(symbol, timeframe, None, limit - 1)
        return super().ohlcv(symbol, timeframe, since, limit)


def _bars() -> pd.DataFrame:
    path = Path(sample_store().root) / "ohlcv" / "1h"
    files = [f for f in path.rglob("*.parquet") if "BTC" in f.name]
    assert files, f"no BTC candles under {path}"
    return pd.read_parquet(files[0]).set_index("timestamp")


def test_first_market_order_pays_impact_on_the_last_closed_bar(tmp_path: Path) -> None:
    clock = ManualClock(START + 30 * 60_000)  # inside the bar that opened at START
    src = FormingBarDropped(sample_store(), clock, symbols=[BTC])
    assert len(src.ohlcv(BTC, "1h", limit=1)) == 0  # what broke the old lookup
    px = PaperExchange(src, tmp_path / "paper.json", clock, config=PaperConfig(fees=FEES))
    last = px.ticker(BTC).last
    order = px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 1.0, "first"))
    assert order.status is OrderStatus.FILLED
    prev = _bars().loc[START - HOUR]  # the last closed bar
    slip = 2e-4 + 0.1 * (1.0 * last) / (prev["close"] * prev["volume"])
    assert order.avg_price == pytest.approx(last * (1 + slip), rel=1e-9)
    assert slip < 0.001  # was 0.1002: the whole impact_coef
    assert px.engine.unknown_volume_fills == 0


def test_no_closed_bar_at_all_charges_the_configured_impact_and_counts_it(
    tmp_path: Path,
) -> None:
    clock = ManualClock(START)
    probe = StoreMarketData(sample_store(), clock, symbols=[BTC])
    clock.now = probe.first_ts + 30 * 60_000  # inside the store's first bar: nothing closed
    px = PaperExchange(probe, tmp_path / "paper.json", clock, config=PaperConfig(fees=FEES))
    last = px.ticker(BTC).last
    order = px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "blind"))
    assert order.avg_price == pytest.approx(last * (1 + 2e-4 + 10e-4), rel=1e-12)
    assert px.engine.unknown_volume_fills == 1
    again = PaperExchange(probe, tmp_path / "paper.json", clock, config=PaperConfig(fees=FEES))
    assert again.engine.unknown_volume_fills == 1  # persisted with the state
