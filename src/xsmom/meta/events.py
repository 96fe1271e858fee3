"""Events: the entries and increases the strategy makes at its rebalance closes.

An event is a symbol whose |target weight| goes up at a rebalance (from zero, on the same
side, or after a flip to the other side), decided at the close of bar ``bar``. A position the
exits closed (a stop or time exit) before that close, or inside that bar, counts as zero
there: the book re-entering it at the rebalance is an event like a fresh entry. The same rule
decides what the gate (xsmom.meta.gate) asks the model about.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.strategy.exits import EV_BAR, EV_SYM, apply_exits_rows
from xsmom.strategy.rolling import average_true_range
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


def book_atr(book: RebalanceBook) -> F64:
    """Return the ATR the strategy's exits use (``exits.atr_period``) on the book's panel."""
    p = book.panel
    return average_true_range(p.high, p.low, p.close, book.cfg.exits.atr_period)


def exit_flat(book: RebalanceBook, weights: F64, atr: F64) -> B:
    """Return, per rebalance row and symbol, whether the position held at the row before was
    closed by the exits before this row's close (flat at the close before it, or stopped
    inside the row's bar) when the rebalance rows ``weights`` are traded."""
    p, rows = book.panel, book.rows
    ex = apply_exits_rows(weights, rows, p.open, p.high, p.low, p.close, atr, book.cfg.exits)
    held = np.zeros(weights.shape, dtype=np.bool_)
    if rows.size == 0:
        return held
    held[1:] = weights[:-1] != 0.0
    flat: B = ex.weights[np.maximum(rows - 1, 0)] == 0.0
    bar = ex.events[:, EV_BAR].astype(np.int64)
    i = np.minimum(np.searchsorted(rows, bar), rows.size - 1)
    at_row = rows[i] == bar
    flat[i[at_row], ex.events[at_row, EV_SYM].astype(np.int64)] = True
    out: B = held & flat
    return out


def entry_events(book: RebalanceBook, flat: B | None = None) -> Events:
    """Return the events of an ungated book (each rebalance against the one before).

    ``flat`` (from :func:`exit_flat`) marks positions the exits closed before a row: their
    re-entry is an event; without it, exits are not considered.
    """
    w = book.weights
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    if flat is not None:
        prev = np.where(flat, 0.0, prev)
    is_event, base = increase_base(prev, w)
    ri, cj = np.nonzero(is_event)
    return Events(
        bar=book.rows[ri].astype(np.int64),
        col=cj.astype(np.int64),
        side=np.sign(w[ri, cj]),
        delta=np.abs(w[ri, cj] - base[ri, cj]),
    )


def strategy_events(book: RebalanceBook) -> Events:
    """Return the events of the ungated strategy, stop and time-exit re-entries included."""
    return entry_events(book, exit_flat(book, book.weights, book_atr(book)))
