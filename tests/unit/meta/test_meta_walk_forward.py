"""Walk-forward model folders: each fold's model gates only closes after its training window."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data import MarketPanel
from xsmom.meta.artifact import load_model_set, read_manifest
from xsmom.meta.compare import classification_row, oos_classification
from xsmom.meta.dataset import strategy_book
from xsmom.meta.features import event_features
from xsmom.meta.gate import probabilities
from xsmom.meta.labels import default_spec
from xsmom.meta.models import TrainOptions
from xsmom.meta.train import train_walk_forward
from xsmom.optimize.plan import plan_from_config

FOLDS = {"optimize": {"folds": {"n_folds": 2, "train": "120d", "test": "60d"}}}


@pytest.fixture(scope="module")
def wf(sample_panel: MarketPanel, tmp_path_factory: pytest.TempPathFactory) -> Path:
    cfg = config_from_dict(FOLDS)
    opts = TrainOptions(model="logistic", cv_folds=4)
    return train_walk_forward(
        sample_panel, cfg, default_spec(cfg), opts, tmp_path_factory.mktemp("wf")
    )


def test_members_follow_the_optimizer_folds(wf: Path, sample_panel: MarketPanel) -> None:
    cfg = config_from_dict(FOLDS)
    plan = plan_from_config(cfg, sample_panel)
    ms = load_model_set(wf, cfg.strategy)
    assert [m.name for m in ms.members] == ["fold0", "fold1", "final"]
    ts = sample_panel.timestamps
    for member, fold in zip(ms.members, plan.folds, strict=True):
        start = fold.test.start if fold.test is not None else fold.train.stop
        expect = int(ts[0]) + start * sample_panel.bar_ms
        assert member.apply_from_ms == expect
        # labels of the training window end before it, which ends before the member applies
        assert fold.train.stop <= start
    m = read_manifest(wf)
    assert m["mode"] == "walk_forward"
    assert m["options"]["model"] == "logistic"


def test_each_close_is_gated_by_the_member_in_force(wf: Path, sample_panel: MarketPanel) -> None:
    cfg = config_from_dict({**FOLDS, "strategy": {"meta": {"model": str(wf)}}})
    ms = load_model_set(wf, cfg.strategy)
    book = strategy_book(sample_panel, cfg.strategy)
    book = dataclasses.replace(book, cfg=cfg.strategy)
    prob, thr = probabilities(ms, book)
    ts = sample_panel.timestamps[book.rows]
    f0, f1, final = ms.members
    before = ts < f0.apply_from_ms
    assert np.isnan(prob[before]).all()
    for member, hi in ((f0, f1.apply_from_ms), (f1, final.apply_from_ms)):
        rows = np.flatnonzero((ts >= member.apply_from_ms) & (ts < hi))
        ri, cj = np.nonzero(book.weights[rows])
        ri = rows[ri]
        x = event_features(book, book.rows[ri], cj, np.sign(book.weights[ri, cj]))
        np.testing.assert_allclose(prob[ri, cj], member.fitted.predict(x))
        assert np.all(thr[ri, cj] == member.fitted.threshold)


def test_classification_row_by_hand() -> None:
    p = np.array([0.1, 0.4, 0.35, 0.8, 0.6])
    y = np.array([0, 0, 1, 1, 0])
    net = np.array([-0.02, -0.01, 0.03, 0.05, -0.04])
    row = classification_row(p, y, net, p >= 0.5)
    # winners (0.35, 0.8) above losers (0.1, 0.4, 0.6): 0.35 beats 1 of 3, 0.8 beats 3 of 3
    assert row["auc"] == pytest.approx(4 / 6)
    assert row["base_rate"] == pytest.approx(0.4)
    assert row["take_rate"] == pytest.approx(0.4)
    assert row["precision"] == pytest.approx(0.5)
    assert row["lift"] == pytest.approx(0.5 / 0.4)
    assert row["mean_net_all"] == pytest.approx(0.002)
    assert row["mean_net_taken"] == pytest.approx(0.005)


def test_pooled_oos_row_weighs_every_window_by_its_entries(
    wf: Path, sample_panel: MarketPanel
) -> None:
    cfg = config_from_dict(FOLDS)
    rows = dict(oos_classification(sample_panel, cfg, wf))
    # the final member gates after the data: no window of its own
    assert list(rows) == ["fold0", "fold1", "all"]
    per = [r for name, r in rows.items() if name != "all"]
    n = np.array([r["entries"] for r in per])
    assert n.min() > 0
    pooled = rows["all"]
    assert pooled["entries"] == n.sum()
    for key in ("base_rate", "take_rate", "mean_net_all"):
        expect = float(np.dot(n, [r[key] for r in per]) / n.sum())
        assert pooled[key] == pytest.approx(expect), key
    assert 0.0 <= pooled["auc"] <= 1.0
