"""Walk-forward folds: training and test windows with purge and embargo.

Positions are bar indices on the panel's grid; every window is half-open ``[start, stop)``.

* **Test windows** tile the end of the range: fold ``k`` of ``K`` tests
  ``[L - (K-k)*test, L - (K-k-1)*test)``.
* **Training** ends before its test window: rolling folds train on the ``train`` bars
  before it, anchored folds on everything from the first bar.
* **Purge**: a training bar ``t`` whose label horizon ``H`` reaches into the test window
  (``t + H >= test.start``) is dropped.
* **Embargo**: no training bar lies within ``E`` bars of a test window, on either side.
  In a walk-forward layout training precedes testing, so purge and embargo together leave a
  gap of ``max(H, E)`` bars between the end of training and the test.
* The **final** window (deployment) is the most recent ``train`` bars (anchored: all bars);
  it has no test window.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.errors import ConfigError

I64 = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Window:
    """Bars ``[start, stop)`` of the panel."""

    start: int
    stop: int

    def __post_init__(self) -> None:
        if not 0 <= self.start < self.stop:
            raise ConfigError(f"invalid window [{self.start}, {self.stop})")

    @property
    def size(self) -> int:
        """Return the number of bars."""
        return self.stop - self.start

    def indices(self) -> I64:
        """Return the bar indices of the window."""
        return np.arange(self.start, self.stop, dtype=np.int64)


@dataclass(frozen=True)
class Fold:
    """One walk-forward fold (``test`` is ``None`` for the final window)."""

    index: int
    train: Window
    test: Window | None

    @property
    def name(self) -> str:
        """Return ``fold0``.. or ``final``."""
        return "final" if self.test is None else f"fold{self.index}"


@dataclass(frozen=True)
class FoldPlan:
    """Every fold of a walk-forward run, the final window last."""

    mode: str
    n_bars: int
    horizon: int
    embargo: int
    folds: tuple[Fold, ...]

    @property
    def scored(self) -> tuple[Fold, ...]:
        """Return the folds that have a test window."""
        return tuple(f for f in self.folds if f.test is not None)

    @property
    def final(self) -> Fold:
        """Return the final (deployment) window."""
        return self.folds[-1]


def purge_and_embargo(
    train: I64, test: Window, *, horizon: int, embargo: int, n_bars: int | None = None
) -> I64:
    """Return the training indices that are neither purged nor embargoed around ``test``.

    Drops ``t`` with ``t + horizon >= test.start`` and ``t < test.stop`` (the label reaches
    into the test), and every ``t`` in ``[test.start - embargo, test.stop + embargo)``.
    """
    if horizon < 0 or embargo < 0:
        raise ConfigError("horizon and embargo must be >= 0")
    t = np.asarray(train, dtype=np.int64)
    purged = (t + horizon >= test.start) & (t < test.stop)
    embargoed = (t >= test.start - embargo) & (t < test.stop + embargo)
    keep = ~(purged | embargoed)
    if n_bars is not None:
        keep &= (t >= 0) & (t < n_bars)
    return t[keep]


def _contiguous(idx: I64, what: str) -> Window:
    if idx.size == 0:
        raise ConfigError(f"{what}: no training bars left after purge and embargo")
    if int(idx[-1] - idx[0]) + 1 != idx.size:
        raise ConfigError(f"{what}: training bars are not contiguous")
    return Window(int(idx[0]), int(idx[-1]) + 1)


def make_folds(
    n_bars: int,
    *,
    n_folds: int,
    train: int,
    test: int,
    embargo: int,
    horizon: int,
    mode: str = "rolling",
) -> FoldPlan:
    """Lay out ``n_folds`` walk-forward folds and the final window over ``n_bars`` bars."""
    if mode not in ("rolling", "anchored"):
        raise ConfigError(f"unknown fold mode {mode!r}")
    if min(n_folds, train, test) < 1 or min(embargo, horizon) < 0:
        raise ConfigError("n_folds, train and test must be >= 1; embargo and purge >= 0")
    gap = max(horizon, embargo)
    need = train + gap + n_folds * test
    if need > n_bars:
        raise ConfigError(
            f"walk-forward needs {need} bars (train {train} + gap {gap} + {n_folds} x test "
            f"{test}) but the data range has {n_bars}: shorten the windows or widen the range"
        )
    folds = []
    for k in range(n_folds):
        t0 = n_bars - (n_folds - k) * test
        tw = Window(t0, t0 + test)
        lo = 0 if mode == "anchored" else t0 - gap - train
        raw = np.arange(lo, t0, dtype=np.int64)
        kept = purge_and_embargo(raw, tw, horizon=horizon, embargo=embargo, n_bars=n_bars)
        folds.append(Fold(k, _contiguous(kept, f"fold {k}"), tw))
    final_lo = 0 if mode == "anchored" else n_bars - train
    folds.append(Fold(n_folds, Window(final_lo, n_bars), None))
    return FoldPlan(mode=mode, n_bars=n_bars, horizon=horizon, embargo=embargo, folds=tuple(folds))
