"""Write what one engine cycle learned and did into the ledger, in the caller's transaction.

Events go to the ledger's event tables and their alerts to the outbox in the same transaction
(`xsmom.notify.enqueue` on the open ``tx``), so an event and its alert exist together or not at
all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from xsmom.exchange.breaker import BreakerClosed, BreakerEvent, BreakerOpened
from xsmom.exchange.reports import BalanceReport, FillReport, PositionReport
from xsmom.ledger import LedgerTx
from xsmom.live.events import (
    Denied,
    ExecutionEvent,
    GateEvent,
    GuardAlerted,
    GuardRecovered,
    GuardTripped,
    TradingStateChanged,
    to_record,
)
from xsmom.live.heartbeat import iso_utc
from xsmom.notify import (
    Channel,
    CircuitBreakerClosed,
    CircuitBreakerOpened,
    FillsSummarized,
    GuardTransitioned,
    Message,
    NoTradeAlerted,
    enqueue,
)

META_LAST_BAR = "last_bar"
META_EXEC = "execution_state"
META_VERSION = "config_version"
META_ACTIVE = "active_config_version"
META_RECONCILE = "reconcile"
META_ACCOUNT = "account"
META_STARTED = "first_started_ms"
META_RUN = "run"


@dataclass
class Alerts:
    """The channels alerts go to (none: events are still recorded)."""

    channels: Sequence[Channel] = ()
    sent: int = 0

    def add(self, tx: LedgerTx, message: Message, now_ms: int) -> None:
        """Enqueue ``message`` in ``tx`` for every channel that accepts it."""
        self.sent += enqueue(tx, message, self.channels, now_ms)


@dataclass(frozen=True, kw_only=True)
class CycleFacts:
    """What one cycle observed: account, targets, and the engine's memory to save."""

    now_ms: int
    bar_ts: int
    version: str
    weights: Mapping[str, float]
    target_qty: Mapping[str, float]
    balance: BalanceReport
    margin_ratio: float
    positions: Mapping[str, PositionReport]
    exec_state: Mapping[str, Any]
    guard_states: Mapping[str, Mapping[str, Any]]
    gate_state: str
    extra_meta: Mapping[str, Any] = field(default_factory=dict)


def record_gate_events(
    tx: LedgerTx, events: Sequence[GateEvent], alerts: Alerts, state_before: str
) -> None:
    """Record the gate's events (state changes, guard trips) and alert on each."""
    for e in events:
        if isinstance(e, TradingStateChanged):
            tx.record_state_change(
                ts=e.ts_event, from_state=e.old.value, to_state=e.new.value, reason=e.reason
            )
            continue
        rec = to_record(e)
        if isinstance(e, GuardTripped):
            tx.record_guard_event(
                ts=e.ts_event, guard=e.guard, event="tripped", reason=e.reason, detail=rec
            )
            msg: Message = GuardTransitioned(
                ts_event=e.ts_event,
                ts_init=e.ts_init,
                from_state=state_before,
                to_state=e.state.value,
                guard=e.guard,
                reason=e.reason,
            )
        elif isinstance(e, GuardRecovered):
            tx.record_guard_event(
                ts=e.ts_event, guard=e.guard, event="recovered", reason=e.reason, detail=rec
            )
            msg = GuardTransitioned(
                ts_event=e.ts_event,
                ts_init=e.ts_init,
                from_state=state_before,
                to_state="active",
                guard=e.guard,
                reason=e.reason,
            )
        else:
            assert isinstance(e, GuardAlerted)
            tx.record_guard_event(
                ts=e.ts_event, guard=e.guard, event="alerted", reason=e.message, detail=rec
            )
            msg = NoTradeAlerted(
                ts_event=e.ts_event,
                ts_init=e.ts_init,
                since_ms=e.ts_event,
                bars=0,
                reason=e.message,
            )
        alerts.add(tx, msg, e.ts_event)


def record_execution_events(tx: LedgerTx, events: Sequence[ExecutionEvent]) -> None:
    """Record denials, rejections, retries and skips as guard events with their reasons."""
    for e in events:
        rec = to_record(e)
        guard = "gate" if isinstance(e, Denied) else "execution"
        event = str(rec["kind"]).lower()
        tx.record_guard_event(ts=e.ts_event, guard=guard, event=event, reason=e.reason, detail=rec)


def record_breaker_events(tx: LedgerTx, events: Sequence[BreakerEvent], alerts: Alerts) -> None:
    """Record the circuit breaker's openings and closings (and alert)."""
    for e in events:
        if isinstance(e, BreakerOpened):
            tx.record_guard_event(
                ts=e.ts_event, guard="breaker", event="opened", reason=e.reason, detail={}
            )
            msg: Message = CircuitBreakerOpened(
                ts_event=e.ts_event,
                ts_init=e.ts_init,
                calls=e.calls,
                failures=e.failures,
                failure_rate=e.failure_rate,
                reason=e.reason,
            )
        else:
            assert isinstance(e, BreakerClosed)
            tx.record_guard_event(
                ts=e.ts_event, guard="breaker", event="closed", reason="probes succeeded", detail={}
            )
            msg = CircuitBreakerClosed(ts_event=e.ts_event, ts_init=e.ts_init, open_ms=e.open_ms)
        alerts.add(tx, msg, e.ts_event)


def record_facts(tx: LedgerTx, facts: CycleFacts) -> None:
    """Record targets, equity, guard states and the engine's memory of one cycle."""
    now = facts.now_ms
    rows = {s: (float(w), float(facts.target_qty.get(s, 0.0))) for s, w in facts.weights.items()}
    tx.record_targets(facts.bar_ts, rows, facts.version)
    b = facts.balance
    mr = facts.margin_ratio if math.isfinite(facts.margin_ratio) else None
    tx.record_equity(
        ts=now, equity=b.equity, wallet=b.wallet, unrealized=b.unrealized, margin_ratio=mr
    )
    for name, st in facts.guard_states.items():
        tx.save_guard_state(name, st, now)
    tx.set_meta(META_EXEC, dict(facts.exec_state), now)
    tx.set_meta(META_LAST_BAR, facts.bar_ts, now)
    tx.set_meta(META_VERSION, facts.version, now)
    account = {
        "equity": b.equity,
        "wallet": b.wallet,
        "unrealized": b.unrealized,
        "margin_ratio": mr,
        "state": facts.gate_state,
        "positions": {
            s: {
                "qty": p.qty,
                "entry_price": p.entry_price,
                "mark_price": p.mark_price,
                "unrealized": p.unrealized,
            }
            for s, p in facts.positions.items()
        },
    }
    tx.set_meta(META_ACCOUNT, account, now)
    for k, v in facts.extra_meta.items():
        tx.set_meta(k, v, now)


def fills_message(
    fills: Sequence[FillReport], bar_ts: int, now_ms: int, equity: float | None
) -> FillsSummarized | None:
    """Return the fills summary of a bar, or None without fills."""
    if not fills:
        return None
    lines = tuple(
        f"{f.side.value} {f.qty:g} {f.symbol} @ {f.price:g} ({'maker' if f.is_maker else 'taker'})"
        for f in fills[:20]
    )
    return FillsSummarized(
        ts_event=bar_ts,
        ts_init=now_ms,
        bar_ms=bar_ts,
        fills=len(fills),
        notional=float(sum(f.qty * f.price for f in fills)),
        fees=float(sum(f.fee for f in fills)),
        equity=equity,
        lines=lines,
    )


def gap_reason(last_bar: int, bar_ts: int, bar_ms: int) -> str:
    """Return the text of a gap event (bars missed between two processed bars)."""
    missed = (bar_ts - last_bar) // bar_ms - 1
    return (
        f"{missed} bar(s) not processed between {iso_utc(last_bar)} and {iso_utc(bar_ts)}: "
        f"acting once on the latest closed bar"
    )
