"""Live and backtest gate the same entries on the same bars.

Live appends closed bars to its store and calls compute_targets on it each cycle; here the
bundled sample store is read up to each bar's close, one bar at a time, across several
rebalances where the model refuses or takes entries, and each cycle's last target row is
compared with the full backtest's gated weights at that bar.
"""

from __future__ import annotations

import numpy as np

from xsmom.backtest import run_backtest
from xsmom.config import Config
from xsmom.data import MarketPanel, load_panel
from xsmom.data.bundled import sample_store
from xsmom.strategy import compute_targets


def test_live_cycle_targets_equal_the_backtest_gated_weights(
    sample_panel: MarketPanel, meta_gated_cfg: Config
) -> None:
    cfg = meta_gated_cfg
    store = sample_store()
    full = sample_panel.slice(0, 3800)
    bt = run_backtest(full, cfg)
    plain = compute_targets(full, Config().strategy).weights
    # three days around the first bar where the gate changed the book (the model gates
    # entries from bar 3000 of the sample on)
    first = int(np.flatnonzero(np.any(bt.weights != plain, axis=1))[0])
    assert first >= 3000
    lo, hi = first - 30, first + 42
    differs = 0
    for t in range(lo, hi):
        end_ms = int(full.timestamps[t]) + full.bar_ms  # the store holds bars closed by now
        live = compute_targets(load_panel(store, "1h", end_ms=end_ms), cfg.strategy)
        assert live.weights.shape[0] == t + 1
        np.testing.assert_array_equal(live.weights[-1], bt.weights[t], err_msg=f"bar {t}")
        differs += int(np.any(live.weights[-1] != plain[t]))
    assert differs > 0, "the gate changed nothing in the compared bars"
