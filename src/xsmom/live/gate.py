"""`Gate`: the one place that allows or denies each order, driven by the guards.

Each cycle the engine calls ``gate.update(GateInputs(...))``: every guard gives a verdict,
the most restrictive wins, and the changes come back as events (a guard tripped, recovered
or alerted; the trading state changed). Then every command passes ``gate.check(cmd)``:

- cancels are always allowed (they reduce risk);
- HALTED denies every order, REDUCING every order that is not reduce-only;
- an order that would open a position beyond ``max_open_positions`` is denied;
- before the first ``update`` of a session nothing is allowed.

A denial is a `Denied` event with its reason. ``to_state`` / ``from_state`` carry every
guard's memory and last verdict, so a restart neither lifts a halt nor repeats its events.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xsmom.config.live import GuardsConfig
from xsmom.errors import CorruptStateError
from xsmom.exchange.state import TradingState
from xsmom.live.events import (
    ALLOWED,
    Decision,
    Denied,
    GateEvent,
    GuardAlerted,
    GuardRecovered,
    GuardTripped,
    TradingStateChanged,
)
from xsmom.live.guards import OK, GateInputs, Guard, Verdict, default_guards
from xsmom.live.orders import CancelOrder, Command

GATE_KEY = "gate"


@dataclass(frozen=True, kw_only=True)
class GateStatus:
    """A snapshot for status displays."""

    state: TradingState
    reason: str
    flatten: bool
    verdicts: dict[str, Verdict]


class Gate:
    """Combine the guards into one trading state and check every command against it."""

    def __init__(self, config: GuardsConfig, guards: list[Guard] | None = None) -> None:
        self.config = config
        self.max_positions = config.max_open_positions
        self.guards = guards if guards is not None else default_guards(config)
        names = [g.name for g in self.guards]
        if len(set(names)) != len(names) or GATE_KEY in names:
            raise ValueError(f"guard names must be unique and not {GATE_KEY!r}: {names}")
        self.verdicts: dict[str, Verdict] = {g.name: OK for g in self.guards}
        self.state = TradingState.HALTED
        self.reason = "the gate has not been evaluated yet"
        self.flatten = False
        self._now: int | None = None
        self._positions: set[str] = set()
        self._admitted: set[str] = set()

    # ---- the cycle ---------------------------------------------------------------------------
    def update(self, inputs: GateInputs) -> list[GateEvent]:
        """Evaluate every guard on ``inputs``; return the events of what changed."""
        now = inputs.now_ms
        events: list[GateEvent] = []
        for guard in self.guards:
            verdict = guard.evaluate(inputs)
            events += self._guard_events(guard.name, self.verdicts[guard.name], verdict, now)
            self.verdicts[guard.name] = verdict
        restricting = [v for v in self.verdicts.values() if v.state is not TradingState.ACTIVE]
        state = TradingState.worst(*(v.state for v in restricting))
        reason = "; ".join(v.reason for v in restricting if v.state is state)
        flatten = any(v.flatten for v in restricting)
        if (state, reason, flatten) != (self.state, self.reason, self.flatten):
            if state is not self.state or flatten != self.flatten:
                why = reason or "every guard clear"
                events.append(
                    TradingStateChanged(
                        ts_event=now,
                        ts_init=now,
                        old=self.state,
                        new=state,
                        reason=why,
                        flatten=flatten,
                    )
                )
            self.state, self.reason, self.flatten = state, reason, flatten
        self._now = now
        self._positions = {s for s, q in inputs.positions.items() if q != 0}
        self._admitted = set()
        return events

    @staticmethod
    def _guard_events(name: str, old: Verdict, new: Verdict, now: int) -> list[GateEvent]:
        out: list[GateEvent] = []
        # a reason that only changes its numbers (drawdown 21 % -> 22 %) is not a new event
        moved = (new.state, new.flatten) != (old.state, old.flatten)
        if moved and new.state is not TradingState.ACTIVE:
            out.append(
                GuardTripped(
                    ts_event=now,
                    ts_init=now,
                    guard=name,
                    state=new.state,
                    reason=new.reason,
                    flatten=new.flatten,
                )
            )
        elif moved:
            out.append(
                GuardRecovered(
                    ts_event=now, ts_init=now, guard=name, reason=f"cleared: {old.reason}"
                )
            )
        if new.alert:
            out.append(GuardAlerted(ts_event=now, ts_init=now, guard=name, message=new.alert))
        return out

    def check(self, command: Command) -> Decision:
        """Return Allowed, or a Denied event with the reason."""
        if isinstance(command, CancelOrder):
            return ALLOWED
        req = command.request
        if self._now is None:
            return self._deny(
                command.symbol, req.client_id, "the gate was not updated this session"
            )
        if not self.state.allows(reduce_only=req.reduce_only):
            kind = "reduce-only order" if req.reduce_only else "order"
            why = f"{kind} refused, trading {self.state.value}: {self.reason}"
            return self._deny(command.symbol, req.client_id, why)
        if req.reduce_only or req.symbol in self._positions or req.symbol in self._admitted:
            return ALLOWED
        held = len(self._positions | self._admitted)
        if self.max_positions > 0 and held >= self.max_positions:
            why = f"would open position {held + 1}, above max_open_positions {self.max_positions}"
            return self._deny(command.symbol, req.client_id, why)
        self._admitted.add(req.symbol)
        return ALLOWED

    def _deny(self, symbol: str, client_id: str | None, reason: str) -> Denied:
        now = self._now if self._now is not None else 0
        return Denied(
            ts_event=now,
            ts_init=now,
            symbol=symbol,
            client_id=client_id,
            state=self.state,
            reason=reason,
        )

    def adjust_targets(self, targets: Mapping[str, float]) -> dict[str, float]:
        """Return ``targets``, or all zeros while a guard asks to flatten."""
        return {s: 0.0 if self.flatten else float(q) for s, q in targets.items()}

    def status(self) -> GateStatus:
        """Return the state, its reason and every guard's verdict."""
        return GateStatus(
            state=self.state, reason=self.reason, flatten=self.flatten, verdicts=dict(self.verdicts)
        )

    # ---- persistence -------------------------------------------------------------------------
    def to_state(self) -> dict[str, dict[str, Any]]:
        """Return {guard name: its state and last verdict, "gate": the combined state}."""
        out = {
            g.name: {**g.to_state(), "verdict": self.verdicts[g.name].to_dict()}
            for g in self.guards
        }
        out[GATE_KEY] = {"state": self.state.value, "reason": self.reason, "flatten": self.flatten}
        return out

    def from_state(self, states: Mapping[str, Mapping[str, Any]]) -> None:
        """Restore what ``to_state`` returned (guards missing from it start fresh)."""
        try:
            for guard in self.guards:
                saved = states.get(guard.name)
                if saved is None:
                    continue
                guard.from_state(saved)
                self.verdicts[guard.name] = Verdict.from_dict(saved["verdict"])
            gate = states.get(GATE_KEY)
            if gate is not None:
                self.state = TradingState(gate["state"])
                self.reason, self.flatten = str(gate["reason"]), bool(gate["flatten"])
        except (KeyError, TypeError, ValueError) as exc:
            raise CorruptStateError(f"saved gate state unreadable: {exc}") from exc
