"""Which config trades now, and the hooks that run after every processed bar.

`active_config` is the one answer to "which config runs now": the version the rollout made
active in the ledger (metadata ``active_config_version``), else the config file. Functions
given to `register_bar_hook` run after every bar an engine of this process processed.
A `TargetsPlan` given to the engine may change what the real account trades at a bar (the
rollout's small stage blends a candidate's weights in); the engine records which versions and
shares made the bar's weights.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from xsmom.config import Config, config_from_dict, recorded_version_id, version_id
from xsmom.data.panel import MarketPanel
from xsmom.errors import CorruptStateError
from xsmom.ledger import Ledger, LedgerReads, LedgerTx
from xsmom.live.cycle import META_ACTIVE

log = logging.getLogger(__name__)

__all__ = [
    "BAR_HOOKS",
    "META_PLAN",
    "BarContext",
    "BarHook",
    "TargetMix",
    "TargetsPlan",
    "active_config",
    "mix_targets",
    "record_plan",
    "register_bar_hook",
    "reload_reason",
]


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


@dataclass(frozen=True, kw_only=True)
class TargetMix:
    """What the real account trades at a bar, and which versions made it with what share."""

    weights: Mapping[str, float]
    stops: Mapping[str, float]
    shares: Mapping[str, float]  # version id -> fraction of the capital it trades
    note: str = ""  # a warning recorded with the plan (e.g. a candidate on other data)


# (panel, active version, active weights, active stop levels) -> a mix, or None: active only
TargetsPlan = Callable[
    [MarketPanel, str, Mapping[str, float], Mapping[str, float]], TargetMix | None
]
BAR_HOOKS: list[BarHook] = []
META_PLAN = "targets_plan"


def mix_targets(
    plan: TargetsPlan | None,
    panel: MarketPanel,
    version: str,
    weights: dict[str, float],
    stops: dict[str, float],
    bar_ts: int,
) -> tuple[dict[str, float], dict[str, float], dict[str, Any]]:
    """Return the bar's weights and stops after ``plan``, and the record of who made them."""
    mix = None if plan is None else plan(panel, version, weights, stops)
    if mix is None:
        return weights, stops, {"bar_ts": bar_ts, "shares": {version: 1.0}, "note": ""}
    doc = {"bar_ts": bar_ts, "shares": dict(mix.shares), "note": mix.note}
    return dict(mix.weights), dict(mix.stops), doc


def record_plan(
    tx: LedgerTx, plan: Mapping[str, Any], previous: Mapping[str, Any] | None, now: int
) -> None:
    """Record an event ``plan_changed`` when the bar's versions, shares or note changed."""
    same = previous is not None and dict(plan["shares"]) == dict(previous["shares"])
    if same and previous is not None and plan["note"] == previous.get("note", ""):
        return
    parts = ", ".join(f"{share:g} x {v[:12]}" for v, share in plan["shares"].items())
    note = f" ({plan['note']})" if plan["note"] else ""
    tx.record_guard_event(
        ts=now,
        guard="engine",
        event="plan_changed",
        reason=f"targets from bar {plan['bar_ts']}: {parts}{note}"[:2000],
        detail=dict(plan),
    )


def reload_reason(ledger: LedgerReads, version: str) -> str:
    """Return the event text of a SIGHUP reload of config ``version`` (who trades next)."""
    active = ledger.get_meta(META_ACTIVE)
    if active and active != version:  # the rollout's active version wins over the file
        log.warning("SIGHUP: the ledger's active version %s keeps trading", str(active)[:12])
        return (
            f"config file reloaded (version {version[:12]}), but the ledger's active version "
            f"{str(active)[:12]} keeps trading: submit the file with xsmom rollout submit"
        )
    return f"config file reloaded: version {version[:12]} from the next bar"


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
    if recorded_version_id(view.config) != vid:
        raise CorruptStateError(f"active config version {vid} does not match its stored config")
    cfg = config_from_dict(dict(view.config), f"version {str(vid)[:12]}")
    if version_id(cfg) != vid:  # recorded by an older release: new keys take their defaults
        log.info("active version %s: keys added since it was recorded take defaults", vid[:12])
    return cfg, str(vid)
