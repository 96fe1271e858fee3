"""Market replay: the clock, what is visible when, and how bars and funding reach the engine."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.sim import FeeModel, OrderStatus
from xsmom.sim.market import MarketData, price_decimals
from xsmom.venue.params import Params
from xsmom.venue.routes_market import MARKET_ROUTES
from xsmom.venue.service import ReplayClock, Venue

H = 3_600_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC
SYM = "BTC/USDT:USDT"


def bars(closes: list[float], vol: float = 100.0) -> pd.DataFrame:
    c = np.array(closes)
    o = np.r_[c[0], c[:-1]]
    return pd.DataFrame(
        {
            "timestamp": T0 + H * np.arange(len(c), dtype=np.int64),
            "open": o,
            "high": np.maximum(o, c) + 1.0,
            "low": np.minimum(o, c) - 1.0,
            "close": c,
            "volume": np.full(len(c), vol),
        }
    )


@pytest.fixture
def store(tmp_path) -> ParquetStore:
    st = ParquetStore(tmp_path / "store")
    closes = [100.0, 101.0, 102.0, 100.0, 95.0, 96.0, 97.0, 98.0, 99.0, 100.0, 101.0, 102.0]
    st.write(Kind.OHLCV, SYM, bars(closes), "1h")
    mark = bars([c + 0.5 for c in closes]).assign(volume=0.0)
    st.write(Kind.MARK, SYM, mark, "1h")
    fund = pd.DataFrame({"timestamp": [T0 + 4 * H + 7, T0 + 8 * H + 3], "rate": [0.001, -0.002]})
    st.write(Kind.FUNDING, SYM, fund)
    return st


class FakeWall:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_clock_runs_at_speed_and_steps_forward_only():
    wall = FakeWall()
    clock = ReplayClock(T0, speed=3600.0, wall=wall)
    assert clock.now_ms() == T0
    wall.t = 2.0
    assert clock.now_ms() == T0 + 2 * H
    assert clock.advance(H) == T0 + 3 * H
    assert clock.advance(-5 * H) == T0 + 3 * H
    assert clock.set_to(T0) == T0 + 3 * H


def test_klines_serve_closed_bars_and_a_flat_forming_bar(store):
    data = MarketData(store)
    venue = Venue(data, ReplayClock(T0 + 2 * H + H // 2, speed=0.0))
    klines = MARKET_ROUTES[("GET", "/fapi/v1/klines")].handler
    rows = klines(venue, Params({"symbol": "BTCUSDT", "interval": "1h"}))
    assert [r[0] for r in rows] == [T0, T0 + H, T0 + 2 * H]
    assert rows[1][1:5] == ["100", "102", "99", "101"]
    assert rows[2][1:6] == ["101", "101", "101", "101", "0.000"]  # forming: open only
    limited = klines(venue, Params({"symbol": "BTCUSDT", "interval": "1h", "limit": "1"}))
    assert [r[0] for r in limited] == [T0 + 2 * H]
    ranged = klines(
        venue, Params({"symbol": "BTCUSDT", "interval": "1h", "startTime": str(T0), "limit": "2"})
    )
    assert [r[0] for r in ranged] == [T0, T0 + H]
    marks = MARKET_ROUTES[("GET", "/fapi/v1/markPriceKlines")].handler
    assert marks(venue, Params({"symbol": "BTCUSDT", "interval": "1h"}))[0][4] == "100.50000000"
    assert venue.engine.last_price(SYM) == 101.0  # the forming bar's open
    assert venue.engine.mark_price(SYM) == 101.5  # the last closed mark


def test_funding_history_hides_future_events(store):
    venue = Venue(MarketData(store), ReplayClock(T0 + 5 * H, speed=0.0))
    funding = MARKET_ROUTES[("GET", "/fapi/v1/fundingRate")].handler
    rows = funding(venue, Params({"symbol": "BTCUSDT"}))
    assert [r["fundingTime"] for r in rows] == [T0 + 4 * H + 7]
    premium = MARKET_ROUTES[("GET", "/fapi/v1/premiumIndex")].handler(
        venue, Params({"symbol": "BTCUSDT"})
    )
    assert premium["nextFundingTime"] == T0 + 8 * H


def test_replay_fills_resting_orders_and_settles_funding_once(store):
    clock = ReplayClock(T0 + 3 * H, speed=0.0)
    venue = Venue(MarketData(store), clock, fees=FeeModel(max_participation=1.0))
    eng = venue.engine
    eng.submit(symbol=SYM, side="buy", type="market", qty=1.0, ts=venue.now())
    limit = eng.submit(symbol=SYM, side="buy", type="limit", qty=1.0, price=96.0, ts=venue.now())
    clock.advance(2 * H)  # bars 3 (102->100) and 4 (100->95, low 94) close; funding at 4h
    venue.sync()
    assert eng.order(order_id=limit.order_id).status is OrderStatus.FILLED
    (pay,) = eng.funding_payments()
    assert pay.ts == T0 + 4 * H + 7 and pay.position_qty == 1.0
    assert pay.amount == pytest.approx(-1.0 * pay.mark_price * 0.001)
    assert pay.mark_price == pytest.approx(100.5)  # mark close of bar 3, known at 4h
    venue.sync()
    clock.advance(1)
    venue.sync()
    assert len(eng.funding_payments()) == 1
    clock.advance(5 * H)
    venue.sync()
    second = eng.funding_payments()[1]
    assert second.rate == -0.002 and second.amount > 0  # a long receives a negative rate


def test_history_before_start_is_not_replayed(store):
    venue = Venue(MarketData(store), ReplayClock(T0 + 6 * H, speed=0.0))
    order = venue.engine.submit(symbol=SYM, side="buy", type="limit", qty=1.0, price=95.0, ts=0)
    venue.sync()
    assert venue.engine.order(order_id=order.order_id).status is OrderStatus.NEW


def test_price_tick_comes_from_the_data():
    assert price_decimals(np.array([108877.3, 108821.8, 109000.0])) == 1
    assert price_decimals(np.array([0.5123, 0.51])) == 4
    assert price_decimals(np.array([100.0, 101.0])) == 0


def test_a_symbol_listed_later_has_no_price_before_its_first_bar(store):
    late = bars([50.0, 51.0, 52.0, 53.0, 54.0, 55.0])
    late["timestamp"] += 6 * H  # listed at T0 + 6h
    late["open"] = [40.0, 51.0, 52.0, 53.0, 54.0, 55.0]  # its first open: the future
    late.loc[0, "low"] = 39.0
    store.write(Kind.OHLCV, "ETH/USDT:USDT", late, "1h")
    venue = Venue(MarketData(store), ReplayClock(T0 + 2 * H, speed=0.0))
    assert venue.engine.last_price("ETH/USDT:USDT") is None  # not 40.0
    assert venue.engine.last_price(SYM) == 101.0
    order = venue.engine.submit(
        symbol="ETH/USDT:USDT", side="buy", type="market", qty=0.1, ts=venue.now()
    )
    assert order.status is OrderStatus.NEW  # rests until a price exists
    venue.clock.advance(4 * H)  # T0 + 6h: the first bar opens
    venue.sync()
    assert venue.engine.last_price("ETH/USDT:USDT") == 40.0
    venue.clock.advance(H)  # its first bar closes: the resting market order fills at its open
    venue.sync()
    filled = venue.engine.order(order_id=order.order_id)
    # at its open plus slippage: no closed bar precedes the symbol's first one, so no
    # reference volume is known: 2 bps + the configured unknown_volume_bps (10), counted
    assert filled.status is OrderStatus.FILLED
    assert filled.avg_price == pytest.approx(40.0 * (1 + 2e-4 + 10e-4))
    assert venue.engine.unknown_volume_fills == 1
