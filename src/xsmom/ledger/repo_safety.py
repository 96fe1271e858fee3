"""Trading state, guards, engine metadata and rollout stages: writes and reads."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select

from xsmom.ledger._base import Reads, Writes, check_json, to_view, upsert
from xsmom.ledger.models import (
    GuardEvent,
    GuardState,
    Meta,
    RolloutStage,
    RolloutTransition,
    StateChange,
)
from xsmom.ledger.views import (
    TRADING_STATES,
    EventView,
    GuardEventView,
    GuardStateView,
    RolloutStageView,
    RolloutTransitionView,
    StateChangeView,
    check_value,
)


class SafetyWrites(Writes):
    """Record state changes, guard events and state, metadata and rollout stages."""

    def record_state_change(
        self, *, ts: int, from_state: str | None, to_state: str, reason: str
    ) -> None:
        """Record a trading-state transition (active, reducing, halted) and why."""
        src = None if from_state is None else check_value(from_state, TRADING_STATES, "state")
        dst = check_value(to_state, TRADING_STATES, "trading state")
        self._s.add(StateChange(ts=int(ts), from_state=src, to_state=dst, reason=reason))

    def record_guard_event(
        self,
        *,
        ts: int,
        guard: str,
        event: str,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> None:
        """Record something a guard did (tripped, recovered, denied an order, ...)."""
        body = dict(check_json(dict(detail or {}), f"detail of guard event {guard}/{event}"))
        self._s.add(GuardEvent(ts=int(ts), guard=guard, event=event, reason=reason, detail=body))

    def save_guard_state(self, guard: str, state: Mapping[str, Any], ts: int) -> None:
        """Persist a guard's state (replacing the previous one) so a restart resumes it."""
        body = dict(check_json(dict(state), f"state of guard {guard}"))
        upsert(
            self._s,
            GuardState.__table__,  # type: ignore[arg-type]
            {"guard": guard, "state": body, "updated_ms": int(ts)},
            ("guard",),
        )

    def set_meta(self, key: str, value: Any, ts: int) -> None:
        """Set engine metadata ``key`` to a JSON value (last bar, last fill seen, ...)."""
        upsert(
            self._s,
            Meta.__table__,  # type: ignore[arg-type]
            {"key": key, "value": check_json(value, f"meta {key}"), "updated_ms": int(ts)},
            ("key",),
        )

    def set_rollout_stage(
        self,
        version_id: str,
        *,
        stage: str,
        ts: int,
        reason: str,
        detail: Mapping[str, Any] | None = None,
    ) -> bool:
        """Put a config version (recorded first) at ``stage``; return False if already there.

        Each change is also a rollout transition with ``reason``.
        """
        body = dict(check_json(dict(detail or {}), f"rollout detail of {version_id}"))
        row = self._s.get(RolloutStage, version_id)
        before = None if row is None else row.stage
        if row is None:
            self._s.add(RolloutStage(version_id=version_id, stage=stage, since_ms=ts, detail=body))
        elif row.stage == stage:
            row.detail = body
            return False
        else:
            row.stage, row.since_ms, row.detail = stage, int(ts), body
        self._s.add(
            RolloutTransition(
                ts=int(ts), version_id=version_id, from_stage=before, to_stage=stage, reason=reason
            )
        )
        return True


class SafetyReads(Reads):
    """Read state changes, guards, metadata, the event timeline and rollout stages."""

    def trading_state(self) -> StateChangeView | None:
        """Return the latest trading-state change (its ``to_state`` is the state), or None."""
        q = select(StateChange).order_by(StateChange.ts.desc(), StateChange.id.desc()).limit(1)
        with self._reading() as s:
            row = s.scalars(q).first()
            return None if row is None else to_view(StateChangeView, row)

    def state_changes(
        self, *, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[StateChangeView]:
        """Return trading-state changes with ``since_ms <= ts < until_ms``, oldest first."""
        q = select(StateChange).order_by(StateChange.ts, StateChange.id)
        if since_ms is not None:
            q = q.where(StateChange.ts >= since_ms)
        if until_ms is not None:
            q = q.where(StateChange.ts < until_ms)
        with self._reading() as s:
            return [to_view(StateChangeView, r) for r in s.scalars(q)]

    def guard_events(
        self,
        *,
        since_ms: int | None = None,
        until_ms: int | None = None,
        guard: str | None = None,
    ) -> list[GuardEventView]:
        """Return guard events with ``since_ms <= ts < until_ms`` (of one guard, or all)."""
        q = select(GuardEvent).order_by(GuardEvent.ts, GuardEvent.id)
        if since_ms is not None:
            q = q.where(GuardEvent.ts >= since_ms)
        if until_ms is not None:
            q = q.where(GuardEvent.ts < until_ms)
        if guard is not None:
            q = q.where(GuardEvent.guard == guard)
        with self._reading() as s:
            return [to_view(GuardEventView, r) for r in s.scalars(q)]

    def guard_states(self) -> dict[str, GuardStateView]:
        """Return every persisted guard state by guard name."""
        with self._reading() as s:
            rows = s.scalars(select(GuardState).order_by(GuardState.guard))
            return {r.guard: to_view(GuardStateView, r) for r in rows}

    def guard_state(self, guard: str) -> GuardStateView | None:
        """Return one guard's persisted state, or None if it never saved one."""
        with self._reading() as s:
            row = s.get(GuardState, guard)
            return None if row is None else to_view(GuardStateView, row)

    def get_meta(self, key: str, default: Any = None) -> Any:
        """Return the value of metadata ``key``, or ``default`` when it was never set."""
        with self._reading() as s:
            row = s.get(Meta, key)
            return default if row is None else row.value

    def meta(self) -> dict[str, Any]:
        """Return every metadata key and value."""
        with self._reading() as s:
            return {r.key: r.value for r in s.scalars(select(Meta).order_by(Meta.key))}

    def events(
        self, *, since_ms: int | None = None, until_ms: int | None = None
    ) -> list[EventView]:
        """Return state changes and guard events as one timeline, oldest first."""
        out = [
            EventView(
                ts=c.ts,
                source="state",
                name="trading_state",
                event="changed",
                from_state=c.from_state,
                to_state=c.to_state,
                reason=c.reason,
            )
            for c in self.state_changes(since_ms=since_ms, until_ms=until_ms)
        ]
        out += [
            EventView(
                ts=g.ts,
                source="guard",
                name=g.guard,
                event=g.event,
                from_state=None,
                to_state=None,
                reason=g.reason,
                detail=g.detail,
            )
            for g in self.guard_events(since_ms=since_ms, until_ms=until_ms)
        ]
        # At one ts a guard event precedes the state change it caused; the sort is stable,
        # so each source keeps the order it was written in.
        out.sort(key=lambda e: (e.ts, 0 if e.source == "guard" else 1))
        return out

    def rollout_stages(self) -> dict[str, RolloutStageView]:
        """Return the rollout stage of every version in the pipeline."""
        with self._reading() as s:
            rows = s.scalars(select(RolloutStage).order_by(RolloutStage.since_ms))
            return {r.version_id: to_view(RolloutStageView, r) for r in rows}

    def rollout_history(self) -> list[RolloutTransitionView]:
        """Return every rollout stage change, oldest first."""
        q = select(RolloutTransition).order_by(RolloutTransition.ts, RolloutTransition.id)
        with self._reading() as s:
            return [to_view(RolloutTransitionView, r) for r in s.scalars(q)]
