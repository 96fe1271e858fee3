"""The impact reference volume: the last closed bar with volume before the fill, also from
before the window; a configured, counted fallback when none is known (issue 7, bug 1)."""

from __future__ import annotations

import numpy as np
import pytest
from golden_helpers import cost_config, make_panel, make_targets

from xsmom.backtest import run_backtest
from xsmom.backtest.engine import prior_quote_volume
from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.errors import ConfigError, DataError

E0 = 10_000.0


def _impact(**extra: object) -> Config:
    cfg = cost_config(slippage_bps=10.0, impact_coef=0.5)
    return cfg.model_copy(update={"costs": cfg.costs.model_copy(update=extra)})


def test_first_bar_of_a_later_window_uses_the_bar_before_the_window() -> None:
    p = make_panel(open_=[100] * 4, close=[100] * 4, volume=[1000, 2000, 4000, 4000])
    res = run_backtest(p, _impact(), targets=make_targets(p, [0.5] * 4), start=2)
    # filled at bar 2's open: 5000 notional vs bar 1's quote volume 100*2000 -> 0.025
    slip = 0.001 + 0.5 * 5000 / 200_000
    fee = 50 * 100 * (1 + slip) * 0.001
    assert res.metrics["slippage"] == pytest.approx(5000 * slip)
    assert res.equity[0] == pytest.approx(E0 - 5000 * slip - fee)
    assert res.metrics["unknown_volume_fills"] == 0.0


def test_a_gap_before_the_fill_falls_back_to_the_last_bar_with_volume() -> None:
    p = make_panel(
        open_=[100, np.nan, 100, 100],
        close=[100, np.nan, 100, 100],
        volume=[1000, np.nan, 0.0, 500],
    )
    res = run_backtest(p, _impact(), targets=make_targets(p, [0.0, 0.0, 0.5, 0.5]))
    # fill at bar 3's open; bar 2 traded nothing, bar 1 is missing -> bar 0: 100 * 1000
    assert res.metrics["slippage"] == pytest.approx(5000 * (0.001 + 0.5 * 0.05))
    assert prior_quote_volume(p, 3)[0] == pytest.approx(100_000.0)


def test_no_volume_known_charges_the_configured_impact_and_counts_it() -> None:
    p = make_panel(open_=[100] * 3, close=[100] * 3, volume=[np.nan, 1000, 1000])
    res = run_backtest(p, _impact(unknown_volume_bps=25.0), targets=make_targets(p, [0.5] * 3))
    slip = 0.001 + 25e-4  # never the full impact_coef (0.5 = 5,000 bps)
    assert res.metrics["slippage"] == pytest.approx(5000 * slip)
    assert res.metrics["unknown_volume_fills"] == 1.0


def test_no_volume_known_is_refused_when_no_fallback_is_configured() -> None:
    p = make_panel(open_=[100] * 3, close=[100] * 3, volume=[np.nan, 1000, 1000])
    with pytest.raises(DataError, match=r"S0/USDT:USDT.*costs.unknown_volume_bps"):
        run_backtest(p, _impact(unknown_volume_bps=None), targets=make_targets(p, [0.5] * 3))


def test_unknown_volume_setting_is_a_valid_key() -> None:
    assert (
        config_from_dict({"costs": {"unknown_volume_bps": None}}).costs.unknown_volume_bps is None
    )
    with pytest.raises(ConfigError, match=r"costs\.unknown_volume_bps"):
        config_from_dict({"costs": {"unknown_volume_bps": -1.0}})


def _first_bar_by_hand(panel: MarketPanel, cfg: Config, start: int) -> float:
    """Equity at the close of bar ``start``: the fills of the targets decided at the close of
    ``start - 1``, at the open, with fees and slippage (impact on bar ``start - 1``'s volume)."""
    from xsmom.strategy import compute_targets

    w = compute_targets(panel, cfg.strategy).weights[start - 1]
    o, c = panel.open[start], panel.close[start]
    qty = w * E0 / o
    notional = np.abs(qty) * o
    ref = panel.close[start - 1] * panel.volume[start - 1]
    slip = cfg.costs.slippage_bps * 1e-4 + cfg.costs.impact_coef * np.minimum(notional / ref, 1)
    fees = notional * (1 + np.sign(qty) * slip) * cfg.costs.taker_fee_bps * 1e-4  # at the fill
    return float(E0 + (qty * (c - o)).sum() - (notional * slip).sum() - fees.sum())


def test_sample_backtest_from_a_later_start_pays_ordinary_costs_on_its_first_bar(
    sample_panel: MarketPanel,
) -> None:
    cfg = Config()
    start = int(np.searchsorted(sample_panel.timestamps, 1_748_736_000_000))  # 2025-06-01
    res = run_backtest(sample_panel, cfg, start=start)
    assert res.equity[0] == pytest.approx(_first_bar_by_hand(sample_panel, cfg, start), rel=1e-12)
    assert res.equity[0] > 9_980.0  # was 8,991.6: the whole impact_coef on every first fill
    assert res.metrics["unknown_volume_fills"] == 0.0
