"""The kernel's trade and funding logs: every fill with its reason, every funding payment."""

from __future__ import annotations

import numpy as np
import pytest
from golden_helpers import cost_config, make_panel, make_targets

from xsmom.backtest import kernel as k
from xsmom.backtest import run_backtest
from xsmom.backtest.report import funding_frame, trades_frame
from xsmom.strategy import exits


def test_reason_codes_match_the_exit_rules() -> None:
    for code, name in enumerate(exits.EXIT_REASONS):
        if code:
            assert k.TRADE_REASONS[code].split("_")[0] in name
    assert k.TRADE_REASONS[k.R_TIME] == "time" and exits.TIME_EXIT == k.R_TIME


def test_stop_fill_and_rebalance_are_logged_with_prices_and_costs() -> None:
    p = make_panel(open_=[100, 100, 101, 102], low=[100, 99, 97, 101], close=[100, 101, 99, 102])
    why = [0, 0, exits.STOP_TRAIL, 0]
    tg = make_targets(p, [0.5, 0.5, 0.0, 0.0], [np.nan, np.nan, 98.0, np.nan], why)
    res = run_backtest(p, cost_config(), targets=tg)
    t = trades_frame(res)
    assert t[["timestamp", "side", "quantity", "price", "reason"]].to_dict("records") == [
        {"timestamp": p.timestamps[1], "side": "buy", "quantity": 50.0, "price": 100.0,
         "reason": "rebalance"},
        {"timestamp": p.timestamps[2], "side": "sell", "quantity": 50.0, "price": 98.0,
         "reason": "trailing"},
    ]  # fmt: skip
    np.testing.assert_allclose(t["fee"], [5.0, 4.9])


def test_time_exit_liquidation_and_delisting_are_named() -> None:
    p = make_panel(open_=[[100, 10]] * 4, close=[[100, 10], [100, 10], [100, 10], [100, np.nan]])
    p.open[3, 1] = np.nan
    why = np.zeros((4, 2), np.int8)
    why[1, 0] = exits.TIME_EXIT  # the target of row 1 is a time exit
    tg = make_targets(p, [[0.2, 0.2], [0.0, 0.2], [0.0, 0.2], [0.0, 0.2]], exit_reason=why)
    res = run_backtest(p, cost_config(taker_fee_bps=0.0), targets=tg)
    assert list(trades_frame(res)["reason"]) == ["rebalance", "rebalance", "time", "delisting"]
    liq = make_panel(open_=[100, 100, 100, 90], low=[100, 100, 80, 90], close=[100, 100, 90, 90])
    res = run_backtest(liq, cost_config(taker_fee_bps=0.0), targets=make_targets(liq, [5.0] * 4))
    assert list(trades_frame(res)["reason"]) == ["rebalance", "liquidation"]


def test_funding_log_holds_the_payment_on_the_position_held_into_the_bar() -> None:
    p = make_panel(open_=[100, 100, 100], funding=[0, 0, 0.001], mark_open=[100, 100, 101])
    res = run_backtest(p, cost_config(taker_fee_bps=0.0), targets=make_targets(p, [0.5] * 3))
    (row,) = funding_frame(res).to_dict("records")
    assert row == {
        "timestamp": p.timestamps[2],
        "symbol": "S0/USDT:USDT",
        "quantity": 50.0,
        "mark": 101.0,
        "rate": 0.001,
        "payment": pytest.approx(50 * 101 * 0.001),
    }


def test_logs_grow_past_their_first_capacity() -> None:
    n = 400
    w = np.where(np.arange(n) % 2 == 0, 0.5, -0.5)
    p = make_panel(open_=[100.0] * n, funding=[0.0001] * n)
    res = run_backtest(p, cost_config(), targets=make_targets(p, w))
    assert len(trades_frame(res)) == n - 1
    assert len(funding_frame(res)) == n - 2
