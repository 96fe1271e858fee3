"""Every key the backtest simulates changes its result (DESIGN: every parameter acts)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from xsmom.backtest import run_backtest
from xsmom.config import Config, config_from_dict
from xsmom.config.keys import leaf_keys
from xsmom.data import MarketPanel

AUTO = {
    "strategy": {
        "regime": {
            "mode": "auto",
            "corr_threshold": 0.6,
            "trend_threshold": 0.5,
            "dispersion_threshold": 1.2,
        }
    }
}
DISP = {"strategy": {"selection": {"k_mode": "dispersion", "k": 3, "k_min": 2, "k_max": 5}}}
LIQ = {
    "strategy": {
        "portfolio": {"gross_leverage": 20.0, "max_weight": 5.0, "market_neutral": False},
        "regime": {"mode": "tsmom"},
    },
    "backtest": {"max_leverage": 20.0, "maintenance_margin": 0.04},
}
# key -> (context overrides, new value)
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "strategy.universe.max_symbols": ({}, 6),
    "strategy.universe.liquidity_lookback": ({"strategy": {"universe": {"max_symbols": 6}}}, 24),
    "strategy.universe.min_quote_volume": ({}, 3e6),
    "strategy.universe.min_price": ({}, 1.0),
    "strategy.universe.min_history": ({}, 2000),
    "strategy.universe.allow": (
        {},
        ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT"],
    ),
    "strategy.universe.deny": ({}, ["BTC/USDT:USDT"]),
    "strategy.signal.lookbacks": ({}, [24, 168]),
    "strategy.signal.lookback_weights": ({}, [4.0, 1.0, 1.0, 1.0]),
    "strategy.signal.vol_lookback": ({}, 48),
    "strategy.signal.zscore_clip": ({}, 0.5),
    "strategy.signal.power": ({}, 2.0),
    "strategy.regime.mode": ({}, "tsmom"),
    "strategy.regime.corr_lookback": (AUTO, 48),
    "strategy.regime.corr_threshold": (AUTO, 0.8),
    "strategy.regime.dispersion_lookback": (AUTO, 100),
    "strategy.regime.dispersion_threshold": (AUTO, 0.8),
    "strategy.regime.trend_lookback": (AUTO, 48),
    "strategy.regime.trend_threshold": (AUTO, 2.0),
    "strategy.regime.trend_symbols": (AUTO, ["XRP/USDT:USDT"]),
    "strategy.funding.tilt": ({}, 1.0),
    "strategy.funding.lookback": ({"strategy": {"funding": {"tilt": 1.0}}}, 8),
    "strategy.selection.mode": ({}, "all"),
    "strategy.selection.k": ({}, 2),
    "strategy.selection.k_mode": ({}, "dispersion"),
    "strategy.selection.k_min": (DISP, 4),
    "strategy.selection.k_max": (DISP, 3),
    "strategy.selection.exit_band": ({}, 4),
    "strategy.selection.weight_band": ({}, 0.1),
    "strategy.portfolio.gross_leverage": ({}, 2.0),
    "strategy.portfolio.max_weight": ({}, 0.1),
    "strategy.portfolio.market_neutral": ({}, False),
    "strategy.portfolio.rebalance_every": ({}, 8),
    "strategy.exits.atr_period": ({}, 72),
    "strategy.exits.atr_stop": ({}, 1.0),
    "strategy.exits.trail_atr": ({}, 1.5),
    "strategy.exits.breakeven_r": ({}, 0.5),
    "strategy.exits.catastrophic_stop": (
        {"strategy": {"exits": {"atr_stop": 0, "trail_atr": 0}}},
        0.03,
    ),
    "strategy.exits.max_bars_held": ({}, 12),
    "strategy.exits.cooldown_bars": ({}, 0),
    "costs.taker_fee_bps": ({}, 10.0),
    "costs.maker_fee_bps": ({"costs": {"order_type": "limit"}}, 0.0),
    "costs.order_type": ({}, "limit"),
    "costs.slippage_bps": ({}, 10.0),
    "costs.impact_coef": ({}, 5.0),
    "backtest.initial_equity": ({}, 1_000_000.0),
    "backtest.max_leverage": ({}, 0.5),
    "backtest.maintenance_margin": (LIQ, 0.01),
    "backtest.liquidation_fee": (LIQ, 0.1),
    "backtest.min_notional": ({}, 500.0),
    "backtest.lot_sizes": ({}, {"BTC/USDT:USDT": 0.1, "ETH/USDT:USDT": 1.0}),
    "backtest.funding": ({}, False),
}


def _nested(key: str, value: Any, base: dict[str, Any]) -> dict[str, Any]:
    import copy

    d = copy.deepcopy(base)
    cur = d
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return d


def test_every_simulated_key_has_a_case() -> None:
    simulated = [
        k for k in leaf_keys(Config) if k.split(".")[0] in ("strategy", "costs", "backtest")
    ]
    assert sorted(simulated) == sorted(CASES)


@pytest.fixture(scope="module")
def panel(sample_panel: MarketPanel) -> MarketPanel:
    return sample_panel.slice(0, 4000)


@pytest.mark.parametrize("key", sorted(CASES))
def test_key_changes_the_backtest(key: str, panel: MarketPanel) -> None:
    context, value = CASES[key]
    base = run_backtest(panel, config_from_dict(context))
    changed = run_backtest(panel, config_from_dict(_nested(key, value, context)))
    same_w = np.array_equal(base.weights, changed.weights)
    same_eq = np.allclose(
        base.equity / base.initial_equity,
        changed.equity / changed.initial_equity,
        rtol=1e-12,
        atol=0,
    )
    assert not (same_w and same_eq), f"{key}={value!r} changed nothing"
