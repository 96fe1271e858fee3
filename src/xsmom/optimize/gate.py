"""The acceptance gate: a candidate must beat the current config by configured margins."""

from __future__ import annotations

import math
from dataclasses import dataclass

from xsmom.config.optimize import GateConfig


@dataclass(frozen=True)
class Check:
    """One gate rule and its outcome."""

    name: str
    value: float
    threshold: float
    passed: bool


@dataclass(frozen=True)
class GateResult:
    """Whether the candidate is accepted, and why."""

    accepted: bool
    checks: tuple[Check, ...]

    def reasons(self) -> list[str]:
        """Return one line per failed rule."""
        return [
            f"{c.name} = {c.value:.4g} (needs {'<=' if c.name == 'pbo' else '>='} "
            f"{c.threshold:.4g})"
            for c in self.checks
            if not c.passed
        ]


def _ge(name: str, value: float, threshold: float) -> Check:
    return Check(name, value, threshold, math.isfinite(value) and value >= threshold)


def evaluate_gate(
    cfg: GateConfig,
    *,
    oos_sharpe: float,
    current_oos_sharpe: float,
    ci_low: float,
    deflated_sharpe: float,
    pbo: float,
) -> GateResult:
    """Apply every rule of ``cfg``; NaN values never pass."""
    checks = (
        _ge("sharpe_gain", oos_sharpe - current_oos_sharpe, cfg.min_sharpe_gain),
        _ge("ci_low_gain", ci_low - current_oos_sharpe, cfg.min_ci_low_gain),
        _ge("deflated_sharpe", deflated_sharpe, cfg.min_deflated_sharpe),
        Check("pbo", pbo, cfg.max_pbo, math.isfinite(pbo) and pbo <= cfg.max_pbo),
    )
    return GateResult(all(c.passed for c in checks), checks)
