"""Hand-computed golden cases for fills, fees, slippage, funding, stops and liquidation."""

from __future__ import annotations

import numpy as np
import pytest
from golden_helpers import cost_config, make_panel, make_targets

from xsmom.backtest import run_backtest


def test_fill_at_next_open_with_taker_fee() -> None:
    p = make_panel(open_=[100, 100, 110], close=[100, 110, 105])
    res = run_backtest(p, cost_config(), targets=make_targets(p, [0.5, 0.5, 0.5]))
    # bar 1 open: 50 units at 100, fee 5 -> cash 4995; close 110 -> 10495; close 105 -> 10245
    np.testing.assert_allclose(res.equity, [10_000.0, 10_495.0, 10_245.0])
    assert res.metrics["fees"] == pytest.approx(5.0)
    assert res.attribution.loc["S0/USDT:USDT", "price"] == pytest.approx(250.0)


def test_nothing_trades_on_the_decision_bar() -> None:
    p = make_panel(open_=[100, 120], close=[120, 120])
    res = run_backtest(p, cost_config(), targets=make_targets(p, [1.0, 1.0]))
    assert res.equity[0] == 10_000.0  # the jump to 120 inside bar 0 is not captured


def test_fixed_and_participation_slippage() -> None:
    p = make_panel(open_=[100, 100], close=[100, 100], volume=[1000, 1000])
    cfg = cost_config(slippage_bps=10.0, impact_coef=0.5)
    res = run_backtest(p, cfg, targets=make_targets(p, [0.5, 0.5]))
    # notional 5000 vs previous bar quote volume 100*1000 -> participation 0.05
    slip = 0.001 + 0.5 * 0.05
    assert res.metrics["slippage"] == pytest.approx(5000 * slip)
    assert res.metrics["fees"] == pytest.approx(50 * 100 * (1 + slip) * 0.001)
    assert res.equity[-1] == pytest.approx(10_000 - 5000 * slip - 50 * 100 * (1 + slip) * 0.001)


def test_maker_fee_for_limit_orders() -> None:
    p = make_panel(open_=[100, 100], close=[100, 100])
    cfg = cost_config().model_copy(
        update={"costs": cost_config().costs.model_copy(update={"order_type": "limit"})}
    )
    res = run_backtest(p, cfg, targets=make_targets(p, [0.5, 0.5]))
    assert res.metrics["fees"] == pytest.approx(5000 * 0.0002)


def test_funding_long_pays_positive_rate_at_mark() -> None:
    p = make_panel(
        open_=[100, 100, 100],
        close=[100, 100, 100],
        funding=[0, 0, 0.001],
        mark_open=[100, 100, 104],
    )
    res = run_backtest(p, cost_config(taker_fee_bps=0.0), targets=make_targets(p, [0.5, 0.5, 0.5]))
    assert res.metrics["funding"] == pytest.approx(50 * 104 * 0.001)
    assert res.equity[-1] == pytest.approx(10_000 - 5.2)
    short = run_backtest(p, cost_config(taker_fee_bps=0.0), targets=make_targets(p, [-0.5] * 3))
    assert short.equity[-1] == pytest.approx(10_000 + 5.2)  # shorts receive


def test_funding_in_entry_bar_is_not_charged() -> None:
    # the event in bar 1 settles before the rebalance at bar 1's open
    p = make_panel(open_=[100, 100, 100], funding=[0, 0.001, 0])
    res = run_backtest(p, cost_config(taker_fee_bps=0.0), targets=make_targets(p, [0.5] * 3))
    assert res.metrics["funding"] == 0.0


def test_stop_exit_fills_at_stop_as_taker() -> None:
    p = make_panel(open_=[100, 100, 101, 102], low=[100, 99, 97, 101], close=[100, 101, 99, 102])
    ex = [np.nan, np.nan, 98.0, np.nan]
    res = run_backtest(p, cost_config(), targets=make_targets(p, [0.5, 0.5, 0.0, 0.0], ex))
    # entry 50 @100 (fee 5); exit 50 @98 (fee 4.9): -100 price, -9.9 fees
    assert res.equity[-1] == pytest.approx(10_000 - 100 - 9.9)
    assert res.metrics["hit_rate"] == 0.0


def test_round_trip_win_counts_in_hit_rate() -> None:
    p = make_panel(open_=[100, 100, 110, 110], close=[100, 105, 110, 110])
    res = run_backtest(p, cost_config(), targets=make_targets(p, [0.5, 0.5, 0.0, 0.0]))
    assert res.metrics["hit_rate"] == 1.0
    assert res.attribution["round_trips"].sum() == 1


def test_lot_rounding_and_min_notional() -> None:
    p = make_panel(open_=[100, 100, 100], close=[100, 100, 100])
    cfg = cost_config(taker_fee_bps=0.0)
    lots = cfg.model_copy(
        update={"backtest": cfg.backtest.model_copy(update={"lot_sizes": {"S0/USDT:USDT": 7.0}})}
    )
    res = run_backtest(p, lots, targets=make_targets(p, [0.5, 0.5, 0.5]), record_held=True)
    assert res.held[1, 0] == pytest.approx(49 * 100 / 10_000)  # 50 rounded down to 49
    small = cfg.model_copy(
        update={"backtest": cfg.backtest.model_copy(update={"min_notional": 6000})}
    )
    res2 = run_backtest(p, small, targets=make_targets(p, [0.5, 0.5, 0.5]), record_held=True)
    assert res2.held[1, 0] == 0.0  # 5000 < 6000: skipped


def test_liquidation_closes_everything_and_stops_trading() -> None:
    p = make_panel(
        open_=[100, 100, 100, 90, 90], low=[100, 100, 80, 90, 90], close=[100, 100, 90, 90, 90]
    )
    cfg = cost_config(taker_fee_bps=0.0)
    cfg = cfg.model_copy(update={"backtest": cfg.backtest.model_copy(update={"max_leverage": 5.0})})
    res = run_backtest(p, cfg, targets=make_targets(p, [5.0] * 5), record_held=True)
    # 500 units at 100; the low of 80 takes equity to 0 <= maintenance 0.005 * 500 * 80 = 200:
    # closed at 80 with the 1.25% liquidation fee on 40,000 -> equity -500, and no more trades
    assert res.liquidated
    np.testing.assert_allclose(res.equity[2:], [-500.0, -500.0, -500.0])
    assert (res.held[2:] == 0).all()


def test_max_leverage_scales_targets_down() -> None:
    p = make_panel(open_=[100, 100], close=[100, 100])
    cfg = cost_config(taker_fee_bps=0.0)
    cfg = cfg.model_copy(update={"backtest": cfg.backtest.model_copy(update={"max_leverage": 1.0})})
    res = run_backtest(p, cfg, targets=make_targets(p, [3.0, 3.0]), record_held=True)
    assert res.held[1, 0] == pytest.approx(1.0)


def test_delisted_symbol_is_settled_at_last_close() -> None:
    p = make_panel(
        open_=[[100, 10], [100, 10], [100, np.nan], [100, np.nan]],
        close=[[100, 10], [100, 12], [100, np.nan], [100, np.nan]],
    )
    res = run_backtest(
        p,
        cost_config(taker_fee_bps=0.0),
        targets=make_targets(p, [[0.0, 0.5]] * 4),
        record_held=True,
    )
    assert res.held[2, 1] == 0.0
    assert res.equity[-1] == pytest.approx(10_000 + 500 * 2.0)  # 500 units, 10 -> 12
