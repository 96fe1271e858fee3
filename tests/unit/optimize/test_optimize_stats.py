"""Deflated Sharpe, PBO by CSCV and the bootstrap interval, against published examples."""

from __future__ import annotations

import math
from itertools import combinations

import numpy as np
import pytest

from xsmom.optimize.stats import (
    block_stats,
    bootstrap_sharpe_interval,
    deflated_sharpe,
    expected_max_sharpe,
    moments,
    pbo,
    pbo_from_blocks,
    probabilistic_sharpe,
)


def test_deflated_sharpe_reproduces_the_published_numerical_example() -> None:
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", JPM 40(5), section
    "A numerical example": N = 100 trials, variance of the trials' annualized Sharpe 1/2,
    selected annualized Sharpe 2.5 over T = 1250 daily returns (5 years), skewness -3,
    kurtosis 10. The paper reports SR0 = 0.1132 (non-annualized) and DSR = 0.9004."""
    days = 250
    sr = 2.5 / math.sqrt(days)
    var = 0.5 / days
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=5e-5)
    dsr = deflated_sharpe(sr, 1250, n_trials=100, var_sharpe=var, skew=-3.0, kurtosis=10.0)
    assert dsr == pytest.approx(0.9004, abs=5e-4)


def test_probabilistic_sharpe_basics() -> None:
    # Observed Sharpe equal to the benchmark: probability one half.
    assert probabilistic_sharpe(0.1, 0.1, 500) == pytest.approx(0.5)
    # More observations, more confidence.
    assert probabilistic_sharpe(0.1, 0.0, 1000) > probabilistic_sharpe(0.1, 0.0, 100) > 0.5
    # One trial: nothing to deflate.
    assert deflated_sharpe(0.1, 500, n_trials=1, var_sharpe=0.01) == pytest.approx(
        probabilistic_sharpe(0.1, 0.0, 500)
    )


def test_cscv_with_16_blocks_forms_12870_combinations() -> None:
    """Bailey, Borwein, López de Prado & Zhu (2017), "The Probability of Backtest
    Overfitting", J. Computational Finance 20(4), section 2: with S = 16 CSCV forms
    C(16, 8) = 12,870 combinations."""
    rng = np.random.default_rng(1)
    res = pbo(rng.normal(0, 0.01, size=(1600, 5)), 16)
    assert res.n_combinations == 12870 == len(res.logits)


def _blocks_from_perf(perf: np.ndarray) -> np.ndarray:
    """Blocks (S, N, 3) whose pooled Sharpe over any union orders trials like ``perf`` sums.

    Each block holds two returns m +/- 1 per trial, so the block mean is m and the spread is
    the same for everyone.
    """
    s, n = perf.shape
    out = np.zeros((s, n, 3))
    for b in range(s):
        for j in range(n):
            r = np.array([perf[b, j] + 1.0, perf[b, j] - 1.0])
            out[b, j] = [2.0, r.sum(), (r * r).sum()]
    return out


def test_pbo_hand_worked_example() -> None:
    """The CSCV steps of Bailey et al. (2017, section 2.2) on S = 4 blocks, N = 3 trials,
    worked by hand. Block means per trial (rows = blocks, columns = trials):

        block 0:  3  0  1
        block 1:  3  0  1
        block 2:  0  2  1
        block 3:  0  2  1

    The 6 splits J (in sample) / complement (out of sample), IS winner, its OOS rank
    among 3 (1 = worst), omega = rank/4, logit = ln(omega / (1 - omega)):
      {0,1}/{2,3}: winner A (3 > 1 > 0); OOS means A 0, B 2, C 1 -> rank 1, logit ln(1/3)
      {2,3}/{0,1}: winner B; OOS A 3, B 0, C 1 -> rank 1, logit ln(1/3)
      {0,2},{0,3},{1,2},{1,3}: IS means A 1.5, B 1, C 1 -> winner A; OOS the same means
        -> rank 3, logit ln(3)
    PBO = share of logits <= 0 = 2/6 = 1/3.
    """
    perf = np.array([[3, 0, 1], [3, 0, 1], [0, 2, 1], [0, 2, 1]], dtype=float)
    res = pbo_from_blocks(_blocks_from_perf(perf))
    assert res.n_combinations == 6
    assert res.pbo == pytest.approx(1.0 / 3.0)
    assert sorted(np.round(res.logits, 6)) == sorted(
        np.round([math.log(1 / 3)] * 2 + [math.log(3)] * 4, 6)
    )


def test_pbo_limits() -> None:
    # One trial dominates every block: never overfit.
    perf = np.tile([2.0, 1.0, 0.0, -1.0], (8, 1))
    assert pbo_from_blocks(_blocks_from_perf(perf)).pbo == 0.0
    # The in-sample winner is always the out-of-sample loser: always overfit.
    perf = np.array([[1, 0]] * 4 + [[0, 1]] * 4, dtype=float)
    assert pbo_from_blocks(_blocks_from_perf(perf)).pbo == 1.0


def test_pbo_of_noise_is_high_and_of_real_skill_is_low() -> None:
    """No skill: the IS winner tends to sit at or below the OOS median (the halves are
    complementary, so a high IS Sharpe leaves a low OOS one). One trial with a real edge:
    it wins in and out of sample, PBO near 0 (Bailey et al. 2017, section 3)."""
    rng = np.random.default_rng(7)
    noise = rng.normal(0, 0.01, size=(2000, 40))
    assert pbo(noise, 10).pbo > 0.5
    skill = noise.copy()
    skill[:, 0] += 0.004
    assert pbo(skill, 10).pbo < 0.05


def test_block_stats_give_the_sharpe_of_the_concatenated_blocks() -> None:
    rng = np.random.default_rng(3)
    r = rng.normal(0.001, 0.01, size=400)
    b = block_stats(r, 8)
    for combo in list(combinations(range(8), 4))[:10]:
        cnt, s, ss = b[list(combo)].sum(axis=0)
        mean = s / cnt
        sd = math.sqrt((ss - cnt * mean * mean) / (cnt - 1))
        joined = np.concatenate([r[i * 50 : (i + 1) * 50] for i in combo])
        assert mean / sd == pytest.approx(joined.mean() / joined.std(ddof=1), rel=1e-9)


def test_moments_of_a_normal_sample() -> None:
    rng = np.random.default_rng(5)
    sr, skew, kurt = moments(rng.normal(0.1, 1.0, 200_000))
    assert sr == pytest.approx(0.1, abs=0.01)
    assert skew == pytest.approx(0.0, abs=0.05)
    assert kurt == pytest.approx(3.0, abs=0.05)


def test_bootstrap_interval_covers_the_true_sharpe() -> None:
    rng = np.random.default_rng(11)
    r = rng.normal(0.05, 1.0, 5000)  # per-period Sharpe 0.05; annualize with 100 periods
    lo, hi = bootstrap_sharpe_interval(r, periods_per_year=100, n_samples=400, mean_block=5)
    assert lo < 0.5 < hi
    assert hi - lo < 0.6
