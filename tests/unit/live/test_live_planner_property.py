"""Planner invariants on random states: never past the target, reduce-only never past flat,
nothing under the venue minimums, unique ids of the current bar."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from live_helpers import BTC, HOUR, T0, execution, market

from xsmom.exchange.reports import OrderReport, OrderSide, OrderStatus, OrderType
from xsmom.live import (
    Book,
    CancelOrder,
    IdScheme,
    PlaceOrder,
    ReplaceOrder,
    SymbolInput,
    TradingState,
    plan_symbol,
)

IDS = IdScheme("v1")
BAR = T0 + 10 * HOUR
NOW = BAR + HOUR
STEP = 0.001
qty = st.integers(-5000, 5000).map(lambda n: n * STEP)


@st.composite
def working(draw: st.DrawFn, attempt: int) -> OrderReport:
    side = draw(st.sampled_from(list(OrderSide)))
    total = draw(st.integers(1, 3000)) * STEP
    filled = draw(st.integers(0, 100)) / 100 * total
    return OrderReport(
        venue_order_id=str(attempt),
        client_id=IDS.trade_id(BAR, BTC, attempt),
        symbol=BTC,
        side=side,
        type=OrderType.LIMIT,
        qty=total,
        price=100.0 if side is OrderSide.BUY else 100.1,
        stop_price=None,
        filled=filled,
        avg_price=None,
        status=OrderStatus.NEW,
        reduce_only=draw(st.booleans()),
        post_only=True,
        ts=NOW,
    )


@settings(max_examples=300, deadline=None)
@given(
    target=qty,
    position=qty,
    n_orders=st.integers(0, 2),
    data=st.data(),
    drift=st.sampled_from([0.0, 0.05, 0.2]),
    ttl=st.sampled_from([0, 600]),
    state=st.sampled_from(list(TradingState)),
)
def test_plan_invariants(
    target: float,
    position: float,
    n_orders: int,
    data: st.DataObject,
    drift: float,
    ttl: int,
    state: TradingState,
) -> None:
    orders = [data.draw(working(i)) for i in range(n_orders)]
    inp = SymbolInput(
        symbol=BTC,
        market=market(),
        target_qty=target,
        position_qty=position,
        book=Book(symbol=BTC, bid=100.0, ask=100.1, ts=NOW),
        now_ms=NOW,
        bar_ts=BAR,
        bar_ms=HOUR,
        orders=tuple(orders),
        state=state,
        next_attempt=n_orders,
    )
    plan = plan_symbol(inp, execution(drift_threshold=drift, taker_after_s=ttl), IDS)
    live = {o.venue_order_id: o.side.sign * o.remaining for o in orders}
    new: list[PlaceOrder] = []
    for a in plan.actions:
        if isinstance(a, CancelOrder):
            live.pop(a.venue_order_id)
        elif isinstance(a, ReplaceOrder):
            live.pop(a.cancel.venue_order_id)
            new.append(a.place)
        else:
            new.append(a)
    exposure = position + sum(live.values()) + sum(p.request.side.sign * p.request.qty for p in new)
    if target != position:
        direction = 1 if target > position else -1
        assert (exposure - target) * direction <= STEP / 2 + 1e-9  # never past the target
    closing = [p for p in new if p.request.reduce_only and p.intent != "stop"]
    assert sum(p.request.qty for p in closing) <= abs(position) + 1e-9
    assert all(p.request.side.sign * position < 0 for p in closing)
    for p in new:
        r = p.request
        assert r.qty >= STEP - 1e-12
        if not r.reduce_only:
            assert r.qty * (r.price or 100.1) >= 5.0 - 1e-9
        parsed = IDS.parse(r.client_id)
        assert parsed is not None and parsed[0] == BAR and parsed[2] >= n_orders
    ids = [p.request.client_id for p in new]
    assert len(ids) == len(set(ids))
    # the trading state: nothing working that it forbids
    for o in orders:
        if o.venue_order_id in live:
            assert state.allows(reduce_only=o.reduce_only)
