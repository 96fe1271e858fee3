"""The backtest and the optimizer reach the gate through compute_targets (live: see
tests/integration/test_meta_live_path.py)."""

from __future__ import annotations

import numpy as np

from xsmom.backtest import run_backtest
from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.optimize.evaluate import Evaluator
from xsmom.optimize.plan import plan_from_config
from xsmom.strategy import compute_targets


def test_backtest_and_optimizer_use_the_same_gated_targets(
    sample_panel: MarketPanel, meta_gated_cfg: Config
) -> None:
    panel = sample_panel.slice(0, 4000)
    cfg = config_from_dict(
        {
            "strategy": {"meta": meta_gated_cfg.strategy.meta.model_dump()},
            "optimize": {"folds": {"n_folds": 2, "train": "60d", "test": "20d"}},
        }
    )
    gated = compute_targets(panel, cfg.strategy).weights
    plain = compute_targets(panel, Config().strategy).weights
    assert np.any(gated != plain)
    ev = Evaluator(panel, cfg, plan_from_config(cfg, panel))
    np.testing.assert_array_equal(ev.targets(cfg).weights, gated)
    np.testing.assert_array_equal(ev.targets(cfg).weights, gated)  # again, through its cache
    np.testing.assert_array_equal(run_backtest(panel, cfg).weights, gated)
