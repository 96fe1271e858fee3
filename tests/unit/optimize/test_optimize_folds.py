"""Walk-forward folds on hand-built timelines: purge, embargo, layout, validation."""

from __future__ import annotations

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data import MarketPanel
from xsmom.errors import ConfigError
from xsmom.optimize.folds import FoldPlan, Window, make_folds, purge_and_embargo
from xsmom.optimize.plan import plan_from_config


def test_rolling_folds_on_a_100_bar_timeline() -> None:
    # 100 bars, 3 folds of 10 test bars, 30 training bars, embargo 2, horizon 5 (gap 5).
    plan = make_folds(100, n_folds=3, train=30, test=10, embargo=2, horizon=5)
    tests = [(f.test.start, f.test.stop) for f in plan.scored if f.test]
    assert tests == [(70, 80), (80, 90), (90, 100)]
    trains = [(f.train.start, f.train.stop) for f in plan.scored]
    assert trains == [(35, 65), (45, 75), (55, 85)]
    assert (plan.final.train.start, plan.final.train.stop) == (70, 100)
    assert plan.final.test is None and plan.final.name == "final"


def test_anchored_folds_start_at_the_first_bar() -> None:
    plan = make_folds(100, n_folds=3, train=30, test=10, embargo=4, horizon=1, mode="anchored")
    assert [(f.train.start, f.train.stop) for f in plan.scored] == [(0, 66), (0, 76), (0, 86)]
    assert (plan.final.train.start, plan.final.train.stop) == (0, 100)


@pytest.mark.parametrize("mode", ["rolling", "anchored"])
@pytest.mark.parametrize(("embargo", "horizon"), [(0, 0), (3, 0), (0, 7), (5, 9), (12, 2)])
def test_no_training_index_within_purge_or_embargo_of_its_test_window(
    mode: str, embargo: int, horizon: int
) -> None:
    plan = make_folds(
        240, n_folds=4, train=60, test=20, embargo=embargo, horizon=horizon, mode=mode
    )
    for fold in plan.scored:
        assert fold.test is not None
        idx = fold.train.indices()
        # purge: no training label (t .. t + horizon) reaches into the test window
        assert np.all(idx + horizon < fold.test.start)
        # embargo: no training index within `embargo` bars of the test window, either side
        assert not np.any((idx >= fold.test.start - embargo) & (idx < fold.test.stop + embargo))
        assert fold.train.stop == fold.test.start - max(embargo, horizon)
        if mode == "rolling":
            assert fold.train.size == 60


def test_purge_and_embargo_with_training_on_both_sides() -> None:
    # Purged k-fold layout (de Prado): training before and after the test window.
    train = np.concatenate([np.arange(0, 40), np.arange(60, 100)])
    kept = purge_and_embargo(train, Window(40, 60), horizon=3, embargo=5)
    # embargo 5 on both sides (35..39 and 60..64), purge 3 (37..39) within it
    assert kept.tolist() == [*range(0, 35), *range(65, 100)]
    # horizon only: bars 37..39 have labels reaching the test; nothing after is removed
    kept = purge_and_embargo(train, Window(40, 60), horizon=3, embargo=0)
    assert kept.tolist() == [*range(0, 37), *range(60, 100)]


def test_too_little_data_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="walk-forward needs 75 bars"):
        make_folds(70, n_folds=2, train=40, test=15, embargo=3, horizon=5)


def test_invalid_arguments_are_refused() -> None:
    with pytest.raises(ConfigError):
        make_folds(100, n_folds=0, train=10, test=10, embargo=0, horizon=0)
    with pytest.raises(ConfigError):
        make_folds(100, n_folds=2, train=10, test=10, embargo=0, horizon=0, mode="expanding")
    with pytest.raises(ConfigError):
        Window(5, 5)


def test_date_range_is_validated_by_the_schema() -> None:
    with pytest.raises(ConfigError, match="must be before"):
        config_from_dict({"optimize": {"folds": {"start": "2025-06-01", "end": "2025-01-01"}}})
    with pytest.raises(ConfigError, match="invalid date"):
        config_from_dict({"optimize": {"folds": {"start": "June 1st"}}})
    with pytest.raises(ConfigError, match="invalid duration"):
        config_from_dict({"optimize": {"folds": {"train": "ten days"}}})
    cfg = config_from_dict({"optimize": {"folds": {"start": "2025-01-01", "train": 500}}})
    assert cfg.optimize.folds.train == 500


def _panel(n_bars: int) -> MarketPanel:
    ones = np.ones((n_bars, 2))
    return MarketPanel(
        symbols=("A/USDT:USDT", "B/USDT:USDT"),
        timeframe="1h",
        timestamps=np.arange(n_bars, dtype=np.int64) * 3_600_000,
        open=ones,
        high=ones,
        low=ones,
        close=ones,
        volume=ones,
        mark_open=ones,
        mark_close=ones,
        funding_rate=np.zeros((n_bars, 2)),
        funding_event=np.zeros((n_bars, 2), dtype=bool),
    )


def _plan(n_bars: int, **folds: object) -> FoldPlan:
    base = {"n_folds": 3, "train": 200, "test": 100, "embargo": 0} | folds
    cfg = config_from_dict({"optimize": {"folds": base, "stats": {"cscv_blocks": 8}}})
    return plan_from_config(cfg, _panel(n_bars))


def test_default_purge_is_the_label_horizon_of_one_bar() -> None:
    # The backtest objective scores the next bar's return: the label horizon is 1 bar and
    # nothing else (no lookback, no rebalance interval) is purged.
    plan = _plan(1000, n_folds=3)
    assert plan.horizon == 1
    for fold in plan.scored:
        assert fold.test is not None
        assert fold.test.start - fold.train.stop == 1
    # with a longer declared horizon the gap is exactly that horizon
    plan = _plan(1000, label_horizon=5)
    assert plan.horizon == 5
    assert all(f.test.start - f.train.stop == 5 for f in plan.scored if f.test)
    # the embargo still widens the gap when it is longer than the horizon
    plan = _plan(1000, embargo="1d")
    assert all(f.test.start - f.train.stop == 24 for f in plan.scored if f.test)
    # an explicit purge overrides the horizon
    assert _plan(1000, purge="14d").horizon == 336


@pytest.mark.parametrize("horizon", [1, 2, 7])
def test_no_training_label_window_overlaps_a_test_bar(horizon: int) -> None:
    plan = _plan(1000, label_horizon=horizon)
    for fold in plan.scored:
        assert fold.test is not None
        test_bars = set(fold.test.indices().tolist())
        for t in fold.train.indices().tolist():
            label = set(range(t + 1, t + horizon + 1))  # the bars t's outcome depends on
            assert not label & test_bars, (fold.name, t)
        # and the purge is not longer than needed: the bar just before the gap is kept
        last = fold.train.stop - 1
        assert last + horizon + 1 == fold.test.start


def test_label_horizon_is_validated() -> None:
    with pytest.raises(ConfigError, match="label_horizon"):
        config_from_dict({"optimize": {"folds": {"label_horizon": 0}}})
