"""Score one parameter set: targets once on the whole panel, the kernel on each window."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from xsmom.backtest import BacktestResult, run_backtest
from xsmom.config import Config
from xsmom.data import MarketPanel
from xsmom.optimize.folds import FoldPlan, Window
from xsmom.optimize.objectives import objective_values
from xsmom.optimize.space import apply_params
from xsmom.optimize.stats import block_stats
from xsmom.strategy import StageCache, Targets, compute_targets

F64 = npt.NDArray[np.float64]


@dataclass
class Timing:
    """Seconds spent in the strategy and in the backtest kernel (incl. metrics)."""

    targets: float = 0.0
    kernel: float = 0.0
    calls: int = 0

    @property
    def total(self) -> float:
        """Return the research time (targets + kernel)."""
        return self.targets + self.kernel


@dataclass(frozen=True)
class TrialEval:
    """Training scores of one trial on the windows of its phase and later ones."""

    train: dict[str, list[float]]
    metrics: dict[str, dict[str, float]]
    final_blocks: list[list[float]]
    final_sharpe: float
    seconds: float
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """Return the JSON-safe record stored with the trial (one user attribute)."""
        return {
            "train": self.train,
            "blocks": self.final_blocks,
            "final_sr": self.final_sharpe,
            "seconds": round(self.seconds, 6),
        }


class Evaluator:
    """Run the backtest of parameter sets on the folds of a plan."""

    def __init__(self, panel: MarketPanel, base: Config, plan: FoldPlan) -> None:
        self.panel = panel
        self.base = base
        self.plan = plan
        self.opt = base.optimize
        self.timing = Timing()
        # stages whose parameters a trial did not change (scores, universe, ATR, ...) are
        # reused across trials; results are identical with or without it
        self.cache = StageCache(panel, max_entries=24)

    def config_for(self, params: Mapping[str, Any]) -> Config:
        """Return the base config with ``params`` applied (ConfigError if invalid)."""
        return apply_params(self.base, params)

    def targets(self, cfg: Config) -> Targets:
        """Compute targets on the whole panel (causal: bar t sees bars <= t only)."""
        t0 = time.perf_counter()
        tg = compute_targets(self.panel, cfg.strategy, cache=self.cache)
        self.timing.targets += time.perf_counter() - t0
        return tg

    def run(self, cfg: Config, targets: Targets, window: Window) -> BacktestResult:
        """Backtest one window of the panel."""
        t0 = time.perf_counter()
        res = run_backtest(self.panel, cfg, targets=targets, start=window.start, stop=window.stop)
        self.timing.kernel += time.perf_counter() - t0
        return res

    def evaluate(self, params: Mapping[str, Any], phase: int) -> TrialEval:
        """Score ``params`` on the training windows of folds ``phase`` .. final."""
        t0 = time.perf_counter()
        cfg = self.config_for(params)
        tg = self.targets(cfg)
        train: dict[str, list[float]] = {}
        metrics: dict[str, dict[str, float]] = {}
        final: BacktestResult | None = None
        for fold in self.plan.folds[phase:]:
            res = self.run(cfg, tg, fold.train)
            train[str(fold.index)] = objective_values(
                self.opt.objectives, res.metrics, self.opt.penalty
            )
            metrics[fold.name] = {k: float(v) for k, v in res.metrics.items()}
            final = res
        assert final is not None
        blocks = block_stats(final.returns, self.opt.stats.cscv_blocks)
        sd = float(np.std(final.returns, ddof=1)) if final.returns.size > 1 else 0.0
        sr = float(np.mean(final.returns)) / sd if sd > 0 else 0.0
        self.timing.calls += 1
        return TrialEval(
            train=train,
            metrics=metrics,
            final_blocks=blocks.tolist(),
            final_sharpe=sr,
            seconds=time.perf_counter() - t0,
        )
