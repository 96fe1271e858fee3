"""Metrics on tiny equity curves, computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

from xsmom.backtest.metrics import compute_metrics


def test_metrics_by_hand() -> None:
    eq = np.array([11_000.0, 9_900.0, 10_500.0])
    m = compute_metrics(
        eq,
        10_000.0,
        8760.0,
        fees=3.0,
        funding=-1.0,
        slippage=2.0,
        traded_notional=30_000.0,
        gross_exposure=np.array([1.0, 0.5, 0.0]),
        wins=3,
        losses=1,
    )
    r = [0.1, 9_900 / 11_000 - 1, 10_500 / 9_900 - 1]
    mean = sum(r) / 3
    sd = math.sqrt(sum((x - mean) ** 2 for x in r) / 2)
    down = math.sqrt((r[1] ** 2) / 3)
    assert m["total_return"] == pytest.approx(0.05)
    assert m["cagr"] == pytest.approx(1.05 ** (8760 / 3) - 1)
    assert m["sharpe"] == pytest.approx(mean / sd * math.sqrt(8760))
    assert m["sortino"] == pytest.approx(mean / down * math.sqrt(8760))
    assert m["max_drawdown"] == pytest.approx(0.1)
    assert m["calmar"] == pytest.approx(m["cagr"] / 0.1)
    mean_eq = (11_000 + 9_900 + 10_500) / 3
    assert m["turnover"] == pytest.approx(30_000 / mean_eq / (3 / 8760))
    assert m["hit_rate"] == 0.75
    assert m["exposure"] == pytest.approx(0.5)
    assert (m["fees"], m["funding"], m["slippage"]) == (3.0, -1.0, 2.0)


def test_flat_curve_has_zero_ratios() -> None:
    m = compute_metrics(np.full(10, 100.0), 100.0, 8760.0)
    assert m["sharpe"] == 0.0 and m["sortino"] == 0.0 and m["max_drawdown"] == 0.0
    assert m["calmar"] == 0.0 and m["hit_rate"] == 0.0


def test_ruin_gives_cagr_minus_one() -> None:
    m = compute_metrics(np.array([50.0, -10.0]), 100.0, 8760.0)
    assert m["cagr"] == -1.0
