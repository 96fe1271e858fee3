"""Shared set-up of the engine tests: a small fast config, a venue, an engine on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from xsmom.config import Config, config_from_dict, version_id
from xsmom.data import load_panel
from xsmom.data.store import ParquetStore
from xsmom.ledger import Ledger, open_home_ledger
from xsmom.live.cycle import Alerts
from xsmom.live.engine import Engine
from xsmom.live.home import Home
from xsmom.live.runner import LiveOptions, build_engine
from xsmom.strategy import compute_targets
from xsmom.venue.testing import TEST_API_KEY, TEST_API_SECRET, RunningVenue, start_venue

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT", "LTC/USDT:USDT"]
HOUR = 3_600_000
START_MS = 1_756_684_800_000  # 2025-09-01 00:00 UTC, inside the bundled sample
KEYS_ENV = {
    "XSMOM_BINANCEUSDM_API_KEY": TEST_API_KEY,
    "XSMOM_BINANCEUSDM_API_SECRET": TEST_API_SECRET,
}


def fast_config(**over: Any) -> dict[str, Any]:
    """Return a config dict whose strategy trades within a few bars of a short warm-up."""
    doc: dict[str, Any] = {
        "name": "engine-test",
        "data": {"timeframe": "1h", "symbols": list(SYMBOLS)},
        "strategy": {
            "universe": {"max_symbols": 5, "liquidity_lookback": 24, "min_history": 48},
            "signal": {"lookbacks": [6, 12, 24], "vol_lookback": 24},
            "regime": {"dispersion_lookback": 48, "corr_lookback": 24, "trend_lookback": 24},
            "selection": {"k": 1, "exit_band": 0, "weight_band": 0.0},
            "portfolio": {"rebalance_every": 4, "gross_leverage": 1.0, "max_weight": 0.5},
            "exits": {"atr_period": 12, "cooldown_bars": 2},
        },
        "live": {
            "execution": {
                "quote_source": "last",
                "taker_after_s": 0,
                "drift_threshold": 0.0,
                "stop_orders": True,
            },
            "guards": {"daily_loss_limit": 0.0, "max_drawdown": 0.0},
            "engine": {"warmup_bars": 120, "reconcile_every": 3, "poll_s": 0.05},
        },
    }
    for path, value in over.items():
        node = doc
        keys = path.split("__")
        for k in keys[:-1]:
            node = node.setdefault(k, {})
        node[keys[-1]] = value
    return doc


def write_config(path: Path, doc: dict[str, Any]) -> Path:
    """Write ``doc`` as YAML to ``path``."""
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return path


@contextmanager
def venue(start: int = START_MS, **kw: Any) -> Iterator[RunningVenue]:
    """Start the simulated venue over the bundled sample, clock frozen at ``start``."""
    kw.setdefault("weight_limit", 1_000_000)  # the engine test is not about rate limits
    with start_venue("sample", start=start, speed=0.0, symbols=list(SYMBOLS), **kw) as rv:
        yield rv


def make_engine(
    rv: RunningVenue, home: Path, cfg: Config, *, paper: bool = False, **opts: Any
) -> tuple[Engine, Ledger]:
    """Build an engine for ``cfg`` trading ``rv`` (or paper on its data) from ``home``."""
    bot = Home(home).create()
    ledger = open_home_ledger(bot.path)
    options = LiveOptions(home=bot.path, paper=paper, venue=rv.url, **opts)
    engine = build_engine(cfg, options, bot, ledger, alerts=Alerts())
    engine.feed._sleep = lambda _s: None  # download retries without waiting
    return engine, ledger


def venue_orders(rv: RunningVenue) -> int:
    """Return how many orders the venue has received."""
    return len(rv.venue.engine.orders())


def replay_targets(home: Path, cfg: Config) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Return (timestamps, weights, symbols) of compute_targets on the engine's own store."""
    panel = load_panel(ParquetStore(Path(home) / "store"), cfg.data.timeframe, cfg.data.symbols)
    tg = compute_targets(panel, cfg.strategy)
    return panel.timestamps, tg.weights, panel.symbols


def config(doc: dict[str, Any]) -> tuple[Config, str]:
    """Return the config of ``doc`` and its version id."""
    cfg = config_from_dict(doc)
    return cfg, version_id(cfg)
