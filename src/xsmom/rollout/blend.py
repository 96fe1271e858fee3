"""What the engine trades at a bar: the active config, and the small-stage candidate's share.

``capital_plan(ledger)`` reads the ledger (the only channel between the rollout and the
engine); ``blend_targets`` is the pure function that mixes the two target-weight vectors;
`SmallStageBlend` is the engine's targets plan (``Engine.plan``, wired by ``xsmom live``) that
applies them at every bar on the engine's own panel.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import dataclass

from xsmom.config import Config
from xsmom.config.rollout import RolloutConfig
from xsmom.data.panel import MarketPanel
from xsmom.errors import ConfigError, DataError, StrategyError
from xsmom.ledger import LedgerReads
from xsmom.live.active import TargetMix
from xsmom.rollout.stages import SMALL, active_config, active_version, config_of
from xsmom.strategy import compute_targets

log = logging.getLogger(__name__)


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


class SmallStageBlend:
    """The engine's targets plan: blend the small-stage version's weights into the bar's.

    At each bar: ``capital_plan`` from the ledger; without a version at small, None (the
    active version trades alone). Otherwise the candidate's weights come from
    ``compute_targets`` on the SAME panel as the active version's (the engine's), and the
    account trades ``blend_targets(active, candidate, fraction)``. Stop levels: the active
    version's, and the candidate's for symbols the active version does not hold.

    When the candidate's targets cannot be computed (its stored config or the strategy fails
    on this panel), the active version trades the whole account at this bar and the plan's
    note says why (an event ``plan_changed``, a warning in the log): the candidate's own
    failure must not stop the active version's trading.
    """

    def __init__(self, reads: LedgerReads) -> None:
        self.reads = reads
        self._configs: dict[str, Config] = {}

    def __call__(
        self,
        panel: MarketPanel,
        version: str,
        weights: Mapping[str, float],
        stops: Mapping[str, float],
    ) -> TargetMix | None:
        """Return the blended weights of this bar, or None without a version at small."""
        plan = capital_plan(self.reads)
        if plan.small is None:
            return None
        try:
            cfg = self._config(plan.small)
            tg = compute_targets(panel, cfg.strategy)
        except (ConfigError, DataError, StrategyError) as exc:
            why = f"small-stage version {plan.small[:12]} not blended at this bar: {exc}"
            log.warning("%s", why)
            return TargetMix(weights=weights, stops=stops, shares={version: 1.0}, note=why)
        cand: dict[str, float] = {}
        own_stops: dict[str, float] = {}
        for i, s in enumerate(panel.symbols):
            w, stop = float(tg.weights[-1, i]), float(tg.stop_price[-1, i])
            cand[s] = w if math.isfinite(w) else 0.0
            if math.isfinite(stop) and cand[s] != 0 and s not in stops:
                own_stops[s] = stop
        mixed = blend_targets(weights, cand, plan.fraction)
        f = plan.fraction
        return TargetMix(
            weights=mixed,
            stops={**own_stops, **stops},
            shares={version: 1.0 - f, plan.small: f},
            note=_data_note(cfg, panel),
        )

    def _config(self, version: str) -> Config:
        if version not in self._configs:
            self._configs = {version: config_of(self.reads, version)}  # one at small at a time
        return self._configs[version]


def _data_note(cfg: Config, panel: MarketPanel) -> str:
    wanted = set(cfg.data.symbols)
    if wanted and wanted != set(panel.symbols):
        return (
            "the small-stage version lists other symbols: its weights are computed on the "
            "active version's panel"
        )
    return ""
