"""The venue's synthetic touch: bookTicker and depth sit ``half_spread_ticks`` from the last
price, and a symbol without a price yet (not listed at the replay time) has no row."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.errors import ConfigError
from xsmom.sim import MarketData
from xsmom.venue.binance import ApiError
from xsmom.venue.params import Params
from xsmom.venue.routes_market import MARKET_ROUTES
from xsmom.venue.service import ReplayClock, Venue

H = 3_600_000
T0 = 1_735_689_600_000  # 2025-01-01 00:00 UTC
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def bars(start: int, closes: list[float]) -> pd.DataFrame:
    c = np.array(closes)
    o = np.r_[c[0], c[:-1]]
    return pd.DataFrame(
        {
            "timestamp": start + H * np.arange(len(c), dtype=np.int64),
            "open": o,
            "high": np.maximum(o, c) + 1.0,
            "low": np.minimum(o, c) - 1.0,
            "close": c,
            "volume": np.full(len(c), 100.0),
        }
    )


@pytest.fixture
def store(tmp_path) -> ParquetStore:
    st = ParquetStore(tmp_path / "store")
    st.write(Kind.OHLCV, BTC, bars(T0, [100.0, 101.0, 102.0, 100.0, 95.0, 96.0]), "1h")
    st.write(Kind.OHLCV, ETH, bars(T0 + 3 * H, [20.0, 21.0, 22.0]), "1h")  # listed 3 h later
    return st


def call(venue: Venue, path: str, **params: str) -> object:
    return MARKET_ROUTES[("GET", path)].handler(venue, Params(params))


def test_book_ticker_and_depth_sit_the_half_spread_from_the_last(store) -> None:
    venue = Venue(MarketData(store), ReplayClock(T0 + 4 * H, speed=0.0), half_spread_ticks=4)
    for sym, vid in ((BTC, "BTCUSDT"), (ETH, "ETHUSDT")):
        tick = venue.data.specs[sym].price_tick
        last = venue.engine.last_price(sym)
        assert last is not None
        row = call(venue, "/fapi/v1/ticker/bookTicker", symbol=vid)
        assert isinstance(row, dict)
        assert float(row["bidPrice"]) == pytest.approx(last - 4 * tick)
        assert float(row["askPrice"]) == pytest.approx(last + 4 * tick)
        assert row["time"] == T0 + 4 * H
        depth = call(venue, "/fapi/v1/depth", symbol=vid, limit="5")
        assert isinstance(depth, dict)
        assert [float(p) for p, _ in depth["bids"][:2]] == pytest.approx(
            [last - 4 * tick, last - 5 * tick]
        )
        assert float(depth["asks"][0][0]) == pytest.approx(last + 4 * tick)
    assert venue.engine.last_price(BTC) == 100.0  # bar 4 forming: its open, bar 3 close


def test_a_symbol_without_a_price_has_no_book_row(store) -> None:
    venue = Venue(MarketData(store), ReplayClock(T0 + H, speed=0.0))
    assert venue.engine.last_price(ETH) is None  # listed at T0 + 3h
    rows = call(venue, "/fapi/v1/ticker/bookTicker")
    assert isinstance(rows, list) and [r["symbol"] for r in rows] == ["BTCUSDT"]
    with pytest.raises(ApiError) as info:
        call(venue, "/fapi/v1/ticker/bookTicker", symbol="ETHUSDT")
    assert info.value.code == -1121
    venue.clock.advance(3 * H)
    venue.sync()
    rows = call(venue, "/fapi/v1/ticker/bookTicker")
    assert isinstance(rows, list) and {r["symbol"] for r in rows} == {"BTCUSDT", "ETHUSDT"}


def test_half_spread_must_be_a_positive_number_of_ticks(store) -> None:
    with pytest.raises(ConfigError, match="half spread"):
        Venue(MarketData(store), ReplayClock(T0, speed=0.0), half_spread_ticks=0)


def test_book_ticker_weighs_as_on_binance() -> None:
    route = MARKET_ROUTES[("GET", "/fapi/v1/ticker/bookTicker")]
    assert route.weight_of(Params({"symbol": "BTCUSDT"})) == 2
    assert route.weight_of(Params({})) == 5
