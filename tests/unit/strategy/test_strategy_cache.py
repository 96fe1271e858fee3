"""The stage cache changes no result, and refuses another panel."""

from __future__ import annotations

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data import MarketPanel
from xsmom.errors import StrategyError
from xsmom.strategy import StageCache, compute_targets

VARIANTS = [
    {},
    {"signal": {"lookbacks": [24, 96]}},
    {"selection": {"k": 2, "k_mode": "dispersion"}},
    {"regime": {"mode": "auto", "corr_threshold": 0.5}},
    {"funding": {"tilt": 0.5}},
    {"exits": {"atr_period": 48}},
    {},
]


def test_cached_results_equal_uncached(sample_panel: MarketPanel) -> None:
    panel = sample_panel.slice(0, 3000)
    cache = StageCache(panel)
    for v in VARIANTS:
        cfg = config_from_dict({"strategy": v}).strategy
        a = compute_targets(panel, cfg, cache=cache)
        b = compute_targets(panel, cfg)
        np.testing.assert_array_equal(a.weights, b.weights)
        np.testing.assert_array_equal(a.exit_price, b.exit_price)
        # cached: the ATR array is kept and given to the exits; uncached: computed inside them
        np.testing.assert_array_equal(a.exit_events, b.exit_events)
        np.testing.assert_array_equal(a.stop_levels, b.stop_levels)
        np.testing.assert_array_equal(a.regime, b.regime)
    assert cache.hits > 0


def test_cache_is_bound_to_its_panel(sample_panel: MarketPanel) -> None:
    cache = StageCache(sample_panel.slice(0, 100))
    with pytest.raises(StrategyError):
        compute_targets(sample_panel, config_from_dict({}).strategy, cache=cache)
