"""The default search space holds the turnover keys; the default objective is penalized."""

from __future__ import annotations

import pytest

from xsmom.config import Config
from xsmom.optimize.objectives import objective_value

TURNOVER_KEYS = (
    "strategy.portfolio.rebalance_every",
    "strategy.selection.weight_band",
    "strategy.exits.atr_stop",
    "strategy.exits.trail_atr",
)


def test_default_space_searches_the_turnover_keys_around_the_defaults() -> None:
    opt = Config().optimize
    assert set(TURNOVER_KEYS) <= set(opt.space)
    assert 168 in opt.space["strategy.portfolio.rebalance_every"].choices
    assert (168, 336, 504, 672) in opt.space["strategy.signal.lookbacks"].choices
    for key in ("strategy.selection.weight_band", "strategy.exits.atr_stop"):
        spec = opt.space[key]
        assert spec.low is not None and spec.high is not None and spec.low == 0.0


def test_default_objective_is_penalized_by_turnover_and_drawdown() -> None:
    opt = Config().optimize
    assert opt.objectives == ("penalized",)
    m = {"sharpe": 1.0, "turnover": 600.0, "max_drawdown": 0.3}
    # 1.0 - 0.002 * 600 - 1.0 * 0.3: the old defaults' turnover costs 1.2 of Sharpe
    assert objective_value(opt.objectives[0], m, opt.penalty) == pytest.approx(-0.5, abs=1e-12)
    m["turnover"] = 50.0
    assert objective_value(opt.objectives[0], m, opt.penalty) == pytest.approx(0.6, abs=1e-12)
