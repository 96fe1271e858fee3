"""Which config trades now, and the hooks that run after every processed bar.

`active_config` is the one answer to "which config runs now": the version the rollout made
active in the ledger (metadata ``active_config_version``), else the config file. Functions
given to `register_bar_hook` run after every bar an engine of this process processed.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from xsmom.config import Config, config_from_dict, version_id
from xsmom.data.panel import MarketPanel
from xsmom.errors import CorruptStateError
from xsmom.ledger import Ledger, LedgerReads
from xsmom.live.cycle import META_ACTIVE

__all__ = ["BAR_HOOKS", "BarContext", "BarHook", "active_config", "register_bar_hook"]


@dataclass(frozen=True, kw_only=True)
class BarContext:
    """What a bar hook sees after the engine processed a bar."""

    bar_ts: int
    now_ms: int
    config: Config
    version: str
    panel: MarketPanel
    weights: Mapping[str, float]
    ledger: Ledger


BarHook = Callable[[BarContext], None]
BAR_HOOKS: list[BarHook] = []


def register_bar_hook(hook: BarHook) -> None:
    """Run ``hook`` after every bar any engine of this process processes (rollout paper runs)."""
    BAR_HOOKS.append(hook)


def active_config(ledger: LedgerReads, fallback: Config) -> tuple[Config, str]:
    """Return the config that trades now and its version id.

    A version the rollout made active (ledger metadata ``active_config_version``, recorded in
    ``config_versions``) wins; otherwise ``fallback`` (the config file, reloaded on SIGHUP).
    """
    vid = ledger.get_meta(META_ACTIVE)
    if not vid:
        return fallback, version_id(fallback)
    view = ledger.config_version(str(vid))  # ConfigError when the ledger never recorded it
    cfg = config_from_dict(dict(view.config))
    if version_id(cfg) != vid:
        raise CorruptStateError(f"active config version {vid} does not match its stored config")
    return cfg, str(vid)
