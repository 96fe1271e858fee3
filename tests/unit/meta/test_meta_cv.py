"""Purged k-fold CV with embargo, and uniqueness weights, on hand-built label windows."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from xsmom.errors import ConfigError
from xsmom.meta.cv import purged_kfold, purged_train, time_groups, uniqueness_weights


def _overlaps(a0: int, a1: int, b0: int, b1: int) -> bool:
    return a0 <= b1 and a1 >= b0


def test_no_training_label_overlaps_the_test_fold() -> None:
    rng = np.random.default_rng(3)
    start = np.sort(rng.integers(0, 2000, 400)).astype(np.int64)
    end = start + rng.integers(1, 60, 400)
    for train, test in purged_kfold(start, end, 5, embargo=10):
        lo, hi = int(start[test].min()), int(end[test].max())
        assert not set(train) & set(test)
        for i in train:
            assert not _overlaps(int(start[i]), int(end[i]), lo, hi), i
            assert not hi < start[i] <= hi + 10  # embargo after the test span


def test_purge_drops_exactly_the_overlapping_samples() -> None:
    # test = samples 2,3 spanning bars 10..25; sample 1 (5..12) and 4 (24..30) overlap it,
    # sample 5 starts inside the 3-bar embargo, sample 0 and 6 are clear.
    start = np.array([0, 5, 10, 15, 24, 27, 40], dtype=np.int64)
    end = np.array([4, 12, 20, 25, 30, 33, 45], dtype=np.int64)
    test = np.array([2, 3], dtype=np.int64)
    assert purged_train(start, end, test, embargo=3).tolist() == [0, 6]
    assert purged_train(start, end, test, embargo=0).tolist() == [0, 5, 6]


def test_folds_are_contiguous_in_time_and_never_split_a_bar() -> None:
    start = np.array([0, 0, 0, 1, 1, 2, 3, 3, 4, 5], dtype=np.int64)
    groups = time_groups(start, 3)
    assert sum(g.size for g in groups) == start.size
    for a, b in itertools.pairwise(groups):
        assert start[a].max() < start[b].min()
    with pytest.raises(ConfigError):
        time_groups(start, 7)
    with pytest.raises(ConfigError):
        time_groups(start[::-1].copy(), 2)


def test_uniqueness_by_hand() -> None:
    # labels span bars start+1..end: A 1..4, B 3..4, C 6..6
    # concurrency: bar1 1, bar2 1, bar3 2, bar4 2, bar6 1
    # A: (1 + 1 + 1/2 + 1/2) / 4 = 0.75; B: (1/2 + 1/2) / 2 = 0.5; C: 1
    start = np.array([0, 2, 5], dtype=np.int64)
    end = np.array([4, 4, 6], dtype=np.int64)
    raw = np.array([0.75, 0.5, 1.0])
    np.testing.assert_allclose(uniqueness_weights(start, end), raw / raw.mean())
