"""Sizing: water-filling caps, neutrality, gross, signed power, inverse volatility."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.strategy.weights import (
    apply_weight_band,
    hold_between_rebalances,
    rebalance_rows,
    size_weights,
    water_fill,
)


def test_water_fill_caps_and_redistributes() -> None:
    out = water_fill(np.array([10.0, 1.0, 1.0]), 1.0, 0.4)
    # 10 would take ~83%: capped at 0.4, the remaining 0.6 split equally
    np.testing.assert_allclose(out, [0.4, 0.3, 0.3])


def test_water_fill_cannot_reach_total_stays_at_cap() -> None:
    np.testing.assert_allclose(water_fill(np.array([1.0, 2.0]), 1.0, 0.3), [0.3, 0.3])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0.01, 100.0), min_size=2, max_size=12),
    st.floats(0.5, 3.0),
    st.floats(0.05, 1.0),
)
def test_water_fill_properties(a: list[float], total: float, cap: float) -> None:
    out = water_fill(np.array(a), total, cap)
    assert (out <= cap + 1e-12).all()
    assert abs(out.sum() - min(total, cap * len(a))) < 1e-9


def _one_bar(signal: list[float], vol: list[float], regime: int = 0, **kw: float) -> np.ndarray:
    s = np.array([signal])
    sides = np.sign(s).astype(np.int8)
    args = {"power": 1.0, "gross": 1.0, "cap": 1.0, "neutral": True} | kw
    return size_weights(
        s,
        sides,
        np.array([vol]),
        np.array([regime], dtype=np.int8),
        args["power"],
        args["gross"],
        args["cap"],
        bool(args["neutral"]),
    )[0]


def test_neutral_book_sums_to_zero_and_hits_gross() -> None:
    w = _one_bar([2.0, 1.0, -1.0, -0.5], [0.01, 0.02, 0.01, 0.01], gross=2.0)
    assert abs(w.sum()) < 1e-12
    assert abs(np.abs(w).sum() - 2.0) < 1e-12


def test_inverse_vol_scaling() -> None:
    # equal signals, the lower-vol name gets twice the weight (non-neutral)
    w = _one_bar([1.0, 1.0], [0.01, 0.02], regime=1)
    np.testing.assert_allclose(w, [2 / 3, 1 / 3])


def test_signed_power() -> None:
    w = _one_bar([2.0, 1.0], [0.01, 0.01], regime=1, power=2.0)
    np.testing.assert_allclose(w, [0.8, 0.2])


def test_cap_holds_after_gross_scaling_and_keeps_neutrality() -> None:
    w = _one_bar([3.0, 0.2, 0.1, -3.0, -0.2, -0.1], [0.01] * 6, gross=2.0, cap=0.4)
    assert np.abs(w).max() <= 0.4 + 1e-12
    assert abs(w.sum()) < 1e-12
    assert abs(np.abs(w).sum() - 2.0) < 1e-9


def test_weight_band_keeps_small_changes_only_on_same_side() -> None:
    w = np.array([[0.30], [0.31], [0.20], [-0.21]])
    out = apply_weight_band(w, 0.05)
    np.testing.assert_allclose(out[:, 0], [0.30, 0.30, 0.20, -0.21])


def test_rebalance_rows_are_clock_aligned_and_held() -> None:
    hour = 3_600_000
    ts = np.arange(20, 30, dtype=np.int64) * hour  # bars opening 20:00 .. 05:00
    rows = rebalance_rows(ts, hour, 24)
    np.testing.assert_array_equal(rows, [3])  # the bar opening 23:00 closes at 00:00
    out = hold_between_rebalances(rows, np.array([[7.0]]), ts.size)
    np.testing.assert_allclose(out[:, 0], [0, 0, 0, 7, 7, 7, 7, 7, 7, 7])
    assert rebalance_rows(ts, hour, 1).tolist() == list(range(10))
    # cutting the history does not move the schedule
    np.testing.assert_array_equal(rebalance_rows(ts[2:], hour, 24), [1])
