"""What the engine trades at a bar: the active config, and the small-stage candidate's share.

``capital_plan(ledger)`` reads the ledger (the only channel between the rollout and the
engine); ``blend_targets`` is the pure function that mixes the two target-weight vectors.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from xsmom.config.rollout import RolloutConfig
from xsmom.errors import ConfigError, DataError
from xsmom.ledger import LedgerReads
from xsmom.rollout.stages import SMALL, active_config, active_version


def blend_targets(
    active: Mapping[str, float], candidate: Mapping[str, float], fraction: float
) -> dict[str, float]:
    """Return ``(1 - fraction) x active + fraction x candidate`` per symbol (missing = 0).

    Weights are fractions of the whole account's equity, so the candidate trades ``fraction``
    of the capital with its own weights and the active config the rest with its own.
    """
    if not 0.0 <= fraction <= 1.0:
        raise ConfigError(f"capital fraction must be within [0, 1], got {fraction}")
    out: dict[str, float] = {}
    for symbol in sorted(set(active) | set(candidate)):
        a, c = float(active.get(symbol, 0.0)), float(candidate.get(symbol, 0.0))
        if not (math.isfinite(a) and math.isfinite(c)):
            raise DataError(f"{symbol}: target weight is not a number ({a}, {c})")
        out[symbol] = (1.0 - fraction) * a + fraction * c
    return out


@dataclass(frozen=True, kw_only=True)
class CapitalPlan:
    """Which versions trade the real account at this bar, and the candidate's share."""

    active: str | None
    small: str | None
    fraction: float  # of capital for ``small`` (0 when there is none)


def capital_plan(reads: LedgerReads, settings: RolloutConfig | None = None) -> CapitalPlan:
    """Return the active version, the small-stage version (if any) and its capital fraction.

    ``settings`` default to the active config's ``rollout`` section.
    """
    small = [v for v, s in reads.rollout_stages().items() if s.stage == SMALL]
    if len(small) > 1:
        raise ConfigError(f"rollout: more than one version at small ({', '.join(small)})")
    if settings is None:
        cfg = active_config(reads)
        settings = cfg.rollout if cfg is not None else RolloutConfig()
    fraction = settings.small.capital_fraction if small else 0.0
    return CapitalPlan(
        active=active_version(reads), small=small[0] if small else None, fraction=fraction
    )
