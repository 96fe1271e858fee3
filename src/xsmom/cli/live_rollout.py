"""The staged rollout inside ``xsmom live`` (``rollout.enabled``), wired where packages meet.

`wire_rollout` gives the engine what the rollout needs, and nothing else crosses between them:

- ``ensure_active``: on the first start, the config the engine starts with becomes the
  recorded active version (a rollback always has a version to return to); later starts keep
  what the rollout made active;
- the engine's targets plan: `SmallStageBlend` (the small stage's capital split);
- a `RolloutHook` after every bar, on the engine's own store (its new bars stay in memory
  until flushed) with the engine's exchange as market-data source, the config's costs as the
  paper accounts' fee model, the notify channels, and the optional restart command.
"""

from __future__ import annotations

from collections.abc import Sequence

from xsmom.config import Config
from xsmom.ledger import Ledger
from xsmom.live.engine import Engine
from xsmom.live.runner import paper_config
from xsmom.notify import Channel
from xsmom.rollout import RestartCommand, RolloutHook, SmallStageBlend, ensure_active


def wire_rollout(
    engine: Engine, cfg: Config, ledger: Ledger, channels: Sequence[Channel] = ()
) -> RolloutHook | None:
    """Wire the rollout into ``engine`` when ``cfg.rollout.enabled``; return its hook.

    The caller closes the hook (it persists the paper accounts) before the engine's parts.
    """
    settings = cfg.rollout
    if not settings.enabled:
        return None
    ensure_active(ledger, cfg, now_ms=engine.parts.clock(), channels=channels)
    restart = None
    if settings.restart_command:
        restart = RestartCommand(
            settings.restart_command,
            ledger,
            timeout_s=settings.restart_timeout_s,
            channels=channels,
        )
    hook = RolloutHook(
        engine.home.path,
        ledger,
        engine.parts.exchange,
        engine.parts.clock,
        store=engine.feed.store,
        fees=paper_config(cfg).fees,
        channels=channels,
        restart=restart,
    )
    engine.plan = SmallStageBlend(ledger)
    engine.hooks.append(hook)
    return hook
