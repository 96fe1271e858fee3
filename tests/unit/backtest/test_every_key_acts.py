"""Every key the backtest simulates changes its result (DESIGN: every parameter acts).

The keys the optimizer may search are shown to act, through the optimizer's own path, in
``tests/unit/optimize/test_optimize_keys_act.py``; this file covers the rest (names and
mappings) and checks that the two together cover every simulated key.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from xsmom.backtest import run_backtest
from xsmom.config import config_from_dict
from xsmom.config.optimize import searchable_keys, simulated_keys
from xsmom.data import MarketPanel
from xsmom.strategy import compute_targets

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
META_MODEL = "<meta-model>"  # replaced by the meta_model fixture's folder
# key -> (context overrides, new value)
CASES: dict[str, tuple[dict[str, Any], Any]] = {
    "strategy.universe.allow": (
        {},
        ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT"],
    ),
    "strategy.universe.deny": ({}, ["BTC/USDT:USDT"]),
    "strategy.regime.trend_symbols": (AUTO, ["XRP/USDT:USDT"]),
    "backtest.lot_sizes": ({}, {"BTC/USDT:USDT": 0.1, "ETH/USDT:USDT": 1.0}),
    # a threshold of 1 refuses every entry the model gates (from bar 3000 of the sample)
    "strategy.meta.model": ({"strategy": {"meta": {"threshold": 1.0}}}, META_MODEL),
}


# keys shown to act by their own tests (they need data with gaps)
ELSEWHERE = {"backtest.allow_funding_gaps": "tests/unit/backtest/test_backtest_funding_gaps.py"}


def _nested(key: str, value: Any, base: dict[str, Any]) -> dict[str, Any]:
    import copy

    d = copy.deepcopy(base)
    cur = d
    parts = key.split(".")
    for p in parts[:-1]:
        cur = cur.setdefault(p, {})
    cur[parts[-1]] = value
    return d


# keys that act only on data they are about: tested on a panel made for them
OWN_PANEL = ("costs.unknown_volume_bps",)


def test_every_simulated_key_has_a_case_here_or_in_the_optimizer_test() -> None:
    not_searchable = set(simulated_keys()) - set(searchable_keys())
    assert sorted(not_searchable) == sorted([*CASES, *ELSEWHERE, *OWN_PANEL])


@pytest.fixture(scope="module")
def panel(sample_panel: MarketPanel) -> MarketPanel:
    return sample_panel.slice(0, 4000)


@pytest.mark.parametrize("key", sorted(CASES))
def test_key_changes_the_backtest(key: str, panel: MarketPanel, meta_model: Path) -> None:
    context, value = CASES[key]
    value = str(meta_model) if value == META_MODEL else value
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


def test_unknown_volume_bps_changes_the_backtest_when_a_volume_is_unknown(
    panel: MarketPanel,
) -> None:
    # no volume before the window for a symbol the window's first bar trades
    start = 2000
    targets = compute_targets(panel, config_from_dict({}).strategy)
    j = int(np.flatnonzero(targets.weights[start - 1])[0])
    vol = panel.volume.copy()
    vol[:start, j] = np.nan
    holed = dataclasses.replace(panel, volume=vol)
    base = run_backtest(holed, config_from_dict({}), targets=targets, start=start)
    assert base.metrics["unknown_volume_fills"] == 1
    cfg = config_from_dict({"costs": {"unknown_volume_bps": 500.0}})
    changed = run_backtest(holed, cfg, targets=targets, start=start)
    assert base.equity[-1] != changed.equity[-1]
