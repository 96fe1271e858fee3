"""The ``strategy.meta`` section: gate the strategy's entries with a trained meta-labeler.

Read by :mod:`xsmom.meta.gate` through :func:`xsmom.strategy.compute_targets`, so the
backtest, the optimizer and the live engine gate the same entries. Off by default (empty
``model``). Training settings are options of ``xsmom meta train``, recorded in the model.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from xsmom.config.optimize import STRICT


class MetaConfig(BaseModel):
    """Which model gates the strategy's entries, and how."""

    model_config = STRICT

    model: str = Field(
        "",
        description="Model version folder written by `xsmom meta train` (trusted input); "
        "empty = no gating.",
    )
    mode: Literal["drop", "scale"] = Field(
        "drop",
        description="drop: an entry below the threshold is not taken; scale: an entry at or "
        "above it is scaled by its probability (below it is dropped).",
    )
    threshold: float | None = Field(
        None, ge=0, le=1, description="Probability an entry needs; none = the model's CV choice."
    )
