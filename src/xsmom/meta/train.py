"""Train a model folder: one model on a window, or one per walk-forward fold.

A single model trained on bars ``[start, stop)`` gates closes from bar ``stop`` on. In
walk-forward mode the folds of ``optimize.folds`` (xsmom.optimize.folds: training windows
already purged and embargoed before each test) each give a model that gates its fold's test
window until the next fold's test starts; the final model gates what comes after the data.
So a model is only ever applied after its training window.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xsmom.config import Config, version_id
from xsmom.data.panel import MarketPanel
from xsmom.meta.artifact import save_model_set, strategy_settings
from xsmom.meta.dataset import build_dataset
from xsmom.meta.features import feature_names
from xsmom.meta.labels import LabelSpec
from xsmom.meta.models import Fitted, TrainOptions, fit_models
from xsmom.optimize.plan import plan_from_config

MemberSpec = tuple[str, int, Fitted, dict[str, Any]]


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=UTC).isoformat(timespec="minutes")


def _bar_ms(panel: MarketPanel, bar: int) -> int:
    # the time of bar ``bar``, also past the end of the panel (the next bars to come)
    return int(panel.timestamps[0]) + bar * panel.bar_ms


def train_member(
    name: str,
    panel: MarketPanel,
    cfg: Config,
    spec: LabelSpec,
    opts: TrainOptions,
    window: tuple[int, int],
    apply_from_bar: int,
) -> MemberSpec:
    """Fit the learners on events of bars ``window`` and return the member to save."""
    ds = build_dataset(panel, cfg, spec, *window)
    chosen, fitted = fit_models(ds, opts)
    record = {
        "train_start": _iso(_bar_ms(panel, window[0])),
        "train_end": _iso(_bar_ms(panel, window[1])),
        "apply_from": _iso(_bar_ms(panel, apply_from_bar)),
        "samples": ds.size,
        "learners": {f.kind: f.metrics for f in fitted},
    }
    return name, _bar_ms(panel, apply_from_bar), chosen, record


def _info(panel: MarketPanel, cfg: Config, spec: LabelSpec, opts: TrainOptions) -> dict[str, Any]:
    return {
        "features": list(feature_names(cfg.strategy)),
        "strategy": strategy_settings(cfg.strategy),
        "config_version": version_id(cfg),
        "costs": cfg.costs.model_dump(mode="json"),
        "labels": asdict(spec),
        "options": asdict(opts),
        "symbols": list(panel.symbols),
        "timeframe": panel.timeframe,
    }


def train_single(
    panel: MarketPanel,
    cfg: Config,
    spec: LabelSpec,
    opts: TrainOptions,
    out: Path,
) -> Path:
    """Train one model on the whole panel; it gates closes after the panel's last bar."""
    member = train_member("model", panel, cfg, spec, opts, (0, panel.n_bars), panel.n_bars)
    return save_model_set(out, [member], {**_info(panel, cfg, spec, opts), "mode": "single"})


def train_walk_forward(
    panel: MarketPanel, cfg: Config, spec: LabelSpec, opts: TrainOptions, out: Path
) -> Path:
    """Train one model per walk-forward fold of ``cfg.optimize.folds`` and the final one."""
    plan = plan_from_config(cfg, panel)
    members = []
    for fold in plan.folds:
        win = (fold.train.start, fold.train.stop)
        apply_from = fold.test.start if fold.test is not None else fold.train.stop
        members.append(train_member(fold.name, panel, cfg, spec, opts, win, apply_from))
    info = {
        **_info(panel, cfg, spec, opts),
        "mode": "walk_forward",
        "folds": [
            {
                "name": f.name,
                "train": [_iso(_bar_ms(panel, f.train.start)), _iso(_bar_ms(panel, f.train.stop))],
                "test": None
                if f.test is None
                else [_iso(_bar_ms(panel, f.test.start)), _iso(_bar_ms(panel, f.test.stop))],
            }
            for f in plan.folds
        ],
    }
    return save_model_set(out, members, info)
