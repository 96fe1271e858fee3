"""Stop re-entries between rebalances (``exits.reenter: after_cooldown``) under the gate.

The gate decides at the rebalance closes; the exits then act on the gated book. A re-entry
after a stop's cooldown restores the gated book's weight of that rebalance: an entry the
model refused is not re-entered between rebalances, and a scaled one is re-entered scaled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.meta.dataset import strategy_book
from xsmom.meta.gate import gate_book
from xsmom.meta.labels import default_spec
from xsmom.meta.models import TrainOptions
from xsmom.meta.train import train_single
from xsmom.strategy import compute_targets

# tight stops and a short cooldown, so that stops and re-entries happen within a week
EXITS = {"atr_stop": 3.0, "trail_atr": 4.0, "reenter": "after_cooldown", "cooldown_bars": 6}
TRAIN_BARS = 3000


def _cfg(model: Path | None = None, mode: str = "drop") -> Config:
    meta = {"model": str(model), "mode": mode} if model is not None else {}
    return config_from_dict({"strategy": {"exits": EXITS, "meta": meta}})


@pytest.fixture(scope="module")
def model(sample_panel: MarketPanel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = _cfg()
    out = tmp_path_factory.mktemp("reentry_model")
    opts = TrainOptions(model="logistic", cv_folds=4)
    return train_single(sample_panel.slice(0, TRAIN_BARS), cfg, default_spec(cfg), opts, out)


def _row_of_bar(rows: np.ndarray, n: int) -> np.ndarray:
    # the rebalance row in force at each bar (-1 before the first)
    return np.searchsorted(rows, np.arange(n), side="right") - 1


@pytest.mark.parametrize("mode", ["drop", "scale"])
def test_reentries_restore_the_gated_weight_only(
    sample_panel: MarketPanel, model: Path, mode: str
) -> None:
    cfg = _cfg(model, mode)
    book = dataclasses.replace(strategy_book(sample_panel, cfg.strategy), cfg=cfg.strategy)
    gated = gate_book(book)
    tg = compute_targets(sample_panel, cfg.strategy)
    cur = _row_of_bar(book.rows, sample_panel.n_bars)
    in_force = np.where(cur[:, None] >= 0, gated[np.maximum(cur, 0)], 0.0)
    w = tg.weights
    # every target is the gated book's weight of its rebalance, or flat (stopped, cooling)
    assert np.all((w == in_force) | (w == 0.0))

    # the check is not vacuous: after the model applies there are re-entries between
    # rebalances, and entries the model refused or scaled
    is_row = np.zeros(sample_panel.n_bars, dtype=bool)
    is_row[book.rows] = True
    entered = (w[1:] != 0.0) & (w[:-1] == 0.0)
    t, j = np.nonzero(entered)
    t = t + 1
    between = (t >= TRAIN_BARS) & ~is_row[t]
    assert between.sum() >= 3, "no re-entry between rebalances after the model applies"
    late = book.rows >= TRAIN_BARS
    changed = (gated[late] != book.weights[late]) & (book.weights[late] != 0.0)
    assert changed.sum() >= 3, "the model changed no entry"
    # a refused entry (gated weight 0 where the strategy wanted one) is never re-entered
    refused = (gated == 0.0) & (book.weights != 0.0)
    assert not np.any(refused[cur[t[between]], j[between]])
