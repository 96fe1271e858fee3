"""`RolloutHook`: what the live engine runs after each bar for the rollout.

Register it with the engine's per-bar hooks (``xsmom.live.engine.register_bar_hook`` or the
engine's ``hooks``): it paper-trades the paper- and small-stage versions (`Shadow`), then
applies the evaluator's verdicts (`Pipeline.tick`). The engine reads the outcome from the
ledger at its next bar (``active_config_version``, and ``capital_plan`` for the small stage).
When a verdict changed the active version, the optional ``restart`` runs (after the commit).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from xsmom.data import ParquetStore
from xsmom.exchange.interface import MarketData
from xsmom.ledger import Ledger
from xsmom.notify import Channel
from xsmom.rollout.pipeline import Pipeline
from xsmom.rollout.shadow import Shadow, ShadowStep
from xsmom.rollout.stages import Transition
from xsmom.sim import FeeModel


class BarInfo(Protocol):
    """The part of the engine's bar context the hook reads."""

    @property
    def bar_ts(self) -> int:
        """Return the open time of the bar that just closed."""
        ...

    @property
    def now_ms(self) -> int:
        """Return the exchange time the engine processed it at."""
        ...


class RolloutHook:
    """Paper versions and verdicts after every bar of the engine."""

    def __init__(
        self,
        home: Path,
        ledger: Ledger,
        source: MarketData,
        clock: Callable[[], int],
        *,
        store: ParquetStore | None = None,
        fees: FeeModel | None = None,
        channels: Sequence[Channel] = (),
        restart: Callable[[str, int], object] | None = None,
    ) -> None:
        store = store or ParquetStore(Path(home) / "store")
        self.shadow = Shadow(home, ledger, source, clock, store=store, fees=fees)
        self.pipeline = Pipeline(ledger, store, channels=channels)
        self.last_steps: list[ShadowStep] = []
        self.last_transitions: list[Transition] = []
        self.restart = restart

    def __call__(self, ctx: BarInfo) -> None:
        """Trade the paper versions on the closed bar, then promote or roll back."""
        self.last_steps = self.shadow.on_bar(ctx.bar_ts)
        self.last_transitions = self.pipeline.tick(ctx.now_ms)
        switched = [t for t in self.last_transitions if t.active_version != t.previous_active]
        if switched and self.restart is not None and switched[-1].active_version:
            self.restart(switched[-1].active_version, ctx.now_ms)

    def close(self) -> None:
        """Persist the paper accounts."""
        self.shadow.close()
