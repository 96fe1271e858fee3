"""Events of a book and the gate's decisions, on hand-built books and probabilities."""

from __future__ import annotations

from typing import Any

import numpy as np

from xsmom.meta.events import entry_events, increase_base
from xsmom.meta.gate import apply_gate

W = np.array(
    [
        [0.2, 0.0, -0.1],  # row 0: two entries
        [0.3, 0.1, -0.05],  # row 1: increase, entry, reduction
        [0.3, -0.2, 0.0],  # row 2: hold, flip, exit
    ]
)


class _Book:
    def __init__(self, w: Any) -> None:
        self.weights = w
        self.rows = np.array([10, 34, 58], dtype=np.int64)


def test_entries_increases_and_flips_are_events() -> None:
    ev = entry_events(_Book(W))  # type: ignore[arg-type]
    got = list(
        zip(
            ev.bar.tolist(),
            ev.col.tolist(),
            ev.side.tolist(),
            np.round(ev.delta, 6).tolist(),
            strict=True,
        )
    )
    assert got == [
        (10, 0, 1.0, 0.2),
        (10, 2, -1.0, 0.1),
        (34, 0, 1.0, 0.1),
        (34, 1, 1.0, 0.1),
        (58, 1, -1.0, 0.2),
    ]


def test_increase_base_keeps_the_same_side_only() -> None:
    ev, base = increase_base(np.array([0.2, 0.2, 0.2, 0.0]), np.array([0.3, 0.1, -0.1, 0.0]))
    assert ev.tolist() == [True, False, True, False]
    assert base.tolist() == [0.2, 0.2, 0.0, 0.0]


def test_drop_keeps_the_old_weight_and_asks_again() -> None:
    prob = np.array([[0.9, np.nan, 0.2], [0.3, 0.8, 0.2], [0.7, 0.1, np.nan]])
    thr = np.full_like(prob, 0.5)
    g = apply_gate(W, prob, thr, "drop")
    # row 0: col 0 taken, col 2 refused (stays 0)
    # row 1: col 0 increase refused -> keeps 0.2; col 1 taken; col 2 is an entry again
    #        (gated book is 0) and refused
    # row 2: col 0 0.3 vs held 0.2 is an increase, p 0.7 -> taken; col 1 flip refused -> 0
    np.testing.assert_allclose(g, [[0.2, 0.0, 0.0], [0.2, 0.1, 0.0], [0.3, 0.0, 0.0]])


def test_scale_multiplies_the_increase_by_p() -> None:
    prob = np.array([[0.9, np.nan, 0.6], [0.5, 0.8, 0.2], [0.7, 0.1, np.nan]])
    thr = np.full_like(prob, 0.5)
    g = apply_gate(W, prob, thr, "scale")
    r0 = [0.18, 0.0, -0.06]
    # row 1: col 0 from 0.18 to 0.3, p .5 -> 0.18 + .5*.12; col 1 0.08; col 2 a reduction
    # from -0.06 to -0.05 passes
    r1 = [0.24, 0.08, -0.05]
    r2 = [0.24 + 0.7 * 0.06, 0.0, 0.0]
    np.testing.assert_allclose(g, [r0, r1, r2])


def test_no_probability_means_no_gating() -> None:
    nan = np.full_like(W, np.nan)
    np.testing.assert_array_equal(apply_gate(W, nan, nan, "drop"), W)


def test_a_stopped_position_is_flat_for_the_gate() -> None:
    # col 0 is held 0.2 from row 0 and stopped out before row 1: the book's 0.3 at row 1 is a
    # fresh entry, so refusing it leaves 0 (not the 0.2 the book held); col 2's stopped
    # short re-entered at the same -0.1 is an event too, taken with p 0.8
    prob = np.array([[0.9, np.nan, 0.9], [0.3, 0.8, 0.8], [0.7, 0.1, np.nan]])
    thr = np.full_like(prob, 0.5)
    w = W.copy()
    w[1, 2] = -0.1
    flat = np.zeros(W.shape, dtype=bool)
    flat[1, 0] = flat[1, 2] = True
    g = apply_gate(w, prob, thr, "drop", flat)
    np.testing.assert_allclose(g, [[0.2, 0.0, -0.1], [0.0, 0.1, -0.1], [0.3, 0.0, 0.0]])
    g = apply_gate(w, prob, thr, "scale", flat)
    # row 1: col 0 refused -> 0; col 2 re-entered at 0.8 x -0.1; row 2: col 0 from 0 to
    # 0.3 at p 0.7
    np.testing.assert_allclose(
        g, [[0.18, 0.0, -0.09], [0.0, 0.08, -0.08], [0.21, 0.0, 0.0]], atol=1e-12
    )
    ev = entry_events(_Book(w), flat)  # type: ignore[arg-type]
    assert (34, 0) in zip(ev.bar.tolist(), ev.col.tolist(), strict=True)
    assert (34, 2) in zip(ev.bar.tolist(), ev.col.tolist(), strict=True)
    plain = entry_events(_Book(w))  # type: ignore[arg-type]
    assert (34, 2) not in zip(plain.bar.tolist(), plain.col.tolist(), strict=True)
