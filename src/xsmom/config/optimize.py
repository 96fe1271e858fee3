"""The ``optimize`` section: walk-forward folds, search space, objectives, statistics and gate.

Read by :mod:`xsmom.optimize`. The search space may only name keys the backtest simulates
(``strategy.*``, ``costs.*``, ``backtest.*``) whose values are scalars or tuples of numbers;
every bound and choice is checked against that key's own schema when the config is loaded.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from xsmom.config.keys import leaf_keys

SEARCHABLE_SECTIONS = ("strategy", "costs", "backtest")
# Simulated keys that are policies, not parameters: never searched.
POLICY_KEYS = {"backtest.allow_funding_gaps": "a data policy (run despite missing funding)"}
Objective = Literal["sharpe", "sortino", "calmar", "penalized"]
Span = int | str
_SPAN = re.compile(r"^(?P<n>[0-9]+)(?P<unit>[mhdw])$")
_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
Choice = bool | int | float | str | tuple[int | float, ...]


# Every config model: frozen, unknown keys refused, strict types (no "24" for 24, no "yes" for
# true, no 1.5 for an int), finite floats only (no .inf, no .nan).
STRICT = ConfigDict(
    frozen=True, extra="forbid", validate_default=True, strict=True, allow_inf_nan=False
)
# Upper bound of every length in bars (about 11 years of hourly bars).
MAX_BARS = 100_000


class _Section(BaseModel):
    model_config = STRICT


def span_ms(span: str) -> int:
    """Return the length in ms of a duration like ``90d``, ``720h``, ``2w``."""
    m = _SPAN.match(span)
    if m is None:
        raise ValueError(f"invalid duration {span!r} (expected like 720h, 90d, 2w)")
    return int(m["n"]) * _UNIT_MS[m["unit"]]


def span_bars(span: Span, bar_ms: int) -> int:
    """Return a span as a number of bars: ints are bars, strings are durations."""
    if isinstance(span, int):
        return span
    return span_ms(span) // bar_ms


# Longest span: in bars (an int) or as a duration (a string like 90d).
MAX_SPAN_BARS = 10_000_000
MAX_SPAN_MS = 36_500 * _UNIT_MS["d"]


def _check_span(value: Span, name: str, *, allow_zero: bool) -> None:
    n = span_ms(value) if isinstance(value, str) else value
    if n < 0 or (n == 0 and not allow_zero):
        raise ValueError(f"{name} must be {'>= 0' if allow_zero else '> 0'}")
    if n > (MAX_SPAN_MS if isinstance(value, str) else MAX_SPAN_BARS):
        raise ValueError(f"{name} must be at most {MAX_SPAN_BARS} bars or 36500d")


def parse_date_ms(text: str) -> int:
    """Return an ISO date or datetime (UTC unless it has an offset) as ms since the epoch."""
    try:
        dt = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"invalid date {text!r} (expected ISO like 2025-06-01)") from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


class ParamSpec(_Section):
    """One searched key: an int or float range, or a list of choices."""

    type: Literal["int", "float", "categorical"] = Field(description="Kind of distribution.")
    low: int | float | None = Field(
        None, ge=-1e12, le=1e12, description="Lower bound (int, float)."
    )
    high: int | float | None = Field(
        None, ge=-1e12, le=1e12, description="Upper bound, inclusive (int, float)."
    )
    step: int | float | None = Field(
        None, gt=0, le=1e12, description="Grid step (int, float); none = continuous."
    )
    log: bool = Field(False, description="Sample on a log scale (int, float).")
    choices: tuple[Choice, ...] = Field((), description="Values to choose from (categorical).")

    @model_validator(mode="after")
    def _consistent(self) -> ParamSpec:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs choices")
            if self.low is not None or self.high is not None:
                raise ValueError("a categorical parameter takes choices, not low/high")
            return self
        if self.choices:
            raise ValueError(f"an {self.type} parameter takes low/high, not choices")
        if self.low is None or self.high is None or not self.low < self.high:
            raise ValueError("low and high are required and low must be < high")
        if self.log and (self.low <= 0 or self.step is not None):
            raise ValueError("log scale needs low > 0 and no step")
        whole = float(self.low).is_integer() and float(self.high).is_integer()
        if self.type == "int" and not whole:
            raise ValueError("int bounds must be whole numbers")
        return self

    def values_to_check(self) -> list[Any]:
        """Return the values whose validity against the key's schema is checked at load."""
        if self.type == "categorical":
            return list(self.choices)
        assert self.low is not None and self.high is not None
        if self.type == "int":
            return [int(self.low), int(self.high)]
        return [float(self.low), float(self.high)]


class FoldConfig(_Section):
    """Walk-forward folds (xsmom.optimize.folds). Spans are bars (int) or durations (90d)."""

    mode: Literal["rolling", "anchored"] = Field(
        "rolling", description="rolling: fixed-length training window; anchored: from start."
    )
    n_folds: int = Field(4, ge=1, le=1000, description="Number of scored (out-of-sample) folds.")
    train: Span = Field("120d", description="Training length (anchored: the first fold's).")
    test: Span = Field("30d", description="Out-of-sample length of each fold.")
    embargo: Span = Field(
        "1d", description="Gap between training and test, and after each test window."
    )
    label_horizon: int = Field(
        1,
        ge=1,
        le=MAX_BARS,
        description="Bars a training bar's label depends on: 1 = the next bar's return, "
        "what the backtest objective scores.",
    )
    purge: Span | None = Field(
        None,
        description="Bars purged before each test window; none = label_horizon (lookback "
        "warm-up is not purged: training may use history).",
    )
    start: str | None = Field(
        None, description="First bar used (ISO date, UTC); none = data start."
    )
    end: str | None = Field(None, description="End of the data used (ISO date, exclusive).")

    @field_validator("train", "test", "embargo", "purge")
    @classmethod
    def _span(cls, value: Span | None, info: ValidationInfo) -> Span | None:
        if value is not None:
            name = str(info.field_name)
            _check_span(value, name, allow_zero=name in ("embargo", "purge"))
        return value

    @model_validator(mode="after")
    def _valid(self) -> FoldConfig:
        lo = parse_date_ms(self.start) if self.start else None
        hi = parse_date_ms(self.end) if self.end else None
        if lo is not None and hi is not None and lo >= hi:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class PenaltyConfig(_Section):
    """Weights of the penalized objective: sharpe - turnover*w_t - max_drawdown*w_d."""

    turnover: float = Field(
        0.002,
        ge=0,
        le=1000,
        description="Penalty per unit of annualized turnover (0.002: 100x a year costs 0.2 "
        "Sharpe on top of the simulated costs).",
    )
    drawdown: float = Field(
        1.0, ge=0, le=1000, description="Penalty per unit of max drawdown (0.2 = 20%)."
    )


class StatsConfig(_Section):
    """Overfitting statistics (xsmom.optimize.stats)."""

    cscv_blocks: int = Field(16, ge=2, le=20, description="CSCV blocks S for PBO (even).")
    bootstrap_samples: int = Field(1000, ge=100, le=1_000_000, description="Bootstrap resamples.")
    bootstrap_block: int | None = Field(
        None,
        ge=1,
        le=MAX_BARS,
        description="Mean block length of the stationary bootstrap; none = 1 day.",
    )
    confidence: float = Field(0.95, gt=0, lt=1, description="Bootstrap interval coverage.")

    @model_validator(mode="after")
    def _even(self) -> StatsConfig:
        if self.cscv_blocks % 2:
            raise ValueError("cscv_blocks must be even")
        return self


class GateConfig(_Section):
    """Acceptance margins a candidate must meet against the current config."""

    min_sharpe_gain: float = Field(
        0.1,
        ge=-1000,
        le=1000,
        description="Walk-forward OOS Sharpe minus the current config's must be >= this.",
    )
    min_ci_low_gain: float = Field(
        -0.5,
        ge=-1000,
        le=1000,
        description="Bootstrap lower bound minus the current OOS Sharpe must be >= this.",
    )
    min_deflated_sharpe: float = Field(0.9, ge=0, le=1, description="Minimum deflated Sharpe.")
    max_pbo: float = Field(0.5, ge=0, le=1, description="Maximum probability of overfitting.")


def _default_space() -> dict[str, ParamSpec]:
    # around the defaults (hourly bars): signal, selection and the turnover keys (rebalance
    # period, band, stops); see docs/defaults.md
    return {
        "strategy.signal.lookbacks": ParamSpec(
            type="categorical",
            choices=((72, 168, 336), (168, 336), (168, 336, 504, 672), (336, 504, 672)),
        ),
        "strategy.signal.vol_lookback": ParamSpec(type="int", low=168, high=1344, step=168),
        "strategy.selection.k": ParamSpec(type="int", low=2, high=5),
        "strategy.selection.exit_band": ParamSpec(type="int", low=0, high=3),
        "strategy.selection.weight_band": ParamSpec(type="float", low=0.0, high=0.5, step=0.05),
        "strategy.portfolio.rebalance_every": ParamSpec(
            type="categorical", choices=(24, 72, 168, 336)
        ),
        "strategy.exits.atr_stop": ParamSpec(type="float", low=0.0, high=24.0, step=3.0),
        "strategy.exits.trail_atr": ParamSpec(type="float", low=0.0, high=24.0, step=3.0),
    }


class OptimizeConfig(_Section):
    """Walk-forward optimization: what is searched, how it is scored and when it is accepted."""

    objectives: tuple[Objective, ...] = Field(
        ("penalized",),
        min_length=1,
        description="One objective (TPE) or several (NSGA-II); penalized = Sharpe minus "
        "turnover and drawdown penalties.",
    )
    sampler: Literal["auto", "tpe", "nsga2", "random"] = Field(
        "auto", description="auto: TPE for one objective, NSGA-II for several."
    )
    trials: int = Field(
        100, ge=1, le=1_000_000, description="Trials per study (each fold and the final one)."
    )
    seed: int = Field(
        0, ge=0, le=2**32 - 1, description="Seed of the samplers (worker i uses seed + i)."
    )
    space: dict[str, ParamSpec] = Field(
        default_factory=_default_space, description="Searched keys (dotted paths) and ranges."
    )
    folds: FoldConfig = FoldConfig()
    penalty: PenaltyConfig = PenaltyConfig()
    stats: StatsConfig = StatsConfig()
    gate: GateConfig = GateConfig()

    @model_validator(mode="after")
    def _space_keys(self) -> OptimizeConfig:
        if not self.space:
            raise ValueError("space must name at least one key")
        for key, spec in self.space.items():
            check_searchable(key, spec)
        return self


def _section_roots() -> dict[str, type[BaseModel]]:
    # Imported here: schema.py imports this module for the root ``optimize`` field. Start
    # from the section classes: the root Config may still be under construction when the
    # default OptimizeConfig is validated.
    from xsmom.config import schema

    return {
        "strategy": schema.StrategyConfig,
        "costs": schema.CostConfig,
        "backtest": schema.BacktestConfig,
    }


def searchable_field(key: str) -> Any:
    """Return the pydantic FieldInfo of a dotted config key, or raise ValueError."""
    parts = key.split(".")
    if parts[0] not in SEARCHABLE_SECTIONS or len(parts) < 2:
        raise ValueError(
            f"'{key}' is not searchable: only keys under "
            f"{', '.join(s + '.*' for s in SEARCHABLE_SECTIONS)} (what the backtest simulates)"
        )
    if key in POLICY_KEYS:
        raise ValueError(f"'{key}' is not searchable: {POLICY_KEYS[key]}")
    model = _section_roots()[parts[0]]
    field = None
    for i, part in enumerate(parts[1:], start=1):
        field = model.model_fields.get(part)
        if field is None:
            raise ValueError(f"'{key}' is not a config key")
        ann = field.annotation
        if i < len(parts) - 1:
            if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
                raise ValueError(f"'{key}' is not a config key")
            model = ann
    assert field is not None
    ann = field.annotation
    if isinstance(ann, type) and issubclass(ann, BaseModel):
        raise ValueError(f"'{key}' is a section, not a value")
    text = str(ann)
    if "dict" in text or "str, ..." in text or ann is str:
        raise ValueError(f"'{key}' holds names or mappings and is not searchable")
    extra = field.json_schema_extra
    if isinstance(extra, dict) and extra.get("searchable") is False:
        raise ValueError(f"'{key}' is a data policy, not a strategy parameter: not searchable")
    return field


def simulated_keys() -> list[str]:
    """Return every dotted key the backtest simulates (all leaves of the searchable sections)."""
    roots = _section_roots()
    return [k for section in SEARCHABLE_SECTIONS for k in leaf_keys(roots[section], f"{section}.")]


def searchable_keys() -> list[str]:
    """Return the simulated keys the optimizer may search (scalars and numeric tuples)."""
    out = []
    for key in simulated_keys():
        try:
            searchable_field(key)
        except ValueError:
            continue
        out.append(key)
    return out


def _nest(parts: list[str], value: Any) -> dict[str, Any]:
    out: dict[str, Any] = {parts[-1]: value}
    for part in reversed(parts[:-1]):
        out = {part: out}
    return out


def check_searchable(key: str, spec: ParamSpec) -> None:
    """Raise ValueError unless ``key`` is searchable and every bound/choice fits its schema.

    Each value is validated inside its section with the other keys at their defaults; the
    key's own constraints refuse it here, rules across keys fail the trials that break them.
    """
    field = searchable_field(key)
    ann_text = str(field.annotation)
    if spec.type != "categorical" and "tuple" in ann_text:
        raise ValueError(f"'{key}' holds a tuple: search it with categorical choices")
    if spec.type == "float" and field.annotation is int:
        raise ValueError(f"'{key}' is an int: use type int")
    parts = key.split(".")
    section = _section_roots()[parts[0]]
    own = tuple(parts[1:])
    for value in spec.values_to_check():
        try:
            section.model_validate(_nest(parts[1:], value))
        except ValidationError as exc:
            # Errors of the key itself refuse the space; rules across keys (located at the
            # section) depend on the other values and are checked for each trial instead.
            mine = [e for e in exc.errors() if tuple(e["loc"])[: len(own)] == own]
            if mine:
                msg = mine[0]["msg"]
                raise ValueError(f"value {value!r} is invalid for '{key}': {msg}") from exc
