"""Paper adapter: fills by the engine's model, partial fills by participation, funding,
persistence across restarts, corrupt state refused."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.data.bundled import sample_store
from xsmom.errors import CorruptStateError, InvalidOrderError
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderStatus
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.sim import FeeModel

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
START = 1_748_736_000_000  # 2025-06-01 00:00 UTC
HOUR = 3_600_000


def make(tmp_path: Path, config: PaperConfig | None = None) -> tuple[PaperExchange, ManualClock]:
    clock = ManualClock(START)
    src = StoreMarketData(sample_store(), clock, symbols=[BTC, ETH])
    return PaperExchange(src, tmp_path / "paper.json", clock, config=config), clock


def test_market_fill_uses_the_backtest_cost_model(tmp_path: Path) -> None:
    fees = FeeModel(taker_fee_bps=5.0, slippage_bps=2.0, impact_coef=0.0)
    px, _ = make(tmp_path, PaperConfig(fees=fees))
    last = px.ticker(BTC).last
    order = px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "m1"))
    assert order.status is OrderStatus.FILLED
    assert order.avg_price == pytest.approx(last * (1 + 2e-4))
    (fill,) = px.fills(BTC)
    assert fill.fee == pytest.approx(0.01 * order.avg_price * 5e-4)
    assert px.balance().wallet == pytest.approx(10_000.0 - fill.fee)


def test_large_resting_order_fills_partially_by_volume_participation(tmp_path: Path) -> None:
    fees = FeeModel(max_participation=1e-5)  # a tiny share of each bar's volume
    px, clock = make(tmp_path, PaperConfig(fees=fees))
    last = px.ticker(BTC).last
    qty = 0.05
    px.place_order(OrderRequest.limit(BTC, OrderSide.BUY, qty, last * 0.999, "big-1"))
    statuses = []
    for _ in range(96):
        clock.advance(HOUR)
        o = px.order_by_client_id(BTC, "big-1")
        assert o is not None
        statuses.append(o.status)
        if o.status is OrderStatus.FILLED:
            break
    assert OrderStatus.PARTIALLY_FILLED in statuses
    fills = px.fills(BTC)
    assert len(fills) >= 2 and all(f.is_maker for f in fills)
    assert sum(f.qty for f in fills) <= qty + 1e-12


def test_funding_is_settled_on_open_positions(tmp_path: Path) -> None:
    px, clock = make(tmp_path)
    px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.02, "m1"))
    wallet0 = px.balance().wallet
    clock.advance(24 * HOUR)
    px.balance()
    events = px.source.funding_history(BTC, since=START + 1, limit=100)
    paid = px.engine.funding_payments()
    settled = [e for e in events if e.ts <= clock.now]
    assert len(paid) == len(settled) >= 2
    assert [p.rate for p in paid] == [e.rate for e in settled]
    assert px.balance().wallet == pytest.approx(wallet0 + sum(p.amount for p in paid))


def test_state_survives_a_restart(tmp_path: Path) -> None:
    px, clock = make(tmp_path)
    px.set_leverage(BTC, 4)
    px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.02, "m1"))
    last = px.ticker(ETH).last
    px.place_order(OrderRequest.limit(ETH, OrderSide.BUY, 1.0, last * 0.8, "l1"))
    clock.advance(5 * HOUR)
    before = (px.balance(), px.positions(), px.open_orders(), px.fills(BTC))
    px.close()
    del px

    again = PaperExchange(
        StoreMarketData(sample_store(), clock, symbols=[BTC, ETH]), tmp_path / "paper.json", clock
    )
    after = (again.balance(), again.positions(), again.open_orders(), again.fills(BTC))
    assert after == before
    assert after[1][0].leverage == 4.0
    # it carries on: time moves, funding and marks keep being applied, ids keep counting
    clock.advance(10 * HOUR)
    assert again.balance().ts == clock.now
    nxt = again.place_order(OrderRequest.market(BTC, OrderSide.SELL, 0.02, "c1", reduce_only=True))
    assert int(nxt.venue_order_id) == 3 and again.positions() == []
    with pytest.raises(InvalidOrderError):  # client ids stay unique across the restart
        again.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.02, "m1"))


def test_restart_catches_up_bars_missed_while_down(tmp_path: Path) -> None:
    px, clock = make(tmp_path)
    last = px.ticker(BTC).last
    px.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, last * 0.99, "l1"))
    px.close()
    clock.advance(72 * HOUR)  # down for three days
    again = PaperExchange(
        StoreMarketData(sample_store(), clock, symbols=[BTC, ETH]), tmp_path / "paper.json", clock
    )
    fresh_clock = ManualClock(clock.now)
    fresh = PaperExchange(
        StoreMarketData(sample_store(), fresh_clock, symbols=[BTC, ETH]),
        tmp_path / "other.json",
        fresh_clock,
    )
    order = again.order_by_client_id(BTC, "l1")
    assert order is not None
    low = float(fresh.ohlcv(BTC, "1h", since=START, limit=72).low.min())
    assert (order.status is OrderStatus.FILLED) == (low < order.price)  # type: ignore[operator]


def test_corrupt_or_foreign_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paper.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(CorruptStateError):
        make(tmp_path)
    path.write_text('{"version": 99}', encoding="utf-8")
    with pytest.raises(CorruptStateError):
        make(tmp_path)


def test_store_source_hides_the_future(tmp_path: Path) -> None:
    clock = ManualClock(START + 30 * 60_000)  # half way through a bar
    src = StoreMarketData(sample_store(), clock, symbols=[BTC])
    c = src.ohlcv(BTC, "1h", limit=3)
    assert int(c.timestamp[-1]) == START - HOUR  # the forming bar is not shown
    full = src.ohlcv(BTC, "1h", since=START - HOUR, limit=5)
    assert list(full.timestamp) == [START - HOUR]
    assert src.ticker(BTC).last == pytest.approx(
        float(
            StoreMarketData(sample_store(), ManualClock(START + 2 * HOUR), symbols=[BTC])
            .ohlcv(BTC, "1h", since=START, limit=1)
            .open[0]
        )
    )
    assert all(e.ts <= clock.now for e in src.funding_history(BTC))


def test_wallet_equals_initial_plus_realized_minus_fees_plus_funding(tmp_path: Path) -> None:
    import random

    from xsmom.errors import RejectedError

    rng = random.Random(7)
    px, clock = make(tmp_path)
    for i in range(60):
        sym = rng.choice([BTC, ETH])
        last = px.ticker(sym).last
        side = rng.choice([OrderSide.BUY, OrderSide.SELL])
        qty = rng.uniform(200, 1500) / last
        kind = rng.random()
        try:
            if kind < 0.4:
                px.place_order(OrderRequest.market(sym, side, qty, f"m{i}"))
            elif kind < 0.8:
                off = 0.997 if side is OrderSide.BUY else 1.003
                px.place_order(OrderRequest.limit(sym, side, qty, last * off, f"l{i}"))
            else:
                px.place_order(OrderRequest.market(sym, side, qty, f"r{i}", reduce_only=True))
        except RejectedError:
            pass  # reduce-only without a facing position, margin: refused, nothing booked
        clock.advance(HOUR if rng.random() < 0.5 else 3 * HOUR)
    fills = px.fills(BTC) + px.fills(ETH)
    funding = sum(p.amount for p in px.engine.funding_payments())
    expected = 10_000.0 + sum(f.realized_pnl - f.fee for f in fills) + funding
    b = px.balance()
    assert len(fills) > 20 and funding != 0.0
    assert b.wallet == pytest.approx(expected, abs=1e-6)
    assert b.equity == pytest.approx(b.wallet + sum(p.unrealized for p in px.positions()))
