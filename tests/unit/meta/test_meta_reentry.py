"""Stop re-entries under the gate.

At a rebalance (``exits.reenter: next_rebalance``, the default) a position the exits closed is
flat for the gate: its re-entry is asked like a fresh entry. Between rebalances
(``after_cooldown``) a re-entry restores the gated book's weight of that rebalance: an entry
the model refused is not re-entered, and a scaled one is re-entered scaled.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.meta.artifact import load_model_set
from xsmom.meta.dataset import build_dataset, strategy_book
from xsmom.meta.events import book_atr, entry_events, exit_flat, strategy_events
from xsmom.meta.gate import gate_book, probabilities
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


def test_exit_flat_matches_the_strategys_own_exits(sample_panel: MarketPanel) -> None:
    cfg = Config()
    book = strategy_book(sample_panel, cfg.strategy)
    flat = exit_flat(book, book.weights, book_atr(book))
    # independent replay through compute_targets: flat at the close before the row, or an
    # exit event inside the row's bar, where the book held a weight at the row before
    tg = compute_targets(sample_panel, cfg.strategy)
    held = np.zeros(flat.shape, dtype=bool)
    held[1:] = book.weights[:-1] != 0.0
    expect = np.zeros(flat.shape, dtype=bool)
    for i, r in enumerate(book.rows[1:], start=1):
        expect[i] = tg.weights[r - 1] == 0.0
    row_of = {int(b): i for i, b in enumerate(book.rows)}
    for bar, sym in tg.exit_events[:, :2].astype(int):
        if int(bar) in row_of:
            expect[row_of[int(bar)], sym] = True
    expect &= held
    np.testing.assert_array_equal(flat, expect)
    assert flat.sum() >= 5, "no stop before a rebalance in the sample"


def test_every_entry_at_a_rebalance_is_asked(
    sample_panel: MarketPanel, meta_gated_cfg: Config
) -> None:
    # with the default exits.reenter: next_rebalance, a stopped position comes back at the
    # next rebalance: the gate asks the model about it like a fresh entry
    cfg = meta_gated_cfg
    ms = load_model_set(cfg.strategy.meta.model, cfg.strategy)
    book = dataclasses.replace(strategy_book(sample_panel, cfg.strategy), cfg=cfg.strategy)
    prob, thr = probabilities(ms, book)
    w = compute_targets(sample_panel, cfg.strategy).weights
    row_of = {int(b): i for i, b in enumerate(book.rows)}
    reentries = 0
    for t, j in zip(*np.nonzero((w[1:] != 0.0) & (w[:-1] == 0.0)), strict=True):
        i = row_of[int(t) + 1]  # entries happen at rebalance closes only (next_rebalance)
        if int(book.rows[i]) < TRAIN_BARS:
            continue
        assert prob[i, j] >= thr[i, j], f"entry at row {i} symbol {j} not asked or refused"
        reentries += int(i > 0 and book.weights[i - 1, j] * book.weights[i, j] > 0.0)
    assert reentries >= 1, "no stop re-entry after the model applies"
    # and some re-entries were refused: the strategy alone re-enters them
    plain = compute_targets(sample_panel, Config().strategy).weights
    flat = exit_flat(book, book.weights, book_atr(book))
    late = book.rows >= TRAIN_BARS
    refused = flat & late[:, None] & (prob < thr)
    assert refused.any()
    i, j = np.argwhere(refused)[0]
    assert plain[book.rows[i], j] != 0.0


def test_training_events_include_the_reentries(sample_panel: MarketPanel) -> None:
    cfg = Config()
    book = strategy_book(sample_panel, cfg.strategy)
    flat = exit_flat(book, book.weights, book_atr(book))
    plain, events = entry_events(book), strategy_events(book)
    # each re-entry of a weight the book kept (not already an increase) is one more event
    kept = flat & (book.weights != 0.0)
    prev = np.vstack([np.zeros((1, flat.shape[1])), book.weights[:-1]])
    not_increase = np.abs(book.weights) <= np.abs(prev)
    assert events.size == plain.size + int((kept & not_increase & (prev * book.weights > 0)).sum())
    assert events.size > plain.size
    ds = build_dataset(sample_panel, cfg, default_spec(cfg))
    got = set(zip(ds.events.bar.tolist(), ds.events.col.tolist(), strict=True))
    i, j = np.argwhere(kept & not_increase & (prev * book.weights > 0))[0]
    assert (int(book.rows[i]), int(j)) in got or int(book.rows[i]) + 168 >= sample_panel.n_bars
