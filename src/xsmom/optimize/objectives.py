"""Objectives: what a trial maximizes, computed from a backtest's metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from xsmom.config.optimize import PenaltyConfig
from xsmom.errors import StrategyError

OBJECTIVES: tuple[str, ...] = ("sharpe", "sortino", "calmar", "penalized")


def objective_value(name: str, metrics: Mapping[str, float], penalty: PenaltyConfig) -> float:
    """Return one objective (always maximized).

    ``penalized`` = Sharpe - penalty.turnover * annual turnover - penalty.drawdown * max drawdown.
    """
    if name == "penalized":
        value = (
            metrics["sharpe"]
            - penalty.turnover * metrics["turnover"]
            - penalty.drawdown * metrics["max_drawdown"]
        )
    elif name in OBJECTIVES:
        value = metrics[name]
    else:
        raise StrategyError(f"unknown objective {name!r}")
    if not math.isfinite(value):
        raise StrategyError(f"objective {name} is not finite ({value})")
    return float(value)


def objective_values(
    names: Sequence[str], metrics: Mapping[str, float], penalty: PenaltyConfig
) -> list[float]:
    """Return every configured objective in order."""
    return [objective_value(n, metrics, penalty) for n in names]
