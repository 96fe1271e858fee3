"""No lookahead: features, training and gated weights ignore every bar after their time."""

from __future__ import annotations

import numpy as np
import pytest

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.meta.dataset import build_dataset, strategy_book
from xsmom.meta.events import entry_events
from xsmom.meta.features import event_features, feature_names
from xsmom.meta.labels import default_spec
from xsmom.meta.models import TrainOptions, fit_models
from xsmom.strategy import compute_targets


@pytest.fixture(scope="module")
def panel(sample_panel: MarketPanel) -> MarketPanel:
    return sample_panel.slice(0, 3500)


def test_features_at_a_bar_ignore_later_bars(panel: MarketPanel) -> None:
    cfg = Config()
    full = strategy_book(panel, cfg.strategy)
    ev = entry_events(full)
    cut = int(ev.bar[len(ev.bar) // 2])
    part = strategy_book(panel.slice(0, cut + 1), cfg.strategy)
    sel = ev.bar <= cut
    a = event_features(full, ev.bar[sel], ev.col[sel], ev.side[sel])
    b = event_features(part, ev.bar[sel], ev.col[sel], ev.side[sel])
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b))
    np.testing.assert_allclose(np.nan_to_num(a), np.nan_to_num(b), rtol=0, atol=0)
    assert a.shape[1] == len(feature_names(cfg.strategy))
    assert np.isfinite(a).mean() > 0.95


def test_features_by_hand(panel: MarketPanel) -> None:
    # the hand computation below uses these windows (not the defaults)
    cfg = config_from_dict(
        {
            "strategy": {
                "signal": {"lookbacks": [12, 24, 48, 96], "vol_lookback": 168},
                "exits": {"atr_period": 24},
                "portfolio": {"rebalance_every": 24},
            }
        }
    )
    book = strategy_book(panel, cfg.strategy)
    ev = entry_events(book)
    t, j, s = int(ev.bar[5]), int(ev.col[5]), float(ev.side[5])
    x = dict(
        zip(
            feature_names(cfg.strategy),
            event_features(book, ev.bar[5:6], ev.col[5:6], ev.side[5:6])[0],
            strict=True,
        )
    )
    c = panel.close[:, j]
    r = np.diff(np.log(c[t - 168 : t + 1]))
    vol = np.std(r, ddof=1)
    assert x["vol"] == pytest.approx(vol, rel=1e-9)
    assert x["score_lb24"] == pytest.approx(
        s * np.log(c[t] / c[t - 24]) / (vol * np.sqrt(24)), rel=1e-9
    )
    assert x["side"] == s
    hi, lo = panel.high[:, j], panel.low[:, j]
    tr = [
        max(hi[b] - lo[b], abs(hi[b] - c[b - 1]), abs(lo[b] - c[b - 1]))
        for b in range(t - 23, t + 1)
    ]
    atr = float(np.mean(tr))
    to_high = (np.max(hi[t - 95 : t + 1]) - c[t]) / atr
    from_low = (c[t] - np.min(lo[t - 95 : t + 1])) / atr
    assert x["dist_favourable"] == pytest.approx(to_high if s > 0 else from_low, rel=1e-9)
    assert x["dist_adverse"] == pytest.approx(from_low if s > 0 else to_high, rel=1e-9)
    assert x["atr_pct"] == pytest.approx(atr / c[t], rel=1e-9)
    hour = ((int(panel.timestamps[t]) + 3_600_000) // 3_600_000) % 24
    assert x["hour_sin"] == pytest.approx(np.sin(hour * 2 * np.pi / 24), abs=1e-12)


def test_training_ignores_bars_after_its_window(panel: MarketPanel) -> None:
    cfg = Config()
    spec = default_spec(cfg)
    stop = 2500
    ds_full = build_dataset(panel, cfg, spec, 0, stop)
    ds_cut = build_dataset(panel.slice(0, stop), cfg, spec, 0, stop)
    np.testing.assert_array_equal(ds_full.y, ds_cut.y)
    np.testing.assert_array_equal(ds_full.x, ds_cut.x)
    assert int(ds_full.end.max()) < stop
    opts = TrainOptions(cv_folds=4)
    a, _ = fit_models(ds_full, opts)
    b, _ = fit_models(ds_cut, opts)
    assert a.threshold == b.threshold and a.kind == b.kind
    np.testing.assert_array_equal(a.predict(ds_full.x), b.predict(ds_full.x))


def test_gated_weights_before_a_bar_ignore_later_bars(
    sample_panel: MarketPanel, meta_gated_cfg: Config
) -> None:
    cfg = meta_gated_cfg
    full = compute_targets(sample_panel.slice(0, 4000), cfg.strategy)
    plain = compute_targets(sample_panel.slice(0, 4000), Config().strategy)
    changed = np.flatnonzero(np.any(full.weights != plain.weights, axis=1))
    assert changed.size and changed.min() >= 3000  # the model gates from bar 3000 only
    for cut in (2100, 3001, 3600):
        part = compute_targets(sample_panel.slice(0, cut), cfg.strategy)
        np.testing.assert_array_equal(part.weights, full.weights[:cut])
