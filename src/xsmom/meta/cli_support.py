"""What ``xsmom backtest --meta`` needs: set the model, refuse trading before it applies."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from xsmom.config import Config
from xsmom.data.panel import MarketPanel
from xsmom.errors import ConfigError
from xsmom.meta.artifact import load_model_set
from xsmom.meta.gate import first_gated_ms


def with_meta(cfg: Config, model: Path | None) -> Config:
    """Return ``cfg`` with ``strategy.meta.model`` set to ``model`` (unchanged if None)."""
    if model is None:
        return cfg
    meta = cfg.strategy.meta.model_copy(update={"model": str(model)})
    strategy = cfg.strategy.model_copy(update={"meta": meta})
    out = cfg.model_copy(update={"strategy": strategy})
    load_model_set(model, out.strategy)  # refuse a mismatched model before any work
    return out


def check_meta_start(model: str, panel: MarketPanel, first: int) -> None:
    """Refuse a backtest whose first traded entry was decided before the model may gate.

    The entry traded at the open of bar ``first`` was decided at the close of ``first-1``.
    """
    gated_from = first_gated_ms(model)
    decided = int(panel.timestamps[first - 1]) if first > 0 else int(panel.timestamps[0]) - 1
    if decided < gated_from:
        start = datetime.fromtimestamp((gated_from + panel.bar_ms) / 1000, tz=UTC)
        raise ConfigError(
            f"model {model} gates entries decided from "
            f"{datetime.fromtimestamp(gated_from / 1000, tz=UTC):%Y-%m-%d %H:%M} UTC on (after "
            f"its training window): pass --start {start:%Y-%m-%dT%H:%M} or later"
        )
