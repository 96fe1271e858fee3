"""The contract every `Exchange` implementation must meet, shipped with the interface.

Use it like optuna's storage tests: in a test module, define a ``harness`` fixture that
yields an `ExchangeHarness` (a fresh account with no position) for each implementation,
then subclass `ExchangeContract`::

    from xsmom.exchange.testing import ExchangeContract, ExchangeHarness

    @pytest.fixture(params=["paper", "ccxt-venue"])
    def harness(request, tmp_path): ...

    class TestExchangeContract(ExchangeContract):
        pass

The harness moves market time with ``advance(ms)``; market data must be replayed data (the
bundled sample or a store) so that assertions on fills are deterministic.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pytest

from xsmom.errors import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    RejectedError,
)
from xsmom.exchange.interface import Exchange
from xsmom.exchange.reports import (
    MarginMode,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)

HOUR = 3_600_000


@dataclass
class ExchangeHarness:
    """One implementation under test and the handles the contract needs."""

    exchange: Exchange
    advance: Callable[[int], None]
    now: Callable[[], int]
    symbol: str = "BTC/USDT:USDT"
    other: str = "ETH/USDT:USDT"
    timeframe: str = "1h"
    initial_balance: float = 10_000.0


class ExchangeContract:
    """Behaviour every Exchange shares; subclass it in a test module with a harness fixture."""

    # ---- market data -------------------------------------------------------------------------
    def test_markets_have_positive_filters(self, harness: ExchangeHarness) -> None:
        markets = harness.exchange.markets()
        assert harness.symbol in markets and harness.other in markets
        m = markets[harness.symbol]
        assert m.symbol == harness.symbol and m.venue_id
        assert m.price_tick > 0 and m.qty_step > 0 and m.min_qty > 0
        assert m.min_notional >= 0 and m.contract_size > 0 and m.max_leverage >= 1

    def test_tickers_and_mark_prices(self, harness: ExchangeHarness) -> None:
        ex, s, o = harness.exchange, harness.symbol, harness.other
        t = ex.ticker(s)
        assert t.symbol == s and t.last > 0
        assert set(ex.tickers([s, o])) == {s, o}
        mp = ex.mark_price(s)
        assert mp.symbol == s and mp.mark > 0
        assert abs(mp.mark / t.last - 1) < 0.05
        assert set(ex.mark_prices([s, o])) == {s, o}

    def test_ohlcv_returns_closed_ascending_bars(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        c = ex.ohlcv(s, harness.timeframe, limit=10)
        assert 0 < len(c) <= 10
        ts = c.timestamp
        assert (np.diff(ts) > 0).all()
        assert int(ts[-1]) + HOUR <= harness.now()
        assert (c.high >= c.low).all() and (c.volume >= 0).all()
        later = ex.ohlcv(s, harness.timeframe, since=int(ts[0]), limit=3)
        assert list(later.timestamp) == list(ts[:3])

    def test_funding_history_is_settled_and_ascending(self, harness: ExchangeHarness) -> None:
        events = harness.exchange.funding_history(harness.symbol, limit=5)
        assert 0 < len(events) <= 5
        assert all(e.ts <= harness.now() and e.symbol == harness.symbol for e in events)
        assert [e.ts for e in events] == sorted(e.ts for e in events)

    # ---- account -----------------------------------------------------------------------------
    def test_fresh_balance(self, harness: ExchangeHarness) -> None:
        b = harness.exchange.balance()
        assert b.currency == "USDT"
        assert b.wallet == pytest.approx(harness.initial_balance)
        assert b.equity == pytest.approx(harness.initial_balance)
        assert b.free > 0 and b.used_margin == pytest.approx(0.0)
        assert harness.exchange.positions() == []
        assert harness.exchange.open_orders() == []

    def test_leverage_and_margin_mode(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        ex.set_leverage(s, 5)
        ex.set_margin_mode(s, MarginMode.CROSS)
        ex.set_margin_mode(s, MarginMode.CROSS)  # already set is not an error
        with pytest.raises(RejectedError):
            ex.set_leverage(s, 10_000)
        self._market_buy(harness, "lev-buy")
        (pos,) = ex.positions([s])
        assert pos.leverage == pytest.approx(5.0) and pos.margin_mode is MarginMode.CROSS

    def test_funding_payments_are_reported_once_each_from_since(
        self, harness: ExchangeHarness
    ) -> None:
        ex, s, o = harness.exchange, harness.symbol, harness.other
        start = harness.now()  # a funding time: 00:00 UTC
        assert ex.funding_payments(since=start) == []
        long_qty = self._market_buy(harness, "fund-long")
        short = 500.0 / ex.ticker(o).last
        ex.place_order(OrderRequest.market(o, OrderSide.SELL, short, "fund-short"))
        harness.advance(17 * HOUR)  # the 08:00 and 16:00 settlements
        got = ex.funding_payments(since=start)
        times = sorted({p.ts for p in got})
        assert len(times) == 2 and start < times[0] and times[1] <= harness.now()
        assert sorted((p.symbol, p.ts) for p in got) == sorted(
            (x, t) for x in (s, o) for t in times
        )
        assert len({(p.symbol, p.payment_id) for p in got}) == 4
        assert [p.ts for p in got] == sorted(p.ts for p in got)  # oldest first
        assert {p.currency for p in got} == {"USDT"}
        rates = {e.ts: e.rate for e in ex.funding_history(s, since=start + 1)}
        last = ex.ticker(s).last
        for p in (p for p in got if p.symbol == s):  # long: pays qty x mark x rate
            assert p.amount == pytest.approx(-long_qty * last * rates[p.ts], rel=0.1)
        later = ex.funding_payments(since=times[1])  # inclusive
        assert sorted((p.symbol, p.payment_id) for p in later) == sorted(
            (p.symbol, p.payment_id) for p in got if p.ts == times[1]
        )
        assert ex.funding_payments(since=times[1] + 1) == []

    # ---- orders ------------------------------------------------------------------------------
    def _qty(self, harness: ExchangeHarness, notional: float = 500.0) -> float:
        return notional / harness.exchange.ticker(harness.symbol).last

    def _market_buy(self, harness: ExchangeHarness, cid: str) -> float:
        qty = self._qty(harness)
        order = harness.exchange.place_order(
            OrderRequest.market(harness.symbol, OrderSide.BUY, qty, cid)
        )
        assert order.status is OrderStatus.FILLED
        return order.filled

    def test_post_only_limit_rests_is_found_and_canceled(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        last = ex.ticker(s).last
        req = OrderRequest.limit(s, OrderSide.BUY, self._qty(harness), last * 0.9, "po-1")
        placed = ex.place_order(req)
        m = ex.markets()[s]
        assert placed.status is OrderStatus.NEW and placed.post_only and placed.client_id == "po-1"
        assert placed.type is OrderType.LIMIT and placed.price is not None
        assert placed.price <= last * 0.9 and placed.qty <= req.qty
        assert round(placed.price / m.price_tick, 6) % 1 == 0  # on the tick grid
        assert [o.client_id for o in ex.open_orders(s)] == ["po-1"]
        found = ex.order_by_client_id(s, "po-1")
        assert found is not None and found.venue_order_id == placed.venue_order_id
        canceled = ex.cancel_order(s, client_id="po-1")
        assert canceled.status is OrderStatus.CANCELED
        assert ex.open_orders(s) == []
        with pytest.raises(OrderNotFoundError):
            ex.cancel_order(s, client_id="po-1")
        with pytest.raises(OrderNotFoundError):
            ex.cancel_order(s, client_id="never-placed")

    def test_cancel_by_venue_id(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        last = ex.ticker(s).last
        placed = ex.place_order(
            OrderRequest.limit(s, OrderSide.SELL, self._qty(harness), last * 1.1, "po-2")
        )
        out = ex.cancel_order(s, venue_order_id=placed.venue_order_id)
        assert out.status is OrderStatus.CANCELED and out.client_id == "po-2"

    def test_unknown_client_id_is_none(self, harness: ExchangeHarness) -> None:
        assert harness.exchange.order_by_client_id(harness.symbol, "no-such-id") is None

    def test_post_only_that_would_cross_is_rejected(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        last = ex.ticker(s).last
        with pytest.raises(RejectedError):
            ex.place_order(
                OrderRequest.limit(s, OrderSide.BUY, self._qty(harness), last * 1.05, "x1")
            )
        assert ex.open_orders(s) == []

    def test_market_order_fills_with_fee_and_opens_a_position(
        self, harness: ExchangeHarness
    ) -> None:
        ex, s = harness.exchange, harness.symbol
        filled = self._market_buy(harness, "mkt-1")
        (pos,) = ex.positions()
        assert pos.symbol == s and pos.qty == pytest.approx(filled) and pos.entry_price > 0
        fills = ex.fills(s)
        assert len(fills) == 1 and fills[0].side is OrderSide.BUY and fills[0].fee > 0
        assert fills[0].qty == pytest.approx(filled) and not fills[0].is_maker
        b = ex.balance()
        assert b.wallet < harness.initial_balance  # the taker fee was paid
        assert b.used_margin > 0

    def test_reduce_only_stop_then_reduce_only_close(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        qty = self._market_buy(harness, "open-1")
        last = ex.ticker(s).last
        stop = ex.place_order(
            OrderRequest.stop_market(s, OrderSide.SELL, qty, last * 0.8, "stop-1")
        )
        assert stop.type is OrderType.STOP_MARKET and stop.reduce_only
        assert stop.status is OrderStatus.NEW and stop.stop_price is not None
        assert "stop-1" in [o.client_id for o in ex.open_orders(s)]
        found = ex.order_by_client_id(s, "stop-1")
        assert found is not None and found.type is OrderType.STOP_MARKET
        assert ex.cancel_order(s, client_id="stop-1").status is OrderStatus.CANCELED
        close = ex.place_order(
            OrderRequest.market(s, OrderSide.SELL, qty, "close-1", reduce_only=True)
        )
        assert close.status is OrderStatus.FILLED and close.reduce_only
        assert ex.positions() == []

    def test_reduce_only_without_position_is_rejected(self, harness: ExchangeHarness) -> None:
        with pytest.raises(RejectedError):
            harness.exchange.place_order(
                OrderRequest.market(
                    harness.symbol, OrderSide.SELL, self._qty(harness), "ro-1", reduce_only=True
                )
            )

    def test_too_small_and_too_large_orders(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        m = ex.markets()[s]
        with pytest.raises(InvalidOrderError):
            ex.place_order(OrderRequest.market(s, OrderSide.BUY, m.min_qty / 2, "tiny-1"))
        with pytest.raises(InsufficientFundsError):
            ex.place_order(
                OrderRequest.market(s, OrderSide.BUY, self._qty(harness, 10_000_000.0), "huge-1")
            )
        assert ex.positions() == []

    def test_duplicate_client_id_never_makes_two_orders(self, harness: ExchangeHarness) -> None:
        ex, s = harness.exchange, harness.symbol
        last = ex.ticker(s).last
        req = OrderRequest.limit(s, OrderSide.BUY, self._qty(harness), last * 0.9, "dup-1")
        ex.place_order(req)
        with pytest.raises(RejectedError):
            ex.place_order(req)
        assert len(ex.open_orders(s)) == 1

    def test_resting_limit_fills_as_maker_when_the_market_trades_through(
        self, harness: ExchangeHarness
    ) -> None:
        ex, s = harness.exchange, harness.symbol
        last = ex.ticker(s).last
        ex.place_order(
            OrderRequest.limit(s, OrderSide.BUY, self._qty(harness), last * 0.998, "mk-1")
        )
        order = None
        for _ in range(72):
            harness.advance(HOUR)
            order = ex.order_by_client_id(s, "mk-1")
            assert order is not None
            if order.status is OrderStatus.FILLED:
                break
        assert order is not None and order.status is OrderStatus.FILLED
        assert order.avg_price == pytest.approx(order.price)
        (fill,) = ex.fills(s)
        assert fill.is_maker and fill.price == pytest.approx(order.price)
        (pos,) = ex.positions()
        assert pos.qty == pytest.approx(order.qty)
