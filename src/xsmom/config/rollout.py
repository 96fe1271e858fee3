"""The ``rollout`` section: stage durations, capital split and the evaluator's thresholds.

Read by :mod:`xsmom.rollout` (``Pipeline.tick`` reads the stages and the evaluator,
``capital_plan`` reads ``small.capital_fraction``). The settings in force are those of the
ACTIVE config version (docs/rollout.md).
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from xsmom.config.optimize import STRICT

HOURS = 24 * 365  # upper bound of every duration: a year


class _Section(BaseModel):
    model_config = STRICT


class PaperStageConfig(_Section):
    """The paper stage: the candidate trades the paper adapter beside the active config."""

    min_hours: float = Field(
        168.0,
        ge=0,
        le=HOURS,
        description="Hours a candidate paper-trades before it may be promoted.",
    )
    min_fills: int = Field(
        20, ge=0, le=1_000_000, description="Paper fills needed before a promotion to small."
    )
    max_candidates: int = Field(
        3, ge=1, le=20, description="Versions paper-trading at once (champion and challengers)."
    )


class SmallStageConfig(_Section):
    """The small stage: the candidate trades a fraction of the real capital."""

    min_hours: float = Field(
        168.0, ge=0, le=HOURS, description="Hours at small capital before a promotion to full."
    )
    min_fills: int = Field(
        20, ge=0, le=1_000_000, description="Fills needed before a promotion to full."
    )
    capital_fraction: float = Field(
        0.1,
        gt=0,
        lt=1,
        description="Fraction of capital the candidate trades; the active config holds the rest.",
    )


class EvaluatorConfig(_Section):
    """How live results are compared with the backtest of the same window (docs/rollout.md)."""

    min_days: int = Field(
        5,
        ge=2,
        le=365,
        description="Daily returns needed before any verdict (promote or roll back).",
    )
    bootstrap_samples: int = Field(
        1000,
        ge=100,
        le=100_000,
        description="Resamples of the paired daily returns for the band.",
    )
    block_days: int = Field(
        2,
        ge=1,
        le=60,
        description="Length in days of the bootstrap's moving blocks (keeps autocorrelation).",
    )
    confidence: float = Field(
        0.9, gt=0, lt=1, description="Two-sided coverage of the band (0.9: 5 % .. 95 %)."
    )
    sharpe_tolerance: float = Field(
        0.5,
        ge=0,
        le=100,
        description="Annualized Sharpe below the backtest's still counted as in band.",
    )
    return_tolerance: float = Field(
        0.01,
        ge=0,
        le=10,
        description="Total return (fraction) below the backtest's still in band.",
    )
    drawdown_tolerance: float = Field(
        0.02,
        ge=0,
        le=1,
        description="Extra max drawdown (fraction) over the backtest's still in band.",
    )
    cost_tolerance: float = Field(
        0.002,
        ge=0,
        le=1,
        description="Extra costs (fees + slippage, fraction of starting equity) still in band.",
    )
    rollback_threshold: float = Field(
        1.0,
        ge=0,
        le=100,
        description="Roll back when a figure is below its band by more than this x its tolerance.",
    )
    seed: int = Field(
        0, ge=0, le=2**31 - 1, description="Seed of the bootstrap (verdicts are reproducible)."
    )


class RolloutConfig(_Section):
    """Staged rollout of new config versions: candidate -> paper -> small -> full."""

    enabled: bool = Field(
        False,
        description="xsmom live runs the rollout: paper candidates, the small stage's capital "
        "split and automatic promotion (read from the config xsmom live starts with).",
    )
    restart_command: tuple[str, ...] = Field(
        (),
        max_length=64,
        description="Command (argv list) run after a promotion or rollback changed the active "
        "version; empty: none (the engine trades the new version from the next bar by itself).",
    )
    restart_timeout_s: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="Seconds the restart command may run before it is killed (a failure).",
    )
    auto: bool = Field(
        True, description="Promote and roll back on the evaluator's verdict (false: only by hand)."
    )
    paper_capital: float = Field(
        10_000.0,
        gt=0,
        le=1e12,
        description="Starting balance (USDT) of each paper candidate's account.",
    )
    probation_hours: float = Field(
        168.0,
        ge=0,
        le=HOURS,
        description="Hours after a promotion to full during which live results or a guard trip "
        "roll it back to the previous version (0 = never).",
    )
    paper: PaperStageConfig = PaperStageConfig()
    small: SmallStageConfig = SmallStageConfig()
    evaluator: EvaluatorConfig = EvaluatorConfig()
