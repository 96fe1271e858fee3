"""The one gate: the backtest, the optimizer and the live engine all pass through it.

:func:`xsmom.strategy.compute_targets` calls :func:`gate_book` when ``strategy.meta.model`` is
set. Walking the rebalance closes in order, each entry or increase of the strategy's book (see
xsmom.meta.events) against the *gated* book held so far is an event; the model of the folder
member in force at that close gives its probability ``p``:

* ``drop``: taken in full when ``p >= threshold``, otherwise the old weight on that side is
  kept (none after a flip or a stop);
* ``scale``: when ``p >= threshold`` the increase is scaled by ``p``, otherwise dropped.

Reductions and exits always pass. An entry the gate refused is asked again at the next
rebalance if the strategy still wants it. A position the exits closed before a rebalance
close (a stop, a time exit) is flat there: re-entering it at that rebalance is an event, asked
like a fresh entry. The exits act on the gated book, so the gate and the exits are walked
forward together (each symbol on its own: neither looks at the other symbols).
The threshold is ``strategy.meta.threshold``, or each member's CV choice. A member gates
closes from its ``apply_from_ms`` on (after its training window); entries before the first
member's are passed unchanged, and ``xsmom backtest --meta`` refuses a start before it
(:func:`first_gated_ms`). Re-entries the exits make between rebalances
(``exits.reenter: after_cooldown``) restore the gated book's weight: never one it refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.meta.artifact import ModelSet, load_model_set, read_manifest
from xsmom.meta.events import book_atr, exit_flat
from xsmom.meta.features import event_features
from xsmom.strategy.targets import RebalanceBook

F64 = npt.NDArray[np.float64]


def probabilities(ms: ModelSet, book: RebalanceBook) -> tuple[F64, F64]:
    """Return (probability, threshold) per rebalance row and symbol; NaN where ungated."""
    w = book.weights
    prob = np.full(w.shape, np.nan)
    thr = np.full(w.shape, np.nan)
    ri, cj = np.nonzero(w)
    if ri.size == 0:
        return prob, thr
    ts = book.panel.timestamps[book.rows[ri]]
    x = event_features(book, book.rows[ri], cj, np.sign(w[ri, cj]))
    bounds = [m.apply_from_ms for m in ms.members] + [np.iinfo(np.int64).max]
    fixed = book.cfg.meta.threshold
    for k, member in enumerate(ms.members):
        sel = (ts >= bounds[k]) & (ts < bounds[k + 1])
        if sel.any():
            prob[ri[sel], cj[sel]] = member.fitted.predict(x[sel])
            thr[ri[sel], cj[sel]] = member.fitted.threshold if fixed is None else fixed
    return prob, thr


@njit(cache=True)
def _gate_rows(
    weights: F64, prob: F64, thr: F64, scale: bool, flat: npt.NDArray[np.bool_]
) -> F64:  # pragma: no cover - numba
    # the loop of apply_gate, per element: increase_base, then take, scale or refuse
    out = np.zeros_like(weights)
    n, m = weights.shape
    for j in range(m):
        prev = 0.0
        for i in range(n):
            new = weights[i, j]
            held = 0.0 if flat[i, j] else prev
            base = held if held * new > 0.0 else 0.0
            row = new
            if new != 0.0 and abs(new) > abs(base) and np.isfinite(prob[i, j]):
                if prob[i, j] >= thr[i, j]:
                    row = base + (prob[i, j] if scale else 1.0) * (new - base)
                else:
                    row = base
            out[i, j] = row
            prev = row
    return out


def apply_gate(
    weights: F64, prob: F64, thr: F64, mode: str, flat: npt.NDArray[np.bool_] | None = None
) -> F64:
    """Return the gated book: decide every event in order against the gated book so far.

    ``flat`` marks (row, symbol) where the exits closed the position held before the row.
    The events are those of :func:`xsmom.meta.events.increase_base`.
    """
    if flat is None:
        flat = np.zeros(weights.shape, dtype=np.bool_)
    w, p, t = (np.ascontiguousarray(a, dtype=np.float64) for a in (weights, prob, thr))
    return np.asarray(_gate_rows(w, p, t, mode == "scale", np.ascontiguousarray(flat)))


def gate_with_exits(book: RebalanceBook, prob: F64, thr: F64) -> F64:
    """Return the gated book, the positions the exits close before a row counted as flat.

    Whether a position is flat at row ``i`` depends on the gated rows before ``i`` only, and
    each symbol on its own; so each pass fixes, per symbol, the first row whose flat state
    changed where it matters (a re-entry the model refuses, or any in ``scale`` mode), and
    gates that symbol again, until no row changes.
    """
    mode, w = book.cfg.meta.mode, book.weights
    atr = book_atr(book)
    # where being flat changes the decision: a refused re-entry (drop), any re-entry (scale)
    matters = np.isfinite(prob) & ((prob < thr) | (mode == "scale"))
    flat = np.zeros(w.shape, dtype=np.bool_)
    out = apply_gate(w, prob, thr, mode, flat)
    while True:
        diff = (exit_flat(book, out, atr) & matters) != flat
        cols = np.flatnonzero(diff.any(axis=0))
        if cols.size == 0:
            return out
        rows = diff[:, cols].argmax(axis=0)
        flat[rows, cols] = ~flat[rows, cols]
        out[:, cols] = apply_gate(w[:, cols], prob[:, cols], thr[:, cols], mode, flat[:, cols])


def gate_book(book: RebalanceBook) -> F64:
    """Return the book's weights gated by the model of ``book.cfg.meta`` (module docstring)."""
    ms = load_model_set(book.cfg.meta.model, book.cfg)
    prob, thr = probabilities(ms, book)
    return gate_with_exits(book, prob, thr)


def first_gated_ms(model: Path | str) -> int:
    """Return the first bar time (ms) any member of a model folder may gate."""
    manifest = read_manifest(Path(model).resolve())
    return min(int(m["apply_from_ms"]) for m in manifest["members"])
