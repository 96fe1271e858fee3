"""`Pipeline`: evaluate every version in the rollout and move it, automatically or by hand.

``tick(now_ms)`` (each bar, after the shadow): candidates take free paper slots; each paper,
small and (during its probation) full version is judged against its backtest; the verdicts
promote (paper -> small -> full) or roll back. Promotion to full and rollback of a full
version are one atomic switch of the active version (`stages.activate`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from xsmom.config.rollout import RolloutConfig
from xsmom.data import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import ConfigError
from xsmom.ledger import Ledger, LedgerTx, RolloutStageView
from xsmom.notify import Channel
from xsmom.rollout.evaluator import HOLD, PROMOTE, ROLLBACK, Paired, Verdict, judge
from xsmom.rollout.shadow import guard_trips
from xsmom.rollout.stages import (
    CANDIDATE,
    FULL,
    NEXT_STAGE,
    PAPER,
    ROLLED_BACK,
    SMALL,
    Transition,
    activate,
    active_config,
    active_version,
    config_of,
    move,
)
from xsmom.rollout.tracks import Track, account_track, day_bounds, pair, paper_track

log = logging.getLogger(__name__)
HOUR_MS = 3_600_000
# Guards a version's own trading can trip; the others (STOP file, circuit breaker, stale data,
# no-trade alert) say something about the operator, the exchange or the data, not the version.
STRATEGY_GUARDS = ("daily_loss", "drawdown", "margin")


@dataclass(frozen=True, kw_only=True)
class Evaluation:
    """A version's stage and the evaluator's verdict on it."""

    version: str
    stage: str
    since_ms: int
    verdict: Verdict | None

    def to_json(self) -> dict[str, Any]:
        """Return the JSON of one version in ``xsmom rollout status --json``."""
        return {
            "version": self.version,
            "stage": self.stage,
            "since_ms": self.since_ms,
            "evaluation": None if self.verdict is None else self.verdict.to_json(),
        }


class Pipeline:
    """The rollout of one home: evaluation and stage changes in its ledger."""

    def __init__(
        self,
        ledger: Ledger,
        store: ParquetStore,
        *,
        channels: Sequence[Channel] = (),
        settings: RolloutConfig | None = None,
    ) -> None:
        self.ledger, self.store, self.channels = ledger, store, channels
        self._settings = settings
        self._pairs: dict[tuple[str, int], tuple[int, Paired | None]] = {}

    @property
    def settings(self) -> RolloutConfig:
        """Return the rollout settings: given, else the active config's, else the defaults."""
        if self._settings is not None:
            return self._settings
        cfg = active_config(self.ledger)
        return cfg.rollout if cfg is not None else RolloutConfig()

    # ---- evaluation --------------------------------------------------------------------------
    def evaluate(
        self, row: RolloutStageView, now_ms: int, settings: RolloutConfig | None = None
    ) -> Verdict | None:
        """Return the verdict on one version at its stage (None: nothing to judge)."""
        st = settings or self.settings
        vid, since = row.version_id, row.since_ms
        hours = max(0, now_ms - since) / HOUR_MS
        if row.stage == FULL and not self._on_probation(row, now_ms, st):
            return None
        trips = self._trips(vid, row.stage, since)
        if trips:
            return Verdict(action=ROLLBACK, reasons=tuple(trips), hours=hours)
        if row.stage in (PAPER, SMALL):
            track = paper_track(self.ledger, vid, since)
            stage_cfg = st.paper if row.stage == PAPER else st.small
            min_fills, min_hours = stage_cfg.min_fills, stage_cfg.min_hours
        elif row.stage == FULL:
            track = account_track(self.ledger, since)
            min_fills, min_hours = 0, float("inf")
        else:
            return None
        data = self._pair(vid, since, track, real=row.stage == SMALL)
        verdict = judge(
            data,
            st.evaluator,
            fills=len(track.fills),
            hours=hours,
            min_fills=min_fills,
            min_hours=min_hours,
        )
        if data is not None and data.note:
            verdict = replace(verdict, reasons=(*verdict.reasons, data.note))
        return verdict

    def _pair(self, vid: str, since: int, track: Track, *, real: bool) -> Paired | None:
        # the figures change only when the track completes a day: backtest once per day
        days = len(day_bounds(track, self._bar_ms(vid)))
        cached = self._pairs.get((vid, since))
        if cached is None or cached[0] != days:  # one entry per version and stage: memory flat
            account = account_track(self.ledger, since) if real else None
            cfg = config_of(self.ledger, vid)
            cached = (days, pair(track, self.store, cfg, real=account))
            self._pairs[(vid, since)] = cached
        return cached[1]

    def _bar_ms(self, vid: str) -> int:
        return timeframe_ms(config_of(self.ledger, vid).data.timeframe)

    def _on_probation(self, row: RolloutStageView, now_ms: int, st: RolloutConfig) -> bool:
        hours = st.probation_hours
        has_previous = bool(row.detail.get("previous"))
        return has_previous and hours > 0 and now_ms - row.since_ms < hours * HOUR_MS

    def _trips(self, version: str, stage: str, since: int) -> list[str]:
        if stage == PAPER:
            return [
                f"guard {t['guard']} of the paper account tripped: {t['reason']}"
                for t in guard_trips(self.ledger, version, since)
                if t["guard"] in STRATEGY_GUARDS
            ]
        if stage in (SMALL, FULL):
            return [
                f"guard {e.guard} tripped while {version[:12]} traded at {stage}: {e.reason}"
                for e in self.ledger.guard_events(since_ms=since)
                if e.event == "tripped" and e.guard in STRATEGY_GUARDS
            ]
        return []

    def evaluations(self, now_ms: int) -> list[Evaluation]:
        """Return every version in the ledger's rollout with its current verdict."""
        st = self.settings
        return [
            Evaluation(
                version=v,
                stage=row.stage,
                since_ms=row.since_ms,
                verdict=self.evaluate(row, now_ms, st),
            )
            for v, row in self.ledger.rollout_stages().items()
        ]

    # ---- automatic moves ---------------------------------------------------------------------
    def tick(self, now_ms: int) -> list[Transition]:
        """Fill paper slots, judge every version and apply the verdicts (``rollout.auto``)."""
        st = self.settings
        if not st.auto:
            return []
        out = self._fill_paper(now_ms, st)
        for row in list(self.ledger.rollout_stages().values()):
            verdict = self.evaluate(row, now_ms, st)
            if verdict is None or verdict.action == HOLD:
                continue
            why = "; ".join(verdict.reasons)
            if verdict.action == ROLLBACK:
                out += self._rollback(row, f"live below its band: {why}", now_ms)
            elif verdict.action == PROMOTE and self._small_free(row):
                out += self._promote(row, f"evaluator: {why}", now_ms)
        return out

    def _fill_paper(self, now_ms: int, st: RolloutConfig) -> list[Transition]:
        out: list[Transition] = []
        with self.ledger.transaction() as tx:
            stages = tx.rollout_stages()
            free = st.paper.max_candidates - sum(1 for s in stages.values() if s.stage == PAPER)
            waiting = [v for v, s in stages.items() if s.stage == CANDIDATE][: max(free, 0)]
            for vid in waiting:
                t = self._move(tx, vid, PAPER, "a paper slot is free", now_ms)
                out += [t] if t else []
        return out

    def _small_free(self, row: RolloutStageView) -> bool:
        if row.stage != PAPER:
            return True
        return not any(s.stage == SMALL for s in self.ledger.rollout_stages().values())

    def _move(
        self, tx: LedgerTx, vid: str, stage: str, reason: str, now_ms: int
    ) -> Transition | None:
        detail = {k: v for k, v in tx.rollout_stages()[vid].detail.items() if k != "replaced_by"}
        return move(
            tx, vid, stage, reason=reason, now_ms=now_ms, channels=self.channels, detail=detail
        )

    def _promote(self, row: RolloutStageView, reason: str, now_ms: int) -> list[Transition]:
        nxt = NEXT_STAGE.get(row.stage)
        if nxt is None:
            raise ConfigError(f"version {row.version_id[:12]} at {row.stage} has no next stage")
        with self.ledger.transaction() as tx:
            if nxt == FULL:
                return activate(
                    tx, row.version_id, reason=reason, now_ms=now_ms, channels=self.channels
                )
            t = self._move(tx, row.version_id, nxt, reason, now_ms)
            return [t] if t else []

    def _rollback(self, row: RolloutStageView, reason: str, now_ms: int) -> list[Transition]:
        with self.ledger.transaction() as tx:
            if row.stage != FULL:
                t = self._move(tx, row.version_id, ROLLED_BACK, reason, now_ms)
                return [t] if t else []
            previous = row.detail.get("previous")
            if not previous or previous not in tx.rollout_stages():
                raise ConfigError(
                    f"version {row.version_id[:12]} has no previous version to roll back to"
                )
            return activate(
                tx,
                str(previous),
                reason=f"rollback of {row.version_id[:12]}: {reason}",
                now_ms=now_ms,
                channels=self.channels,
                old_stage=ROLLED_BACK,
            )

    # ---- by hand -----------------------------------------------------------------------------
    def promote(self, version: str, now_ms: int, reason: str = "by hand") -> list[Transition]:
        """Move ``version`` one stage forward (candidate -> paper -> small -> full)."""
        row = self.ledger.rollout_stages().get(version)
        if row is None:
            raise ConfigError(f"version {version[:12]} is not in the rollout")
        if row.stage not in NEXT_STAGE:
            raise ConfigError(f"version {version[:12]} is at {row.stage}: nothing to promote to")
        if row.stage == PAPER and not self._small_free(row):
            raise ConfigError("another version is at small: promote or roll it back first")
        return self._promote(row, reason, now_ms)

    def rollback(
        self, version: str | None, now_ms: int, reason: str = "by hand"
    ) -> list[Transition]:
        """Roll back ``version`` (default: the active one, back to the version before it)."""
        stages = self.ledger.rollout_stages()
        vid = version or active_version(self.ledger)
        if vid is None or vid not in stages:
            raise ConfigError("nothing to roll back: no such version in the rollout")
        row = stages[vid]
        if row.stage not in (CANDIDATE, PAPER, SMALL, FULL):
            raise ConfigError(f"version {vid[:12]} is at {row.stage}: nothing to roll back")
        return self._rollback(row, reason, now_ms)
