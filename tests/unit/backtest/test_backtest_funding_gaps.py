"""A backtest refuses to hold positions where the store has no funding data, or runs with
``backtest.allow_funding_gaps`` and reports the uncovered share of position-time."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from golden_helpers import cost_config, make_panel, make_targets

from xsmom.backtest import run_backtest
from xsmom.backtest.coverage import _stretch
from xsmom.config import Config
from xsmom.data import MarketPanel
from xsmom.data.coverage import NO_FUNDING, NO_MARK
from xsmom.errors import DataError
from xsmom.strategy import Targets


def _setup() -> tuple[MarketPanel, Targets]:
    # 6 hourly bars, 2 symbols. S0 is bought at the open of bar 1 and held to the end; S1 is
    # shorted at the open of bar 3. Held into a bar = the previous close's position:
    #   S0 into bars 2, 3, 4, 5 (4 symbol-bars), S1 into bars 4, 5 (2): 6 of position-time.
    # The store has no funding for S0 on bars 3..4: 2 of the 6 are uncovered -> 1/3.
    prices = [[100.0, 50.0]] * 6
    panel = make_panel(prices, funding=[[0.0, 0.0]] * 3 + [[0.0, 1e-4]] + [[0.0, 0.0]] * 2)
    gaps = np.zeros((6, 2), dtype=np.int8)
    gaps[3:5, 0] = NO_FUNDING
    panel = replace(panel, funding_gaps=gaps)
    w = [[0.5, 0.0], [0.5, 0.0], [0.5, -0.5], [0.5, -0.5], [0.5, -0.5], [0.5, -0.5]]
    return panel, make_targets(panel, w)


def _cfg(**backtest: object) -> Config:
    base = cost_config()
    return base.model_copy(update={"backtest": base.backtest.model_copy(update=backtest)})


def test_holding_through_missing_funding_is_refused_naming_symbol_and_stretch() -> None:
    panel, tg = _setup()
    with pytest.raises(DataError) as info:
        run_backtest(panel, _cfg(), targets=tg)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith("S0/USDT:USDT: the backtest would hold a position through ")
    assert "1970-01-01 03:00 .. 1970-01-01 04:00 UTC with no funding data" in msg
    assert "--allow-funding-gaps" in msg


def test_with_the_option_it_runs_and_reports_the_uncovered_share() -> None:
    panel, tg = _setup()
    res = run_backtest(panel, _cfg(allow_funding_gaps=True), targets=tg)
    assert res.metrics["funding_uncovered_share"] == pytest.approx(2 / 6, abs=1e-15)
    assert res.metrics["funding_mark_fallback_share"] == 0.0
    assert res.held.shape == (1, 2)  # held weights were only recorded for the check
    # independent replay of the definition from the held weights
    rec = run_backtest(panel, _cfg(allow_funding_gaps=True), targets=tg, record_held=True)
    into = np.vstack([np.zeros((1, 2), bool), rec.held[:-1] != 0])
    gaps = panel.funding_gaps
    assert gaps is not None
    assert into.sum() == 6 and (into & (gaps == NO_FUNDING)).sum() == 2


def test_a_window_that_holds_nothing_in_the_gap_runs_without_the_option() -> None:
    panel, tg = _setup()
    res = run_backtest(panel, _cfg(), targets=tg, stop=3)
    assert res.metrics["funding_uncovered_share"] == 0.0
    # funding switched off: nothing is charged, so nothing is missing
    res = run_backtest(panel, _cfg(funding=False), targets=tg)
    assert res.metrics["funding_uncovered_share"] == 0.0


def test_funding_times_without_a_mark_candle_are_reported_not_refused() -> None:
    panel, tg = _setup()
    gaps = np.zeros((6, 2), dtype=np.int8)
    gaps[3, 1] = NO_MARK  # S1's one funding event (bar 3) has no mark candle
    panel = replace(panel, funding_gaps=gaps)
    # S1 is held into bar 4 and 5 only; the event at bar 3 is paid by nobody: share 0
    res = run_backtest(panel, _cfg(), targets=tg)
    assert res.metrics["funding_mark_fallback_share"] == 0.0
    gaps[:] = 0
    gaps[4, 1] = NO_MARK
    ev = panel.funding_event.copy()
    ev[4, 1] = True
    rate = panel.funding_rate.copy()
    rate[4, 1] = 1e-4
    panel = replace(panel, funding_event=ev, funding_rate=rate, funding_gaps=gaps)
    res = run_backtest(panel, _cfg(), targets=tg)
    # S1 held into bar 4 pays the bar-4 event at the trade open: 1 of 1 payment
    assert res.metrics["funding_mark_fallback_share"] == 1.0


def _stretch_by_walking(col: np.ndarray, t: int) -> tuple[int, int]:
    lo, hi = t, t
    while lo > 0 and col[lo - 1] == NO_FUNDING:
        lo -= 1
    while hi < col.size - 1 and col[hi + 1] == NO_FUNDING:
        hi += 1
    return lo, hi


def test_the_named_stretch_equals_a_bar_by_bar_walk() -> None:
    rng = np.random.default_rng(11)
    for _ in range(200):
        col = np.where(rng.random(40) < 0.6, NO_FUNDING, 0).astype(np.int8)
        col[rng.integers(0, 40, 3)] = NO_MARK
        for t in np.flatnonzero(col == NO_FUNDING):  # first and last bar included
            assert _stretch(col, int(t)) == _stretch_by_walking(col, int(t))
