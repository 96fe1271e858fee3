"""Accounting invariant and no-lookahead, on random books and on the real sample."""

from __future__ import annotations

import numpy as np
import pytest
from golden_helpers import cost_config, make_panel, make_targets
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.backtest import run_backtest
from xsmom.config import Config
from xsmom.data import MarketPanel
from xsmom.strategy import compute_targets


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    n=st.integers(3, 60),
    m=st.integers(1, 5),
    fee=st.floats(0.0, 20.0),
    slip=st.floats(0.0, 20.0),
    impact=st.floats(0.0, 1.0),
)
def test_final_equity_is_initial_plus_components(
    seed: int, n: int, m: int, fee: float, slip: float, impact: float
) -> None:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, (n, m)), axis=0))
    open_ = close * np.exp(rng.normal(0, 0.005, (n, m)))
    high = np.maximum(open_, close) * 1.01
    low = np.minimum(open_, close) * 0.99
    funding = np.where(rng.random((n, m)) < 0.2, rng.normal(0, 0.001, (n, m)), 0.0)
    w = rng.normal(0, 0.4, (n, m)) * (rng.random((n, m)) < 0.7)
    ex = np.where(rng.random((n, m)) < 0.05, low, np.nan)
    p = make_panel(
        open_.tolist(),
        high.tolist(),
        low.tolist(),
        close.tolist(),
        (rng.random((n, m)) * 1e4).tolist(),
        funding.tolist(),
    )
    cfg = cost_config(taker_fee_bps=fee, slippage_bps=slip, impact_coef=impact)
    res = run_backtest(p, cfg, targets=make_targets(p, w.tolist(), ex.tolist()))
    a = res.attribution
    expected = (
        10_000 + a["price"].sum() - a["fees"].sum() - a["slippage"].sum() - a["funding"].sum()
    )
    assert res.equity[-1] == pytest.approx(expected, rel=1e-9)
    assert a["total"].sum() == pytest.approx(res.equity[-1] - 10_000, rel=1e-9, abs=1e-6)


def test_truncating_history_changes_nothing_before(sample_panel: MarketPanel) -> None:
    cfg = Config()
    full = compute_targets(sample_panel, cfg.strategy)
    cut = 5000
    part = compute_targets(sample_panel.slice(0, cut), cfg.strategy)
    np.testing.assert_array_equal(part.weights, full.weights[:cut])
    np.testing.assert_array_equal(part.exit_price, full.exit_price[:cut])
    bt_full = run_backtest(sample_panel, cfg, targets=full)
    bt_part = run_backtest(sample_panel.slice(0, cut), cfg, targets=part)
    np.testing.assert_allclose(bt_part.equity[: cut - 1], bt_full.equity[: cut - 1], rtol=1e-12)


def test_spike_at_t_changes_nothing_before_t(sample_panel: MarketPanel) -> None:
    cfg = Config()
    t = 6000
    spiked = {k: getattr(sample_panel, k).copy() for k in ("open", "high", "low", "close")}
    for k in spiked:
        spiked[k][t:, 0] *= 5.0  # a permanent 5x jump from bar t on
    from dataclasses import replace

    panel2 = replace(sample_panel, **spiked)
    a = compute_targets(sample_panel, cfg.strategy)
    b = compute_targets(panel2, cfg.strategy)
    np.testing.assert_array_equal(a.weights[:t], b.weights[:t])
    assert not np.array_equal(a.weights[t:], b.weights[t:])  # the spike does act afterwards
