"""Accounting invariants of the matching engine under random order flow (hypothesis)."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.sim import Bar, FeeModel, MarketSpec, MatchingEngine

SYM = "ETH/USDT:USDT"
SPEC = MarketSpec(
    symbol=SYM, venue_id="ETHUSDT", price_tick=0.01, qty_step=0.001, min_qty=0.001, min_notional=5.0
)

step = st.one_of(
    st.tuples(st.just("market"), st.sampled_from(["buy", "sell"]), st.integers(10, 3000)),
    st.tuples(st.just("limit"), st.sampled_from(["buy", "sell"]), st.integers(10, 3000)),
    st.tuples(st.just("bar"), st.floats(0.9, 1.1), st.floats(0.0, 500.0)),
    st.tuples(st.just("funding"), st.floats(-0.003, 0.003), st.just(0)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(step, min_size=1, max_size=40))
def test_wallet_is_deposits_plus_realized_minus_fees_plus_funding(steps):
    eng = MatchingEngine({SYM: SPEC}, FeeModel(), 1_000_000.0)
    price = 2000.0
    ts = 0
    eng.update_price(SYM, last=price, quote_volume=1e7, ts=ts)
    for kind, a, b in steps:
        ts += 1000
        if kind in ("market", "limit"):
            qty = b / 1000.0
            off = -0.01 if a == "buy" else 0.01
            limit = round(price * (1 + off), 2) if kind == "limit" else None
            eng.submit(symbol=SYM, side=a, type=kind, qty=qty, price=limit, ts=ts)
        elif kind == "bar":
            new = round(price * a, 2)
            bar = Bar(
                ts=ts,
                open=price,
                high=max(price, new) * 1.01,
                low=min(price, new) * 0.99,
                close=new,
                volume=b,
            )
            eng.on_bar(SYM, bar, ts=ts)
            price = new
        else:
            eng.settle_funding(SYM, a, price, ts=ts)

    fills = eng.fills()
    realized = sum(f.realized_pnl for f in fills)
    fees = sum(f.fee for f in fills)
    funding = sum(p.amount for p in eng.funding_payments())
    bal = eng.balance()
    assert bal.wallet == pytest.approx(1_000_000.0 + realized - fees + funding, abs=1e-6)
    net = sum(f.qty if f.side == "buy" else -f.qty for f in fills)
    assert eng.position(SYM).qty == pytest.approx(net, abs=1e-9)
    for o in eng.orders():
        assert 0.0 <= o.filled_qty <= o.qty + 1e-12
    pos = eng.position(SYM)
    assert bal.equity == pytest.approx(bal.wallet + pos.qty * (pos.mark_price - pos.entry_price))
    again = MatchingEngine.restore(json.loads(json.dumps(eng.snapshot())))
    assert again.balance() == bal
