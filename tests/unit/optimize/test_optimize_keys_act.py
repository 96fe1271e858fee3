"""Every searchable key changes the backtest, and no other key can be searched.

The optimizer may only search keys the backtest simulates (``strategy.*``, ``costs.*``,
``backtest.*`` with scalar or numeric-tuple values). For each of them this test changes the
value (in a context where the rule is active, e.g. regime thresholds in ``auto`` mode) and
checks that the per-bar returns of a backtest on the bundled sample change.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xsmom.backtest import run_backtest
from xsmom.config import Config
from xsmom.config.optimize import ParamSpec, check_searchable, searchable_keys
from xsmom.data import MarketPanel
from xsmom.optimize.space import apply_params

AUTO = {
    "strategy.regime.mode": "auto",
    "strategy.regime.corr_threshold": -1.0,
    "strategy.regime.dispersion_threshold": 100.0,
    "strategy.regime.trend_threshold": 0.0,
}
LEVERED = {"strategy.portfolio.gross_leverage": 5.0, "strategy.portfolio.max_weight": 2.0}
STOPS = {"strategy.exits.atr_stop": 1.0}
META_MODEL = "<meta-model>"  # replaced by the meta_model fixture's folder (gates from bar 2000)
META = {"strategy.meta.model": META_MODEL, "strategy.meta.threshold": 0.0}

# key -> (context overrides, new value); None = computed from the data below.
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "strategy.universe.max_symbols": ({}, 4),
    "strategy.universe.liquidity_lookback": ({"strategy.universe.max_symbols": 4}, 24),
    "strategy.universe.min_quote_volume": ({}, None),
    "strategy.universe.min_price": ({}, None),
    "strategy.universe.min_history": ({}, 2000),
    "strategy.signal.lookbacks": ({}, (6, 36)),
    "strategy.signal.lookback_weights": ({}, (4.0, 1.0, 1.0, 1.0)),
    "strategy.signal.vol_lookback": ({}, 24),
    "strategy.signal.zscore_clip": ({}, 0.5),
    "strategy.signal.power": ({}, 2.0),
    "strategy.regime.mode": ({}, "tsmom"),
    "strategy.regime.corr_lookback": ({**AUTO, "strategy.regime.corr_threshold": 0.3}, 720),
    "strategy.regime.corr_threshold": (AUTO, 0.8),
    "strategy.regime.dispersion_lookback": (
        {**AUTO, "strategy.regime.dispersion_threshold": 1.0},
        48,
    ),
    "strategy.regime.dispersion_threshold": (AUTO, 0.9),
    "strategy.regime.trend_lookback": ({**AUTO, "strategy.regime.trend_threshold": 1.0}, 24),
    "strategy.regime.trend_threshold": (AUTO, 1.5),
    "strategy.funding.tilt": ({}, 1.0),
    "strategy.funding.lookback": ({"strategy.funding.tilt": 1.0}, 8),
    "strategy.selection.mode": ({}, "all"),
    "strategy.selection.k": ({}, 2),
    "strategy.selection.k_mode": ({}, "dispersion"),
    "strategy.selection.k_min": ({"strategy.selection.k_mode": "dispersion"}, 4),
    "strategy.selection.k_max": ({"strategy.selection.k_mode": "dispersion"}, 2),
    "strategy.selection.exit_band": ({}, 0),
    "strategy.selection.weight_band": ({}, 0.2),
    "strategy.selection.band_mode": ({}, "absolute"),
    "strategy.portfolio.gross_leverage": ({}, 2.0),
    "strategy.portfolio.max_weight": ({}, 0.1),
    "strategy.portfolio.market_neutral": ({}, False),
    "strategy.portfolio.rebalance_every": ({}, 1),
    "strategy.exits.atr_period": ({}, 6),
    "strategy.exits.atr_stop": ({}, 1.0),
    "strategy.exits.trail_atr": ({}, 1.0),
    "strategy.exits.breakeven_r": (STOPS, 0.5),
    "strategy.exits.catastrophic_stop": ({}, 0.02),
    "strategy.exits.max_bars_held": ({}, 12),
    "strategy.exits.reenter": (STOPS, "after_cooldown"),
    "strategy.exits.cooldown_bars": ({**STOPS, "strategy.exits.reenter": "after_cooldown"}, 0),
    "costs.taker_fee_bps": ({}, 20.0),
    "costs.maker_fee_bps": ({"costs.order_type": "limit"}, -1.0),
    "costs.order_type": ({}, "limit"),
    "costs.slippage_bps": ({}, 20.0),
    "costs.impact_coef": ({}, 5.0),
    "backtest.initial_equity": ({}, 1e8),
    "backtest.max_leverage": ({}, 0.5),
    "backtest.maintenance_margin": (LEVERED, 0.19),
    "backtest.liquidation_fee": ({**LEVERED, "backtest.maintenance_margin": 0.19}, 0.2),
    "backtest.min_notional": ({}, 2000.0),
    "backtest.funding": ({}, False),
    "strategy.meta.mode": (META, "scale"),
    "strategy.meta.threshold": (META, 1.0),
}


def test_every_searchable_key_has_a_case_and_nothing_else_is_searchable() -> None:
    assert sorted(searchable_keys()) == sorted(CASES)
    for key in (
        "data.timeframe",
        "name",
        "optimize.trials",
        "strategy.universe.deny",
        "backtest.lot_sizes",
        "strategy.regime.trend_symbols",
        "strategy.nope",
    ):
        with pytest.raises(ValueError):
            check_searchable(key, ParamSpec(type="categorical", choices=(1,)))


@pytest.fixture(scope="module")
def panel(sample_panel: MarketPanel) -> MarketPanel:
    return sample_panel.slice(sample_panel.n_bars - 4000, sample_panel.n_bars)


def _value(key: str, new: Any, panel: MarketPanel) -> Any:
    if new is not None:
        return new
    if key.endswith("min_quote_volume"):
        return float(np.nanmedian(panel.close * panel.volume))
    return float(np.nanmedian(panel.close))


@pytest.mark.parametrize("key", sorted(CASES))
def test_searchable_key_changes_the_backtest(
    key: str, panel: MarketPanel, meta_model: Path
) -> None:
    context, new = CASES[key]
    context = {k: str(meta_model) if v == META_MODEL else v for k, v in context.items()}
    base = apply_params(Config(), context)
    changed = apply_params(base, {key: _value(key, new, panel)})
    a = run_backtest(panel, base).returns
    b = run_backtest(panel, changed).returns
    assert not np.allclose(a, b, rtol=0, atol=1e-12), f"{key} did not change the backtest"
