"""Walk-forward optimization: folds with purge and embargo, a phased Optuna search in an RDB
storage, overfitting statistics (deflated Sharpe, PBO by CSCV, bootstrap), the acceptance
gate, the report and the full cycle. See docs/optimize.md.

Names are imported on first use, so ``xsmom.optimize.folds`` alone does not load Optuna.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Fold": "folds",
    "FoldPlan": "folds",
    "Window": "folds",
    "make_folds": "folds",
    "purge_and_embargo": "folds",
    "deflated_sharpe": "stats",
    "expected_max_sharpe": "stats",
    "probabilistic_sharpe": "stats",
    "pbo": "stats",
    "pbo_from_blocks": "stats",
    "bootstrap_sharpe_interval": "stats",
    "GateResult": "gate",
    "evaluate_gate": "gate",
    "Evaluator": "evaluate",
    "Analysis": "analysis",
    "analyze": "analysis",
    "OptimizeRun": "api",
    "run_optimize": "api",
    "CycleInputs": "cycle",
    "run_cycle": "cycle",
    "ConsoleNotifier": "notify",
    "Notifier": "notify",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'xsmom.optimize' has no attribute {name!r}")
    return getattr(importlib.import_module(f"xsmom.optimize.{module}"), name)
