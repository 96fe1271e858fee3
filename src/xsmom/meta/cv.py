"""Purged k-fold cross-validation with embargo, and sample weights by label uniqueness.

Samples are events with a label window ``[start, end]`` in bars (decision bar to exit bar),
sorted by ``start``. The K test folds are contiguous in time and never split a bar. For each
test fold, a training sample is **purged** when its label window overlaps the span of the
test fold's label windows, and **embargoed** when it starts within ``embargo`` bars after
that span ends (López de Prado, *Advances in Financial Machine Learning*, ch. 7).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import numpy.typing as npt

from xsmom.errors import ConfigError

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]


def time_groups(start: I64, n_splits: int) -> list[I64]:
    """Return K contiguous groups of sample indices (``start`` sorted), none splitting a bar."""
    if np.any(np.diff(start) < 0):
        raise ConfigError("samples must be sorted by their start bar")
    bars = np.unique(start)
    if n_splits < 2 or bars.size < n_splits:
        raise ConfigError(
            f"purged CV needs >= 2 folds and as many distinct bars (have {bars.size})"
        )
    groups = np.array_split(bars, n_splits)
    return [np.flatnonzero((start >= g[0]) & (start <= g[-1])).astype(np.int64) for g in groups]


def purged_train(start: I64, end: I64, test: I64, embargo: int) -> I64:
    """Return the samples that may train for ``test``: no overlap, none in the embargo."""
    lo = int(start[test].min())
    hi = int(end[test].max())
    overlap = (start <= hi) & (end >= lo)
    embargoed = (start > hi) & (start <= hi + embargo)
    keep = ~(overlap | embargoed)
    keep[test] = False
    return np.flatnonzero(keep).astype(np.int64)


def purged_kfold(start: I64, end: I64, n_splits: int, embargo: int) -> Iterator[tuple[I64, I64]]:
    """Yield (train, test) index arrays of purged k-fold CV with embargo."""
    if embargo < 0:
        raise ConfigError("embargo must be >= 0")
    for test in time_groups(start, n_splits):
        yield purged_train(start, end, test, embargo), test


def uniqueness_weights(start: I64, end: I64) -> F64:
    """Return each sample's average uniqueness over the bars its label spans.

    A label spans bars ``start+1 .. end``; at each bar, concurrency is the number of labels
    spanning it, and a sample's uniqueness is the mean of 1/concurrency over its bars.
    Weights are scaled to mean 1.
    """
    if start.size == 0:
        return np.zeros(0)
    lo = int(start.min()) + 1
    hi = int(end.max()) + 1
    conc = np.zeros(hi - lo + 1)
    np.add.at(conc, start + 1 - lo, 1.0)
    np.add.at(conc, end + 1 - lo, -1.0)
    conc = np.cumsum(conc)[:-1]
    inv = np.where(conc > 0, 1.0 / np.maximum(conc, 1.0), 0.0)
    csum = np.concatenate([[0.0], np.cumsum(inv)])
    span = (end - start).astype(np.float64)
    u = (csum[end + 1 - lo] - csum[start + 1 - lo]) / np.maximum(span, 1.0)
    return np.asarray(u / u.mean())
