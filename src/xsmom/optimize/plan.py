"""From a config and the data to a research panel and its walk-forward fold plan."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from xsmom.config import Config, canonical_json
from xsmom.config.optimize import parse_date_ms, span_bars
from xsmom.data import MarketPanel, ParquetStore, load_panel
from xsmom.errors import ConfigError
from xsmom.optimize.folds import FoldPlan, make_folds


def load_research_panel(store: ParquetStore, cfg: Config) -> MarketPanel:
    """Load the panel of ``cfg.data`` restricted to ``optimize.folds.start/end``."""
    f = cfg.optimize.folds
    start = parse_date_ms(f.start) if f.start else None
    end = parse_date_ms(f.end) if f.end else None
    symbols = list(cfg.data.symbols) if cfg.data.symbols else None
    panel = load_panel(store, cfg.data.timeframe, symbols, start_ms=start, end_ms=end)
    if start is not None and end is not None and panel.n_bars == 0:
        raise ConfigError(f"no bars between {f.start} and {f.end}")
    return panel


def plan_from_config(cfg: Config, panel: MarketPanel) -> FoldPlan:
    """Lay out the folds of ``cfg.optimize.folds`` on ``panel``."""
    f = cfg.optimize.folds
    bar = panel.bar_ms
    horizon = span_bars(f.purge, bar) if f.purge is not None else f.label_horizon
    plan = make_folds(
        panel.n_bars,
        n_folds=f.n_folds,
        train=span_bars(f.train, bar),
        test=span_bars(f.test, bar),
        embargo=span_bars(f.embargo, bar),
        horizon=horizon,
        mode=f.mode,
    )
    blocks = cfg.optimize.stats.cscv_blocks
    if plan.final.train.size < 2 * blocks:
        raise ConfigError(
            f"the final window has {plan.final.train.size} bars: too few for "
            f"{blocks} CSCV blocks of 2+ bars (lower optimize.stats.cscv_blocks)"
        )
    return plan


def iso(ts_ms: int) -> str:
    """Return a UTC ISO timestamp for ms since the epoch."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).isoformat(timespec="minutes")


def trial_relevant(cfg: Config) -> Config:
    """Return ``cfg`` without the settings that do not change what a trial computes.

    The trial budget, seed, gate and bootstrap settings may change between runs of one
    study; everything else (strategy, costs, backtest, space, folds, objectives, CSCV
    blocks) must not.
    """
    opt = cfg.optimize
    neutral = type(opt)().model_copy(update={"space": opt.space})
    stats = neutral.stats.model_copy(update={"cscv_blocks": opt.stats.cscv_blocks})
    keep = {
        "space": opt.space,
        "folds": opt.folds,
        "objectives": opt.objectives,
        "sampler": opt.sampler,
        "penalty": opt.penalty,
        "stats": stats,
    }
    return cfg.model_copy(update={"optimize": neutral.model_copy(update=keep)})


def default_study_name(cfg: Config, panel: MarketPanel) -> str:
    """Return a study name fixed by the trial-relevant config and the data range.

    The same inputs give the same name, so an interrupted run resumes its study.
    """
    raw = json.loads(canonical_json(trial_relevant(cfg)))
    key = {
        "config": raw,
        "symbols": list(panel.symbols),
        "first": int(panel.timestamps[0]),
        "last": int(panel.timestamps[-1]),
    }
    digest = hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    return f"xsmom-{digest[:12]}"
