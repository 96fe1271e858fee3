"""Market-neutral sizing never moves a name across zero: a name selected long is never held
short, nor the reverse; neutrality only rescales each side (issue 7, bug 2)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.config import config_from_dict
from xsmom.data import MarketPanel, ParquetStore, load_panel
from xsmom.strategy import compute_targets
from xsmom.strategy.weights import hold_between_rebalances, size_weights


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.floats(0.05, 5.0), st.sampled_from([-1, 0, 1]), st.floats(0.001, 0.1)),
        min_size=2,
        max_size=12,
    ),
    st.floats(0.5, 4.0),
    st.floats(0.05, 2.0),
    st.booleans(),
)
def test_neutral_sizing_keeps_every_side_and_balances_the_books(
    rows: list[tuple[float, int, float]], gross: float, cap: float, flip_signal: bool
) -> None:
    mag = np.array([r[0] for r in rows])
    sides = np.array([[r[1] for r in rows]], dtype=np.int8)
    vol = np.array([[r[2] for r in rows]])
    signal = (mag * (-1 if flip_signal else 1))[None, :]  # sizes use |signal|, sides decide
    w = size_weights(signal, sides, vol, np.zeros(1, np.int8), 1.0, gross, cap, True)[0]
    s = sides[0]
    assert (np.sign(w) * s >= 0).all(), "a name was moved to the other side"
    assert (w[s == 0] == 0).all()
    longs, shorts = w[w > 0].sum(), -w[w < 0].sum()
    if (s > 0).any() and (s < 0).any():
        assert (w[s != 0] != 0).all()
        assert longs == pytest.approx(min(gross / 2, cap * (s > 0).sum()), rel=1e-9)
        assert shorts == pytest.approx(min(gross / 2, cap * (s < 0).sum()), rel=1e-9)
        assert np.abs(w).max() <= cap + 1e-12
    else:
        assert (w == 0).all()  # one side empty: no neutral book


def test_hand_case_that_demeaning_used_to_flip() -> None:
    # raw sizes 3, 0.5, -1: demeaned (mean 0.833) the second long became a short
    w = size_weights(
        np.array([[3.0, 0.5, -1.0]]),
        np.array([[1, 1, -1]], np.int8),
        np.ones((1, 3)),
        np.zeros(1, np.int8),
        1.0,
        1.0,
        1.0,
        True,
    )[0]
    np.testing.assert_allclose(w, [0.5 * 3 / 3.5, 0.5 * 0.5 / 3.5, -0.5])


def _check_sides(panel: MarketPanel) -> int:
    # daily rebalancing (the default is weekly): many rebalances to check
    cfg = config_from_dict({"strategy": {"portfolio": {"rebalance_every": 24}}})
    tg = compute_targets(panel, cfg.strategy)
    assert tg.rebalance_rows.size > 100
    w_rows = tg.weights[tg.rebalance_rows]
    assert (np.sign(w_rows) * tg.sides >= 0).all()
    # held between rebalances: the sign never leaves the side chosen at the last rebalance
    held_sides = hold_between_rebalances(tg.rebalance_rows, tg.sides.astype(float), panel.n_bars)
    assert (np.sign(tg.weights) * held_sides >= 0).all()
    assert (tg.weights[held_sides == 0] == 0).all()
    return int((tg.sides != 0).sum())


def test_every_rebalance_of_the_sample_keeps_the_selected_sides(
    sample_panel: MarketPanel,
) -> None:
    assert _check_sides(sample_panel) > 1000


def test_every_rebalance_of_held_out_real_data_keeps_the_selected_sides(
    shared_store: Path,
) -> None:
    assert _check_sides(load_panel(ParquetStore(shared_store))) > 1000
