"""The evaluator's figures by hand, the paired bootstrap band, and the verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xsmom.config.rollout import EvaluatorConfig
from xsmom.errors import DataError
from xsmom.rollout.evaluator import (
    HOLD,
    PROMOTE,
    ROLLBACK,
    Paired,
    bands,
    block_indices,
    costs,
    drawdown,
    judge,
    sharpe,
    total_return,
)

R = np.array([0.01, -0.02, 0.03, 0.0, 0.01])
NO = np.zeros(5)


def test_figures_by_hand() -> None:
    # mean 0.006, sample std sqrt(((.004)^2+(.026)^2+(.024)^2+(.006)^2+(.004)^2)/4)
    sd = math.sqrt((0.004**2 + 0.026**2 + 0.024**2 + 0.006**2 + 0.004**2) / 4)
    assert sharpe(R, NO) == pytest.approx(0.006 / sd * math.sqrt(365))
    assert total_return(R, NO) == pytest.approx(1.01 * 0.98 * 1.03 * 1.0 * 1.01 - 1)
    # peak 1.01 after day 1, trough 1.01 * 0.98 on day 2: drawdown 2 %
    assert drawdown(R, NO) == pytest.approx(-0.02)
    assert costs(R, np.array([0.001, 0.0, 0.002, 0.0, 0.0005])) == pytest.approx(-0.0035)
    assert sharpe(np.array([0.01]), np.zeros(1)) == 0.0
    # flat days: the std floor keeps the ratio finite
    assert sharpe(np.full(4, 0.001), np.zeros(4)) == pytest.approx(0.001 / 1e-4 * math.sqrt(365))


def test_blocks_are_contiguous_runs_of_days() -> None:
    idx = block_indices(10, 3, 200, np.random.default_rng(1))
    assert idx.shape == (200, 10) and idx.min() >= 0 and idx.max() <= 9
    # inside a block, days follow each other
    assert np.all(idx[:, 1:3] - idx[:, 0:2] == 1)
    assert block_indices(3, 10, 5, np.random.default_rng(1)).tolist() == [[0, 1, 2]] * 5


def cfg(**kw: float) -> EvaluatorConfig:
    base = {"min_days": 3, "bootstrap_samples": 200, "block_days": 2}
    return EvaluatorConfig(**{**base, **kw})  # type: ignore[arg-type]


def test_live_equal_to_backtest_gives_the_backtest_figure_plus_minus_the_tolerance() -> None:
    # with identical series every resample has the same gap (0): the band is exactly the
    # backtest's figure widened by the tolerance, and the rollback floor one tolerance lower
    c = cfg()
    data = Paired(live_returns=R, bt_returns=R, live_costs=NO + 0.001, bt_costs=NO + 0.001)
    b = bands(data, c)
    assert b["sharpe"].low == pytest.approx(sharpe(R, NO) - 0.5)
    assert b["sharpe"].high == pytest.approx(sharpe(R, NO) + 0.5)
    assert b["sharpe"].floor == pytest.approx(sharpe(R, NO) - 1.0)
    assert b["total_return"].low == pytest.approx(total_return(R, NO) - 0.01)
    assert b["drawdown"].low == pytest.approx(-0.02 - 0.02)
    assert b["costs"].low == pytest.approx(-0.005 - 0.002)
    assert {x.status for x in b.values()} == {"in"}


def test_constant_extra_cost_per_day_moves_the_costs_figure_only_by_its_sum() -> None:
    # live pays 0.1 % more each day: the gap is the same on every resample of 5 days
    data = Paired(live_returns=R, bt_returns=R, live_costs=NO + 0.002, bt_costs=NO + 0.001)
    b = bands(data, cfg(cost_tolerance=0.001))
    assert b["costs"].live == pytest.approx(-0.010) and b["costs"].backtest == pytest.approx(-0.005)
    assert b["costs"].low == pytest.approx(-0.006)
    assert b["costs"].status == "far_below"  # -0.010 < floor -0.007


def test_judge_holds_until_enough_days_then_promotes_or_rolls_back() -> None:
    c = cfg()
    same = Paired(live_returns=R, bt_returns=R, live_costs=NO, bt_costs=NO)
    short = Paired(live_returns=R[:2], bt_returns=R[:2], live_costs=NO[:2], bt_costs=NO[:2])
    v = judge(short, c, fills=50, hours=500, min_fills=10, min_hours=100)
    assert (v.action, v.reasons) == (HOLD, ("2 of 3 daily returns",))
    assert judge(None, c, fills=0, hours=0, min_fills=0, min_hours=0).action == HOLD
    ok = judge(same, c, fills=50, hours=500, min_fills=10, min_hours=100)
    assert ok.action == PROMOTE
    wait = judge(same, c, fills=3, hours=20, min_fills=10, min_hours=100)
    assert wait.action == HOLD
    assert wait.reasons == ("20.0 of 100 hours at this stage", "3 of 10 fills")
    worse = Paired(live_returns=R - 0.01, bt_returns=R, live_costs=NO + 0.01, bt_costs=NO)
    bad = judge(worse, c, fills=3, hours=1, min_fills=10, min_hours=100)
    assert bad.action == ROLLBACK  # no minimum duration protects a clearly worse version
    assert any(r.startswith("total_return") and "far below" in r for r in bad.reasons)
    doc = bad.to_json()
    assert doc["figures"]["costs"]["status"] == "far_below"  # type: ignore[index]


def test_slightly_below_the_band_waits_instead_of_rolling_back() -> None:
    c = cfg(return_tolerance=0.01, rollback_threshold=1.0)
    # 1.5 % lower total return: under the low end (-1 %) but above the floor (-2 %)
    data = Paired(
        live_returns=np.array([0.0, 0.0, -0.015]),
        bt_returns=np.zeros(3),
        live_costs=np.zeros(3),
        bt_costs=np.zeros(3),
    )
    b = bands(data, c)["total_return"]
    assert b.status == "below"
    v = judge(
        data,
        c.model_copy(update={"sharpe_tolerance": 1e9, "drawdown_tolerance": 1}),
        fills=9,
        hours=9,
        min_fills=0,
        min_hours=0,
    )
    assert v.action == HOLD and v.reasons[0].startswith("total_return -0.015 below its band")


def test_bands_are_reproducible_and_refuse_bad_input() -> None:
    rng = np.random.default_rng(7)
    live, bt = rng.normal(0, 0.01, 30), rng.normal(0, 0.01, 30)
    data = Paired(live_returns=live, bt_returns=bt, live_costs=np.zeros(30), bt_costs=np.zeros(30))
    assert bands(data, cfg(seed=3)) == bands(data, cfg(seed=3))
    with pytest.raises(DataError, match="differ in length"):
        Paired(live_returns=live, bt_returns=bt[:5], live_costs=live, bt_costs=live)
    with pytest.raises(DataError, match="missing or infinite"):
        Paired(live_returns=live * np.nan, bt_returns=bt, live_costs=live, bt_costs=live)
