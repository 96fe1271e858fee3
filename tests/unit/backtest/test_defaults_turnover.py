"""The built-in defaults trade under 100x equity a year on the bundled sample (issue 7).

The turnover is recomputed from the fills themselves (quantity x price), not taken from the
kernel's totals; docs/defaults.md explains the defaults.
"""

from __future__ import annotations

import numpy as np

from xsmom.backtest import kernel as k
from xsmom.backtest import run_backtest
from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel

HOURS_PER_365_DAYS = 365 * 24


def _turnover_from_fills(trade_log: np.ndarray, equity: np.ndarray) -> float:
    # notional at the reference price: a fill at ref * (1 +/- slip) costs |q| * ref * slip
    q, px, slip = trade_log[:, k.T_QTY], trade_log[:, k.T_PRICE], trade_log[:, k.T_SLIP]
    notional = float((np.abs(q) * px - np.sign(q) * slip).sum())
    years = equity.size / HOURS_PER_365_DAYS  # hourly bars
    return notional / float(np.mean(equity)) / years


def test_default_config_turns_over_less_than_100x_a_year_on_the_sample(
    sample_panel: MarketPanel,
) -> None:
    res = run_backtest(sample_panel, Config())
    mine = _turnover_from_fills(res.trade_log, res.equity)
    assert abs(res.metrics["turnover"] / mine - 1) < 1e-9
    assert 10 < mine < 100
    reasons = np.asarray(k.TRADE_REASONS)[res.trade_log[:, k.T_REASON].astype(int)]
    assert (reasons == "rebalance").sum() > (reasons != "rebalance").sum()
    # the old defaults (daily rebalance, 1-4 day lookbacks, hourly-scale stops re-entering
    # after 12 bars, absolute 0.02 band) traded several hundred times equity
    old = config_from_dict(
        {
            "strategy": {
                "universe": {"min_history": 200},
                "signal": {"lookbacks": [12, 24, 48, 96], "vol_lookback": 168},
                "selection": {"weight_band": 0.02, "band_mode": "absolute"},
                "portfolio": {"rebalance_every": 24},
                "exits": {
                    "atr_period": 24,
                    "atr_stop": 3.0,
                    "trail_atr": 4.0,
                    "reenter": "after_cooldown",
                },
            }
        }
    )
    old_res = run_backtest(sample_panel, old)
    assert _turnover_from_fills(old_res.trade_log, old_res.equity) > 300
