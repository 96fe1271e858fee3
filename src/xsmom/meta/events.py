"""Events: the entries and increases the strategy makes at its rebalance closes.

An event is a symbol whose |target weight| goes up at a rebalance (from zero, on the same
side, or after a flip to the other side), decided at the close of bar ``bar``. The same rule
decides what the gate (xsmom.meta.gate) asks the model about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.strategy.targets import RebalanceBook

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
B = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class Events:
    """Entries (or increases) of the book: one element per event, in time order."""

    bar: I64  # the close the entry was decided on (traded at the next bar's open)
    col: I64  # the symbol's column in the panel
    side: F64  # +1 long, -1 short
    delta: F64  # |weight| traded by the entry (the increase), as a fraction of equity

    @property
    def size(self) -> int:
        """Return the number of events."""
        return int(self.bar.size)

    def take(self, keep: npt.NDArray[np.bool_] | I64) -> Events:
        """Return the events selected by a mask or index array."""
        return Events(self.bar[keep], self.col[keep], self.side[keep], self.delta[keep])


def increase_base(prev: F64, new: F64) -> tuple[B, F64]:
    """Return (is_event, base) for a move from ``prev`` to ``new`` weights.

    ``base`` is the part of ``prev`` kept when the entry is refused: the old weight on the
    same side, 0 after a flip. Reductions and exits are not events.
    """
    same = prev * new > 0.0
    base = np.where(same, prev, 0.0)
    return (new != 0.0) & (np.abs(new) > np.abs(base)), base


def entry_events(book: RebalanceBook) -> Events:
    """Return the events of an ungated book (each rebalance against the one before)."""
    w = book.weights
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    is_event, base = increase_base(prev, w)
    ri, cj = np.nonzero(is_event)
    return Events(
        bar=book.rows[ri].astype(np.int64),
        col=cj.astype(np.int64),
        side=np.sign(w[ri, cj]),
        delta=np.abs(w[ri, cj] - base[ri, cj]),
    )
