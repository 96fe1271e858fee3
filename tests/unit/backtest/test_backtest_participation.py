"""Impact counts everything taken on a symbol in a bar: a trade split into orders costs what
the one trade of their sum costs (the live engine splits a reversal into close + open; the
backtest trades it at once), and a stop after the bar's rebalance pays on top of it."""

from __future__ import annotations

import pytest
from golden_helpers import cost_config, make_panel, make_targets

from xsmom.backtest import costs, run_backtest


def test_second_fill_of_a_bar_pays_the_increment_of_the_impact_cost() -> None:
    # V = 100,000 quote; coef 0.1; 2 bps fixed. One fill of 1,000: impact 0.1 x 1% x 1,000 = 1.
    v = 100_000.0
    first = costs.fill_slippage(2.0, 0.1, 1_000.0, 0.0, v, 10.0)
    assert first == pytest.approx(2e-4 + 1e-3)
    # 2,000 in all: 0.1 x 2% x 2,000 = 4, so the second 1,000 pays 3 (30 bps), not 1
    second = costs.fill_slippage(2.0, 0.1, 1_000.0, 1_000.0, v, 10.0)
    assert second == pytest.approx(2e-4 + 3e-3)
    whole = costs.fill_slippage(2.0, 0.1, 2_000.0, 0.0, v, 10.0)
    assert 1_000 * (first + second) == pytest.approx(2_000 * whole)  # split == one order
    assert costs.slippage_fraction(2.0, 0.1, 1_000.0, v, 10.0) == first


def test_participation_cap_and_unknown_volume_with_something_taken() -> None:
    # V = 1,000; 800 taken then 400: impact(1,200) = 0.1 x 1 x 1,200 = 120 (capped),
    # impact(800) = 0.1 x 0.8 x 800 = 64 -> the 400 pays 56 = 14 %
    assert costs.fill_slippage(0.0, 0.1, 400.0, 800.0, 1_000.0, 10.0) == pytest.approx(0.14)
    # no reference volume: the configured fallback, whatever was taken
    nan = float("nan")
    assert costs.fill_slippage(2.0, 0.1, 400.0, 800.0, nan, 10.0) == pytest.approx(12e-4)


def test_a_stop_in_the_bar_of_the_rebalance_pays_impact_on_both() -> None:
    # bar 0 trades 100 x 1,000 = 100,000 quote: the reference of bar 1's fills.
    p = make_panel(open_=[100] * 3, close=[100] * 3, volume=[1000, 1000, 1000])
    cfg = cost_config(impact_coef=0.5)
    tg = make_targets(p, [0.5, 0.0, 0.0], exit_price=[float("nan"), 100.0, float("nan")])
    res = run_backtest(p, cfg, targets=tg)
    # bar 1: buy 5,000 at the open (impact 0.5 x 5 % x 5,000 = 125), the stop sells 5,000
    # in the same bar: impact(10,000) - impact(5,000) = 0.5 x 10 % x 10,000 - 125 = 375
    assert res.metrics["slippage"] == pytest.approx(125.0 + 375.0)
    trades = res.trade_log
    assert len(trades) == 2
