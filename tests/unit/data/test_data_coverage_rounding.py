"""The funding interval and its changes, computed on whole arrays, equal the event-by-event
rounding they replaced (Python's round-half-even of each spacing in hours, at least 1 h)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.data.coverage import HOUR_MS, IntervalChange, _changes, _dominant, gap_spacings

SPACINGS = [1, HOUR_MS // 2, HOUR_MS, 3 * HOUR_MS // 2, 5 * HOUR_MS // 2, 4 * HOUR_MS]
SPACINGS += [8 * HOUR_MS, 8 * HOUR_MS + 30_000, 20 * HOUR_MS]


def _hour(ms: int) -> int:
    return max(round(ms / HOUR_MS), 1) * HOUR_MS


def _changes_one_by_one(ts: np.ndarray, d: np.ndarray, gap: np.ndarray) -> list[IntervalChange]:
    out, prev = [], None
    for i in np.flatnonzero(~gap).tolist():
        step = _hour(int(d[i]))
        if prev is not None and step != prev:
            out.append(IntervalChange(int(ts[i]), prev, step))
        prev = step
    return out


@settings(max_examples=300, deadline=None)
@given(
    picks=st.lists(st.sampled_from(SPACINGS), min_size=1, max_size=40),
    jitter=st.lists(st.integers(-50, 50), min_size=40, max_size=40),
)
def test_vectorized_rounding_equals_the_scalar_one(picks: list[int], jitter: list[int]) -> None:
    d = np.abs(np.array(picks, dtype=np.int64) + np.array(jitter[: len(picks)], dtype=np.int64))
    ts = 1_700_000_000_000 + np.concatenate([[0], np.cumsum(d)]).astype(np.int64)
    gap = gap_spacings(d)
    assert list(_changes(ts, d, gap)) == _changes_one_by_one(ts, d, gap)
    regular = [_hour(int(x)) for x in d[~gap]]
    if not regular:
        assert _dominant(d, gap) is None
    else:
        values, counts = np.unique(regular, return_counts=True)
        assert _dominant(d, gap) == int(values[int(np.argmax(counts))])


def test_half_hours_round_to_even_hours() -> None:
    d = np.array([HOUR_MS // 2, 3 * HOUR_MS // 2, 5 * HOUR_MS // 2], dtype=np.int64)
    ts = np.array([0, 1, 2, 3], dtype=np.int64) * HOUR_MS + 1_700_000_000_000
    got = _changes(ts, d, np.zeros(3, dtype=bool))
    assert [(c.before_ms, c.after_ms) for c in got] == [(HOUR_MS, 2 * HOUR_MS)]  # 1, 2, 2 h
