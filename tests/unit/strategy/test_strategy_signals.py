"""Selection, z-scores, funding tilt, regime and universe on hand-built inputs."""

from __future__ import annotations

import numpy as np

from xsmom.config.schema import RegimeConfig, SelectionConfig, UniverseConfig
from xsmom.strategy.cross_section import zscore
from xsmom.strategy.funding import trailing_funding
from xsmom.strategy.regime import average_correlation, regime_series
from xsmom.strategy.selection import k_series, select_sides
from xsmom.strategy.universe import universe_mask


def test_zscore_over_mask_and_clip() -> None:
    x = np.array([[1.0, 2.0, 3.0, 100.0]])
    mask = np.array([[True, True, True, False]])
    z = zscore(x, mask, 3.0)
    sd = np.std([1.0, 2.0, 3.0])
    np.testing.assert_allclose(z[0], [-1 / sd, 0.0, 1 / sd, 0.0])
    assert zscore(np.array([[0.0, 0.0, 10.0]]), np.ones((1, 3), bool), 1.0)[0, 2] == 1.0


def test_top_bottom_k_with_hysteresis() -> None:
    # 5 names; K=1, band 1. Bar 0: name 0 strongest long, name 4 strongest short.
    sig = np.array(
        [
            [3.0, 2.0, 0.5, -1.0, -3.0],
            [2.0, 3.0, 0.5, -1.0, -3.0],  # name 0 falls to rank 1 < K+band=2: kept
            [1.0, 3.0, 2.0, -1.0, -3.0],  # name 0 falls to rank 2: replaced by best (name 1)
        ]
    )
    mask = np.ones_like(sig, dtype=bool)
    sides = select_sides(sig, mask, np.array([1, 1, 1]), 1, False)
    np.testing.assert_array_equal(sides[0], [1, 0, 0, 0, -1])
    np.testing.assert_array_equal(sides[1], [1, 0, 0, 0, -1])
    np.testing.assert_array_equal(sides[2], [0, 1, 0, 0, -1])
    all_sides = select_sides(sig, mask, np.array([1, 1, 1]), 0, True)
    np.testing.assert_array_equal(all_sides[0], [1, 1, 1, -1, -1])


def test_k_from_dispersion() -> None:
    cfg = SelectionConfig(k=4, k_mode="dispersion", k_min=2, k_max=6)
    np.testing.assert_array_equal(
        k_series(cfg, np.array([1.0, 2.0, 0.5, 0.1, np.nan])), [4, 2, 6, 6, 4]
    )


def test_trailing_funding_uses_only_published_events() -> None:
    rate = np.zeros((10, 1))
    rate[8, 0] = 0.001  # event inside bar 8
    tf = trailing_funding(rate, 4)
    assert (tf[:8, 0] == 0).all()  # never seen before its bar
    assert tf[8, 0] == 0.001 / 4


def test_average_correlation_of_identical_and_independent_names() -> None:
    rng = np.random.default_rng(1)
    base = np.cumsum(rng.normal(0, 0.01, 600))
    same = np.column_stack([base, base + 0.5, base + 1.0])
    mask = np.ones_like(same, dtype=bool)
    assert average_correlation(same, mask, 200)[-1] > 0.999
    indep = np.cumsum(rng.normal(0, 0.01, (600, 8)), axis=0)
    assert abs(average_correlation(indep, np.ones_like(indep, dtype=bool), 400)[-1]) < 0.15


def test_auto_regime_goes_tsmom_only_when_all_conditions_hold() -> None:
    n = 400
    rng = np.random.default_rng(2)
    common = np.cumsum(np.full(n, 0.002) + rng.normal(0, 0.001, n))  # strong shared uptrend
    logp = np.column_stack([common + rng.normal(0, 1e-4, n) for _ in range(4)])
    vol = np.full_like(logp, 0.001)
    score = np.zeros_like(logp) + rng.normal(0, 1e-3, logp.shape)
    mask = np.ones_like(logp, dtype=bool)
    syms = ["BTC/USDT:USDT", "ETH/USDT:USDT", "A/USDT:USDT", "B/USDT:USDT"]
    cfg = RegimeConfig(
        mode="auto",
        corr_lookback=50,
        dispersion_lookback=50,
        trend_lookback=48,
        corr_threshold=0.5,
        dispersion_threshold=10.0,
        trend_threshold=1.0,
    )
    assert regime_series(syms, logp, vol, score, mask, cfg)[-1] == 1
    strict = cfg.model_copy(update={"trend_threshold": 1e9})
    assert regime_series(syms, logp, vol, score, mask, strict)[-1] == 0
    no_proxy = ["A/USDT:USDT", "B/USDT:USDT", "C/USDT:USDT", "D/USDT:USDT"]
    assert regime_series(no_proxy, logp, vol, score, mask, cfg)[-1] == 0


def test_universe_filters() -> None:
    n = 10
    close = np.full((n, 4), 10.0)
    close[:3, 1] = np.nan  # short history
    close[:, 2] = 0.5  # below min price
    volume = np.array([100.0, 100.0, 100.0, 1.0])[None, :].repeat(n, 0)
    syms = ["A/USDT:USDT", "B/USDT:USDT", "C/USDT:USDT", "D/USDT:USDT"]
    cfg = UniverseConfig(max_symbols=2, liquidity_lookback=3, min_price=1.0, min_history=5)
    m = universe_mask(syms, close, volume, cfg)
    assert m[-1].tolist() == [True, True, False, False]  # D ranks third by volume
    assert not m[5, 1] and m[7, 1]
    denied = universe_mask(syms, close, volume, cfg.model_copy(update={"deny": ("A/USDT:USDT",)}))
    assert denied[-1].tolist() == [False, True, False, True]
