"""Behaviour of the venue's matching engine, with figures computed by hand or via costs."""

from __future__ import annotations

import json

import pytest

from xsmom.backtest import costs
from xsmom.errors import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
)
from xsmom.sim import Bar, FeeModel, MarketSpec, MatchingEngine, OrderStatus, reject_code

BTC = "BTC/USDT:USDT"
FEES = FeeModel(
    taker_fee_bps=5.0, maker_fee_bps=2.0, slippage_bps=2.0, impact_coef=0.1, max_participation=0.1
)


def spec() -> MarketSpec:
    return MarketSpec(
        symbol=BTC,
        venue_id="BTCUSDT",
        price_tick=0.1,
        qty_step=0.001,
        min_qty=0.001,
        min_notional=5.0,
        max_leverage=20,
        maintenance_margin_rate=0.005,
    )


def engine(balance: float = 10_000.0, last: float = 100.0, qv: float = 1_000_000.0):
    eng = MatchingEngine({BTC: spec()}, FEES, balance)
    eng.update_price(BTC, last=last, quote_volume=qv, ts=0)
    return eng


def bar(o: float, h: float, lo: float, c: float, v: float = 1000.0, ts: int = 3_600_000) -> Bar:
    return Bar(ts=ts, open=o, high=h, low=lo, close=c, volume=v)


def code_of(excinfo: pytest.ExceptionInfo[BaseException]) -> int | None:
    return reject_code(excinfo.value)


def test_market_buy_fills_at_once_with_backtest_slippage_and_taker_fee():
    eng = engine()
    order = eng.submit(symbol=BTC, side="buy", type="market", qty=1.0, ts=10)
    slip = costs.slippage_fraction(2.0, 0.1, 100.0, 1_000_000.0, 10.0)
    price = costs.fill_price(100.0, 1.0, slip)
    assert price == pytest.approx(100.021)
    assert order.status is OrderStatus.FILLED
    assert order.avg_price == pytest.approx(price)
    (fill,) = eng.fills()
    assert fill.fee == pytest.approx(price * 5e-4)
    assert not fill.is_maker
    pos = eng.position(BTC)
    assert pos.qty == 1.0 and pos.entry_price == pytest.approx(price)
    assert eng.balance().wallet == pytest.approx(10_000.0 - price * 5e-4)


def test_post_only_crossing_is_rejected_and_resting_limit_fills_as_maker():
    eng = engine()
    with pytest.raises(OrderRejectedError) as exc:
        eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=100.5, post_only=True, ts=1)
    assert code_of(exc) == -5022
    assert eng.orders() == []
    o = eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=99.0, post_only=True, ts=1)
    assert o.status is OrderStatus.NEW and o.time_in_force == "GTX"
    assert eng.on_bar(BTC, bar(100, 101, 99.5, 100), ts=2) == []  # did not trade through
    (fill,) = eng.on_bar(BTC, bar(100, 101, 98.0, 99.5), ts=3)
    assert fill.price == 99.0 and fill.is_maker
    assert fill.fee == pytest.approx(99.0 * 2e-4)
    assert eng.order(order_id=o.order_id).status is OrderStatus.FILLED


def test_crossing_plain_limit_fills_as_taker_never_worse_than_limit():
    eng = engine()
    o = eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=100.0, ts=1)
    assert o.status is OrderStatus.FILLED
    assert o.avg_price == 100.0  # slipped price 100.021 capped at the limit


def test_partial_fills_follow_volume_participation():
    eng = engine()
    o = eng.submit(symbol=BTC, side="sell", type="limit", qty=1.0, price=101.0, ts=1)
    fills = eng.on_bar(BTC, bar(100, 102, 99, 101, v=6.0), ts=2)  # cap 0.6
    assert [f.qty for f in fills] == [pytest.approx(0.6)]
    assert eng.order(order_id=o.order_id).status is OrderStatus.PARTIALLY_FILLED
    eng.on_bar(BTC, bar(100, 102, 99, 101, v=6.0), ts=3)
    done = eng.order(order_id=o.order_id)
    assert done.status is OrderStatus.FILLED and done.filled_qty == pytest.approx(1.0)
    assert eng.position(BTC).qty == pytest.approx(-1.0)


def test_reduce_only_rejected_when_flat_and_clipped_to_position():
    eng = engine()
    with pytest.raises(OrderRejectedError) as exc:
        eng.submit(symbol=BTC, side="sell", type="market", qty=1.0, reduce_only=True, ts=1)
    assert code_of(exc) == -2022
    eng.submit(symbol=BTC, side="buy", type="market", qty=1.0, ts=2)
    with pytest.raises(OrderRejectedError):
        eng.submit(symbol=BTC, side="buy", type="market", qty=1.0, reduce_only=True, ts=3)
    o = eng.submit(symbol=BTC, side="sell", type="market", qty=2.0, reduce_only=True, ts=4)
    assert o.filled_qty == pytest.approx(1.0)
    assert o.status is OrderStatus.EXPIRED
    assert eng.position(BTC).qty == 0.0


def test_stop_market_triggers_at_stop_or_worse():
    eng = engine()
    eng.submit(symbol=BTC, side="buy", type="market", qty=2.0, ts=1)
    with pytest.raises(OrderRejectedError) as exc:
        eng.submit(symbol=BTC, side="sell", type="stop_market", qty=1.0, stop_price=101.0, ts=2)
    assert code_of(exc) == -2021
    s1 = eng.submit(
        symbol=BTC,
        side="sell",
        type="stop_market",
        qty=1.0,
        stop_price=95.0,
        reduce_only=True,
        ts=2,
    )
    assert eng.on_bar(BTC, bar(100, 101, 96, 97), ts=3) == []
    (f1,) = eng.on_bar(BTC, bar(97, 98, 94, 95), ts=4)
    # impact on the last closed bar before the fill (the backtest's reference)
    slip = costs.slippage_fraction(2.0, 0.1, 95.0, 1000.0 * 97.0, 10.0)
    assert f1.price == pytest.approx(costs.fill_price(95.0, -1.0, slip))
    assert eng.order(order_id=s1.order_id).status is OrderStatus.FILLED
    s2 = eng.submit(symbol=BTC, side="sell", type="stop_market", qty=1.0, stop_price=90.0, ts=5)
    (f2,) = eng.on_bar(BTC, bar(85, 86, 80, 82), ts=6)  # gapped through: fills at the open
    slip2 = costs.slippage_fraction(2.0, 0.1, 85.0, 1000.0 * 95.0, 10.0)
    assert f2.price == pytest.approx(costs.fill_price(85.0, -1.0, slip2))
    assert f2.price < 90.0
    assert eng.order(order_id=s2.order_id).status is OrderStatus.FILLED


def test_filters_reject_with_binance_codes():
    eng = engine()
    cases = [
        ({"qty": 0.04, "price": 99.0}, -4164),  # notional 3.96 < 5
        ({"qty": 1.0, "price": 99.05}, -4014),
        ({"qty": 1.0005, "price": 99.0}, -1111),
        ({"qty": 0.0, "price": 99.0}, -4003),
    ]
    for kw, code in cases:
        with pytest.raises(InvalidOrderError) as exc:
            eng.submit(symbol=BTC, side="buy", type="limit", ts=1, **kw)
        assert code_of(exc) == code
    with pytest.raises(InvalidOrderError) as exc:
        eng.submit(symbol="ETH/USDT:USDT", side="buy", type="market", qty=1.0, ts=1)
    assert code_of(exc) == -1121


def test_margin_check_uses_leverage_and_open_orders():
    eng = engine(balance=50.0)
    eng.set_leverage(BTC, 1)
    with pytest.raises(InsufficientFundsError) as exc:
        eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=99.0, ts=1)
    assert code_of(exc) == -2019
    eng.set_leverage(BTC, 2)
    eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=99.0, ts=1)
    assert eng.balance().order_margin == pytest.approx(49.5)
    with pytest.raises(InsufficientFundsError):
        eng.submit(symbol=BTC, side="buy", type="limit", qty=1.0, price=99.0, ts=2)
    with pytest.raises(InvalidOrderError) as lev:
        eng.set_leverage(BTC, 50)
    assert code_of(lev) == -4028


def test_funding_longs_pay_when_rate_positive():
    eng = engine()
    eng.submit(symbol=BTC, side="buy", type="market", qty=2.0, ts=1)
    w0 = eng.balance().wallet
    paid = eng.settle_funding(BTC, 0.001, 110.0, ts=2)
    assert paid == pytest.approx(-0.22)
    assert eng.balance().wallet == pytest.approx(w0 - 0.22)
    eng.submit(symbol=BTC, side="sell", type="market", qty=4.0, ts=3)
    assert eng.settle_funding(BTC, 0.001, 110.0, ts=4) == pytest.approx(0.22)
    assert eng.settle_funding(BTC, -0.001, 110.0, ts=5) == pytest.approx(-0.22)
    assert [p.amount for p in eng.funding_payments()] == pytest.approx([-0.22, 0.22, -0.22])


def test_liquidation_closes_positions_at_mark_when_equity_below_maintenance():
    eng = engine(balance=100.0)
    eng.submit(symbol=BTC, side="buy", type="market", qty=15.0, ts=1)
    eng.submit(symbol=BTC, side="sell", type="limit", qty=1.0, price=120.0, reduce_only=True, ts=1)
    assert eng.mark(BTC, 97.0, ts=2) == []
    fills = eng.mark(BTC, 93.5, ts=3)
    assert len(fills) == 1 and fills[0].liquidation and fills[0].price == 93.5
    assert fills[0].fee == pytest.approx(15 * 93.5 * 0.01)
    assert eng.positions() == []
    assert eng.open_orders() == []
    assert eng.balance().wallet >= 0.0


def test_cancel_and_lookup_by_client_id():
    eng = engine()
    o = eng.submit(
        symbol=BTC, side="buy", type="limit", qty=1.0, price=90.0, client_id="abc-1", ts=1
    )
    assert eng.order(client_id="abc-1").order_id == o.order_id
    with pytest.raises(InvalidOrderError) as dup:
        eng.submit(
            symbol=BTC, side="buy", type="limit", qty=1.0, price=90.0, client_id="abc-1", ts=1
        )
    assert code_of(dup) == -4116
    c = eng.cancel(symbol=BTC, client_id="abc-1", ts=2)
    assert c.status is OrderStatus.CANCELED and eng.open_orders() == []
    with pytest.raises(OrderNotFoundError) as again:
        eng.cancel(symbol=BTC, order_id=o.order_id, ts=3)
    assert code_of(again) == -2011
    with pytest.raises(OrderNotFoundError) as missing:
        eng.order(order_id=999)
    assert code_of(missing) == -2013


def test_ioc_expires_what_does_not_fill_at_once():
    eng = engine()
    o = eng.submit(
        symbol=BTC, side="buy", type="limit", qty=1.0, price=99.0, time_in_force="IOC", ts=1
    )
    assert o.status is OrderStatus.EXPIRED and o.filled_qty == 0.0


def test_snapshot_restore_round_trip_is_exact_and_keeps_behaving():
    eng = engine()
    eng.submit(symbol=BTC, side="buy", type="market", qty=1.0, ts=1)
    eng.submit(symbol=BTC, side="sell", type="limit", qty=0.5, price=105.0, client_id="tp", ts=1)
    eng.settle_funding(BTC, 0.0001, 100.0, ts=2)
    snap = json.loads(json.dumps(eng.snapshot()))
    copy = MatchingEngine.restore(snap)
    assert copy.snapshot() == eng.snapshot()
    b = bar(100, 106, 99, 104)
    assert copy.on_bar(BTC, b, ts=3) == eng.on_bar(BTC, b, ts=3)
    assert copy.snapshot() == eng.snapshot()
    assert copy.order(client_id="tp").status is OrderStatus.FILLED


def test_fills_by_symbol_come_from_an_index_in_time_order_and_survive_restore():
    eth = MarketSpec(
        symbol="ETH/USDT:USDT",
        venue_id="ETHUSDT",
        price_tick=0.01,
        qty_step=0.001,
        min_qty=0.001,
        min_notional=5.0,
        max_leverage=20,
    )
    eng = MatchingEngine({BTC: spec(), eth.symbol: eth}, FEES, 10_000.0)
    eng.update_price(BTC, last=100.0, quote_volume=1e6, ts=0)
    eng.update_price(eth.symbol, last=50.0, quote_volume=1e6, ts=0)
    for i, sym in enumerate([BTC, eth.symbol, eth.symbol, BTC, eth.symbol]):
        eng.submit(symbol=sym, side="buy" if i % 2 else "sell", type="market", qty=0.1, ts=i)
    assert [f.trade_id for f in eng.fills(BTC)] == [1, 4]
    assert [f.trade_id for f in eng.fills(eth.symbol)] == [2, 3, 5]
    assert eng.fills("XRP/USDT:USDT") == []
    assert [f.trade_id for f in eng.fills_from(3)] == [4, 5]
    eng.fills(BTC).clear()  # a copy: the caller cannot change the engine's history
    copy = MatchingEngine.restore(json.loads(json.dumps(eng.snapshot())))
    for sym in (BTC, eth.symbol):
        assert copy.fills(sym) == eng.fills(sym) == [f for f in eng.fills() if f.symbol == sym]
    copy.submit(symbol=BTC, side="buy", type="market", qty=0.1, ts=9)
    assert [f.trade_id for f in copy.fills(BTC)] == [1, 4, 6]
