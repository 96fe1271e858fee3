"""Re-entry after an exit (``exits.reenter``) and the relative weight band (``band_mode``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from xsmom.config import Config, config_from_dict
from xsmom.config.schema import ExitConfig
from xsmom.data import MarketPanel
from xsmom.strategy import compute_targets
from xsmom.strategy.exits import EV_BAR, EV_SYM, STOP_INITIAL, TIME_EXIT, apply_exits_rows
from xsmom.strategy.weights import apply_weight_band

# one symbol, 8 bars: a long entered at the open of bar 1 (100) with a 2-ATR stop (98) that
# bar 2 (low 97) hits; every other bar stays well above it
OPEN = [100, 100, 99, 99.5, 99.5, 99.5, 99.5, 99.5]
HIGH = [101, 101, 99.5, 100, 100, 100, 100, 100]
LOW = [99, 99.5, 97, 99, 99, 99, 99, 99]
CLOSE = [100, 99.8, 99, 99.5, 99.5, 99.5, 99.5, 99.5]


def _exits(
    rows: list[int], **kw: object
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    cols = [np.array(x, dtype=float)[:, None] for x in (OPEN, HIGH, LOW, CLOSE)]
    atr = np.ones_like(cols[0])
    base = {"atr_stop": 2.0, "trail_atr": 0.0, "catastrophic_stop": 0.0, "cooldown_bars": 0}
    cfg = ExitConfig.model_validate(base | kw)
    r = np.asarray(rows, dtype=np.int64)
    w_rows = np.full((r.size, 1), 0.5)
    res = apply_exits_rows(w_rows, r, *cols, atr, cfg)
    return res.weights[:, 0], res.events


def test_default_is_no_reentry_before_the_next_rebalance() -> None:
    assert Config().strategy.exits.reenter == "next_rebalance"
    w, ev = _exits([0, 4])
    assert ev[:, EV_BAR].tolist() == [2.0] and ev[0, 3] == STOP_INITIAL
    # stopped inside bar 2: flat through bar 3, the rebalance at the close of bar 4 re-enters
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.0, 0.0, 0.5, 0.5, 0.5, 0.5])


def test_after_cooldown_reenters_after_the_cooldown_at_the_unchanged_target() -> None:
    w, _ = _exits([0, 4], reenter="after_cooldown", cooldown_bars=0)
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])
    w, _ = _exits([0, 6], reenter="after_cooldown", cooldown_bars=1)
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.0, 0.5, 0.5, 0.5, 0.5, 0.5])


def test_a_stop_in_the_rebalance_bar_lets_that_close_decide() -> None:
    # the rebalance at the close of bar 2 comes after the stop inside bar 2
    w, _ = _exits([0, 2])
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5])


def test_no_later_rebalance_stays_flat_to_the_end() -> None:
    w, _ = _exits([0])
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])


def test_a_time_exit_also_waits_for_the_next_rebalance() -> None:
    # no stop (atr_stop 0): held 2 bars (1, 2), out from the close of bar 2, back at bar 6
    w, ev = _exits([0, 6], atr_stop=0.0, max_bars_held=2)
    assert ev[0, EV_BAR] == 2 and ev[0, 3] == TIME_EXIT
    np.testing.assert_array_equal(w, [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.5, 0.5])


def test_defaults_on_the_sample_never_reenter_between_rebalances(
    sample_panel: MarketPanel,
) -> None:
    tg = compute_targets(sample_panel, Config().strategy)
    rows = tg.rebalance_rows
    ev = tg.exit_events
    assert ev.shape[0] > 20  # the default stops do fire on the sample year
    for t, j in zip(ev[:, EV_BAR].astype(int), ev[:, EV_SYM].astype(int), strict=True):
        later = rows[rows >= t]
        nxt = int(later[0]) if later.size else tg.weights.shape[0]
        assert (tg.weights[t:nxt, j] == 0).all(), (t, j)
    # the old behaviour (re-entry after 12 bars at the unchanged target) does re-enter
    old = config_from_dict({"strategy": {"exits": {"reenter": "after_cooldown"}}})
    tg_old = compute_targets(sample_panel, old.strategy)
    reentries = 0
    for t, j in zip(
        tg_old.exit_events[:, EV_BAR].astype(int),
        tg_old.exit_events[:, EV_SYM].astype(int),
        strict=True,
    ):
        later = rows[rows >= t]
        nxt = int(later[0]) if later.size else tg_old.weights.shape[0]
        reentries += int((tg_old.weights[t:nxt, j] != 0).any())
    assert reentries > 0


def test_relative_band_is_a_fraction_of_the_new_target() -> None:
    w = np.array([[0.10], [0.12], [0.14], [0.02], [-0.05]])
    # relative 0.25: 0.12 is within 0.03 of 0.10 (kept), 0.14 is 0.04 away (> 0.035: traded),
    # 0.02 is 0.12 away (> 0.005: traded), a change of side always trades
    np.testing.assert_allclose(
        apply_weight_band(w, 0.25, True)[:, 0], [0.10, 0.10, 0.14, 0.02, -0.05]
    )
    # the same number as an absolute band keeps every same-side weight
    np.testing.assert_allclose(
        apply_weight_band(w, 0.25, False)[:, 0], [0.10, 0.10, 0.10, 0.10, -0.05]
    )


def test_relative_band_is_the_default_and_scales_with_the_weight() -> None:
    sel = Config().strategy.selection
    assert (sel.band_mode, sel.weight_band) == ("relative", 0.25)
    # a 0.01 move is inside the band of a 0.2 weight but not of a 0.02 weight
    big = apply_weight_band(np.array([[0.2], [0.21]]), 0.25, True)
    small = apply_weight_band(np.array([[0.02], [0.03]]), 0.25, True)
    assert big[1, 0] == 0.2 and small[1, 0] == 0.03


def test_waiting_for_the_next_rebalance_reads_no_later_bar(sample_panel: MarketPanel) -> None:
    # cut the history inside a stretch where a stopped name waits: the targets up to the cut
    # are those of the full run (the next rebalance is a clock time, not data)
    full = compute_targets(sample_panel, Config().strategy)
    rows = full.rebalance_rows
    stops = full.exit_events[:, EV_BAR].astype(int)
    waiting = [t for t in stops if rows[rows >= t].size and rows[rows >= t][0] > t + 2]
    assert len(waiting) >= 3
    for t in waiting[:3]:
        part = compute_targets(sample_panel.slice(0, t + 2), Config().strategy)
        np.testing.assert_array_equal(part.weights, full.weights[: t + 2])
