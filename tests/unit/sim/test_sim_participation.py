"""The venue's impact counts every taker fill of a symbol since its last bar close, so the
engine's reversal (a reduce-only close, then an open) costs what the backtest's one trade of
the same size costs; the count survives a restart and starts again at each bar."""

from __future__ import annotations

import json

import numpy as np
import pytest

from xsmom.sim import Bar, Candles, FeeModel, MarketSpec, MatchingEngine

BTC = "BTC/USDT:USDT"
FEES = FeeModel(taker_fee_bps=5.0, slippage_bps=2.0, impact_coef=0.1, unknown_volume_bps=10.0)
HOUR = 3_600_000


def long_ten() -> MatchingEngine:
    """An account long 10 at 100 just after a bar of 1,000 x 100 = 100,000 quote closed."""
    spec = MarketSpec(
        symbol=BTC,
        venue_id="BTCUSDT",
        price_tick=0.01,
        qty_step=0.001,
        min_qty=0.001,
        min_notional=5.0,
        max_leverage=20,
    )
    eng = MatchingEngine({BTC: spec}, FEES, 10_000.0)
    eng.update_price(BTC, last=100.0, quote_volume=100_000.0, ts=0)
    eng.submit(symbol=BTC, side="buy", type="market", qty=10.0, ts=1)
    bar = Bar(ts=0, open=100.0, high=100.0, low=100.0, close=100.0, volume=1000.0)
    eng.on_bar(BTC, bar, ts=HOUR)
    return eng


def sell(eng: MatchingEngine, qty: float, *, reduce_only: bool = False) -> float:
    order = eng.submit(
        symbol=BTC, side="sell", type="market", qty=qty, reduce_only=reduce_only, ts=HOUR + 1
    )
    return order.avg_price


def test_a_reversal_in_two_orders_costs_what_one_order_costs() -> None:
    eng = long_ten()
    # close 10 (1,000 quote): 2 bps + 0.1 x 1 % = 12 bps; the buy of the previous bar is
    # not counted (a new bar closed)
    assert sell(eng, 10.0, reduce_only=True) == pytest.approx(100 * (1 - 0.0012))
    # then open 10 short: 2,000 taken in the bar -> impact 0.1 x 2 % x 2,000 = 4 quote, of
    # which the first 1,000 paid 1: this one pays 3 (30 bps), not 10 bps again
    assert sell(eng, 10.0) == pytest.approx(100 * (1 - 0.0032))
    one = long_ten()
    # one order of 20 (2,000 quote): 2 bps + 0.1 x 2 % = 22 bps; the same average price
    assert sell(one, 20.0) == pytest.approx(100 * (1 - 0.0022))
    assert eng.position(BTC).qty == one.position(BTC).qty == pytest.approx(-10.0)
    assert eng.balance().equity == pytest.approx(one.balance().equity)  # marked at 100


def test_a_restart_between_the_two_orders_keeps_the_count() -> None:
    eng = long_ten()
    sell(eng, 10.0, reduce_only=True)
    again = MatchingEngine.restore(json.loads(json.dumps(eng.snapshot())))
    assert sell(again, 10.0) == pytest.approx(100 * (1 - 0.0032))
    old = eng.snapshot()
    del old["taken"]  # a state written before the count existed: nothing taken
    assert sell(MatchingEngine.restore(old), 10.0) == pytest.approx(100 * (1 - 0.0012))


def test_the_count_starts_again_at_the_next_bar_close() -> None:
    eng = long_ten()
    sell(eng, 10.0, reduce_only=True)
    bar = Bar(ts=HOUR, open=100.0, high=100.0, low=100.0, close=100.0, volume=1000.0)
    eng.on_bar(BTC, bar, ts=2 * HOUR)
    order = eng.submit(symbol=BTC, side="sell", type="market", qty=10.0, ts=2 * HOUR + 1)
    assert order.avg_price == pytest.approx(100 * (1 - 0.0012))


def test_the_venue_reference_skips_bars_that_traded_nothing() -> None:
    # the backtest's rule (last closed bar *with volume*): a venue started right after a
    # zero-volume bar must not price its first fill with the unknown-volume fallback
    one = np.ones(4)
    candles = Candles(
        ts=np.arange(4, dtype=np.int64) * HOUR,
        open=100 * one,
        high=100 * one,
        low=100 * one,
        close=np.array([100.0, 110.0, 120.0, 130.0]),
        volume=np.array([10.0, 20.0, 0.0, np.nan]),
    )
    assert candles.ref_quote_volume(4) == 110.0 * 20.0
    assert candles.ref_quote_volume(2) == 110.0 * 20.0
    assert candles.ref_quote_volume(1) == 100.0 * 10.0
    assert candles.ref_quote_volume(0) == 0.0  # none known: the engine keeps its own
