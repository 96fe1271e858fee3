"""Computing scores and the universe at the rebalance closes only gives the same targets as
computing them at every bar, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data import MarketPanel
from xsmom.strategy import compute_targets
from xsmom.strategy.at_rows import liquidity_at, return_volatility_at
from xsmom.strategy.exits import (
    EV_BAR,
    EV_PRICE,
    EV_REASON,
    TIME_EXIT,
    apply_exits,
    apply_exits_rows,
    events_from_dense,
)
from xsmom.strategy.rolling import (
    average_true_range,
    lag_diff,
    rolling_mean,
    rolling_std,
    true_range,
    valid_count,
)
from xsmom.strategy.signals import log_prices
from xsmom.strategy.weights import hold_between_rebalances, rebalance_rows

VARIANTS = [
    {},
    {"signal": {"lookbacks": [6, 200], "vol_lookback": 24, "power": 2.0}},
    {"portfolio": {"rebalance_every": 1}},
    {"portfolio": {"rebalance_every": 7, "market_neutral": False}},
    {"universe": {"max_symbols": 4, "liquidity_lookback": 48, "min_history": 500}},
    {"funding": {"tilt": 0.5}},
    {"selection": {"mode": "all", "exit_band": 0}},
    {"regime": {"mode": "tsmom"}},
]


@pytest.mark.parametrize("variant", VARIANTS, ids=str)
def test_targets_at_rows_equal_targets_at_every_bar(
    sample_panel: MarketPanel, variant: dict[str, object]
) -> None:
    panel = sample_panel.slice(0, 3000)
    cfg = config_from_dict({"strategy": variant}).strategy
    fast = compute_targets(panel, cfg)
    full = compute_targets(panel, cfg, every_bar=True)
    for name in ("weights", "exit_events", "stop_price", "regime", "score", "eligible", "sides"):
        np.testing.assert_array_equal(getattr(fast, name), getattr(full, name), err_msg=name)


def test_row_statistics_equal_the_full_ones_with_gaps(sample_panel: MarketPanel) -> None:
    panel = sample_panel.slice(0, 2000)
    close = panel.close.copy()
    close[100:130, 2] = np.nan  # a gap
    close[:400, 5] = np.nan  # a late listing
    rows = rebalance_rows(panel.timestamps, panel.bar_ms, 5)
    logp = log_prices(close)
    np.testing.assert_array_equal(
        return_volatility_at(logp, rows, 48, 24), rolling_std(lag_diff(logp, 1), 48, 24)[rows]
    )
    mean, count = liquidity_at(close, panel.volume, rows, 72, 1)
    np.testing.assert_array_equal(mean, rolling_mean(close * panel.volume, 72, 1)[rows])
    np.testing.assert_array_equal(count, valid_count(close)[rows])


def test_fused_atr_and_exits_on_rows_equal_the_stepwise_ones(sample_panel: MarketPanel) -> None:
    p = sample_panel.slice(0, 2000)
    high, low, close = p.high.copy(), p.low.copy(), p.close.copy()
    for a in (high, low, close):
        a[300:320, 1] = np.nan
    atr = average_true_range(high, low, close, 24)
    np.testing.assert_allclose(
        atr, rolling_mean(true_range(high, low, close), 24, 24), rtol=1e-12, atol=0
    )
    assert np.isnan(atr[:23]).all() and np.isnan(atr[300:343, 1]).all()
    rows = rebalance_rows(p.timestamps, p.bar_ms, 24)
    rng = np.random.default_rng(3)
    w_rows = np.where(rng.random((rows.size, p.n_symbols)) < 0.3, rng.normal(0, 0.2), 0.0)
    # after_cooldown: the every-bar call has no rebalance schedule to wait for
    exits = {"atr_stop": 1.0, "max_bars_held": 30, "reenter": "after_cooldown"}
    ex = config_from_dict({"strategy": {"exits": exits}}).strategy.exits
    a = apply_exits(
        hold_between_rebalances(rows, w_rows, p.n_bars), p.open, high, low, close, atr, ex
    )
    b = apply_exits_rows(w_rows, rows, p.open, high, low, close, atr, ex)
    assert np.isfinite(a.exit_price).sum() > 10
    for name in ("weights", "exit_price", "exit_reason", "stop_price", "exit_rows", "events"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)


def test_exit_events_and_their_dense_views_agree(sample_panel: MarketPanel) -> None:
    cfg = config_from_dict({"strategy": {"exits": {"atr_stop": 1.0, "max_bars_held": 30}}})
    tg = compute_targets(sample_panel.slice(0, 3000), cfg.strategy)
    ev = tg.exit_events
    assert (np.diff(ev[:, EV_BAR]) >= 0).all()  # in bar order
    fills = np.isfinite(ev[:, EV_PRICE])
    assert fills.sum() > 10 and (ev[~fills, EV_REASON] == TIME_EXIT).sum() > 10
    np.testing.assert_array_equal(tg.exit_rows, np.isfinite(tg.exit_price).any(axis=1))
    np.testing.assert_array_equal(events_from_dense(tg.exit_price, tg.exit_reason), ev)
