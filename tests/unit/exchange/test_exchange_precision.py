"""Order requests are validated, and rounded to market precision in one place."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from xsmom.errors import InvalidOrderError
from xsmom.exchange.precision import prepare_order, round_price, round_qty
from xsmom.exchange.reports import Candles, MarketInfo, OrderRequest, OrderSide, OrderType

BTC = MarketInfo(
    symbol="BTC/USDT:USDT",
    venue_id="BTCUSDT",
    price_tick=0.1,
    qty_step=0.001,
    min_qty=0.001,
    min_notional=100.0,
)


def test_qty_rounds_down_and_prices_round_passively() -> None:
    assert round_qty(BTC, 0.0129) == 0.012
    assert round_qty(BTC, 0.3) == 0.3  # no 0.30000000000000004
    assert round_price(BTC, 100.07, OrderSide.BUY) == 100.0
    assert round_price(BTC, 100.01, OrderSide.SELL) == 100.1
    assert round_price(BTC, 100.06) == 100.1
    assert round_price(BTC, 100.0, OrderSide.SELL) == 100.0


@given(st.floats(min_value=0.001, max_value=1e6, allow_nan=False))
def test_rounded_qty_is_on_grid_and_not_larger(qty: float) -> None:
    q = round_qty(BTC, qty)
    assert q <= qty + 1e-12
    assert Decimal(repr(q)) % Decimal("0.001") == 0


def test_prepare_rounds_and_checks_limits() -> None:
    req = OrderRequest.limit("BTC/USDT:USDT", OrderSide.BUY, 0.01234, 30_000.07, "c1")
    out = prepare_order(BTC, req)
    assert (out.qty, out.price, out.post_only) == (0.012, 30_000.0, True)
    with pytest.raises(InvalidOrderError, match="min qty"):
        prepare_order(BTC, OrderRequest.market("BTC/USDT:USDT", OrderSide.BUY, 0.0009, "c2"))
    with pytest.raises(InvalidOrderError, match="min notional"):
        prepare_order(BTC, OrderRequest.limit("BTC/USDT:USDT", OrderSide.BUY, 0.001, 50.0, "c3"))
    small_close = OrderRequest.market(
        "BTC/USDT:USDT", OrderSide.SELL, 0.001, "c4", reduce_only=True
    )
    assert prepare_order(BTC, small_close, ref_price=50.0).qty == 0.001
    with pytest.raises(InvalidOrderError):
        prepare_order(BTC, OrderRequest.market("ETH/USDT:USDT", OrderSide.BUY, 1.0, "c5"))


def test_stop_price_rounds_to_nearest_tick() -> None:
    req = OrderRequest.stop_market("BTC/USDT:USDT", OrderSide.SELL, 0.01, 29_999.96, "s1")
    assert prepare_order(BTC, req).stop_price == 30_000.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"type": OrderType.LIMIT, "qty": 1.0},  # no price
        {"type": OrderType.MARKET, "qty": 0.0},
        {"type": OrderType.MARKET, "qty": 1.0, "price": 5.0},
        {"type": OrderType.MARKET, "qty": 1.0, "post_only": True},
        {"type": OrderType.STOP_MARKET, "qty": 1.0, "stop_price": 5.0},  # not reduce-only
        {"type": OrderType.STOP_MARKET, "qty": 1.0, "reduce_only": True},  # no stop
        {"type": OrderType.LIMIT, "qty": 1.0, "price": 5.0, "stop_price": 4.0},
        {"type": OrderType.MARKET, "qty": 1.0, "client_id": ""},
    ],
)
def test_malformed_requests_are_refused(kwargs: dict[str, object]) -> None:
    args: dict[str, object] = {"symbol": "BTC/USDT:USDT", "side": OrderSide.BUY, "client_id": "c"}
    args.update(kwargs)
    with pytest.raises(InvalidOrderError):
        OrderRequest(**args)  # type: ignore[arg-type]


def test_reports_are_frozen() -> None:
    with pytest.raises(AttributeError):
        BTC.price_tick = 1.0  # type: ignore[misc]


def test_candles_from_rows_and_to_frame() -> None:
    c = Candles.from_rows(
        "BTC/USDT:USDT", "1h", [[0, 1, 2, 0.5, 1.5, 10], [3_600_000, 1.5, 2, 1, 1.2, 5]]
    )
    assert len(c) == 2 and c.timestamp.dtype.kind == "i"
    df = c.to_frame()
    assert list(df.columns) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert df["close"].tolist() == [1.5, 1.2]
    assert len(Candles.from_rows("X", "1h", [])) == 0
