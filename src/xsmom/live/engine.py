"""The live engine: one thin loop from closed bars to orders, with the ledger first.

Each `Engine.step` looks at the exchange's clock. When it shows a bar closed that the engine
has not processed: append the new bars to the home's store (the download code), compute the
targets with the backtest's `compute_targets` on that store, update the safety gate, let the
executor reconcile orders to the targets, then record everything (targets, orders, fills,
positions, equity, events, guard state, alerts, last bar) in one ledger transaction. After a
gap of several bars it acts once, on the latest closed bar, and records the gap.

Which config trades is decided at every bar by :func:`active_config` (a version the rollout
promoted in the ledger, else the config file, re-read on SIGHUP). An optional `TargetsPlan`
(``plan``) may mix other versions' weights into the bar's targets (the rollout's small stage);
the versions and shares that made the weights are in the meta key ``targets_plan`` and an
event ``plan_changed`` at each change. Functions registered with :func:`register_bar_hook` run
after every processed bar (paper candidates of a rollout).
"""

from __future__ import annotations

import logging
import math
import os
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from xsmom.config import Config, version_id
from xsmom.data.panel import MarketPanel
from xsmom.errors import DataError, ReconcileError, RetryableError
from xsmom.exchange.breaker import BreakerEvent, BreakerOpened, BreakerState, CircuitBreaker
from xsmom.exchange.clock import wall_ms
from xsmom.exchange.interface import Exchange
from xsmom.exchange.reports import BalanceReport, PositionReport
from xsmom.ledger import Ledger, LedgerTx
from xsmom.live.active import (
    BAR_HOOKS,
    META_PLAN,
    BarContext,
    BarHook,
    TargetsPlan,
    active_config,
    mix_targets,
    record_plan,
    register_bar_hook,
    reload_reason,
)
from xsmom.live.cycle import (
    META_EXEC,
    META_LAST_BAR,
    META_RECONCILE,
    META_RUN,
    META_STARTED,
    Alerts,
    CycleFacts,
    fills_message,
    gap_reason,
    record_breaker_events,
    record_execution_events,
    record_facts,
    record_gate_events,
)
from xsmom.live.execution import CycleReport, ExecutionState, Executor
from xsmom.live.feed import BarFeed
from xsmom.live.funding import funding_cycle
from xsmom.live.gate import Gate
from xsmom.live.guards import GateInputs
from xsmom.live.heartbeat import Heartbeat, write_heartbeat
from xsmom.live.home import Home
from xsmom.live.orders import IdScheme
from xsmom.live.reconcile import (
    ReconcileResult,
    apply_fills,
    reconcile,
    record_order_report,
    sync_fills,
    sync_orders,
)
from xsmom.live.sizing import margin_ratio, target_quantities
from xsmom.live.wal import LedgerFirst
from xsmom.notify import EngineStarted, EngineStopped, ReconciliationRefused, ReconciliationRepaired
from xsmom.strategy import compute_targets

log = logging.getLogger(__name__)
__all__ = [
    "BarContext",
    "BarHook",
    "Engine",
    "EngineParts",
    "active_config",
    "flush_due",
    "reconcile_due",
    "register_bar_hook",
]


def reconcile_due(bars_since: int, every: int) -> bool:
    """Return True when ``live.engine.reconcile_every`` bars passed since the last one."""
    return bars_since >= every


def flush_due(cycles: int, every: int) -> bool:
    """Return True when the store's pending bars are due on disk (``store_flush_bars``)."""
    return cycles % every == 0


@dataclass(kw_only=True)
class EngineParts:
    """The exchange side of one engine, built by `xsmom.live.runner`."""

    exchange: Exchange
    breaker: CircuitBreaker
    client: Any  # ccxt client of the downloads (market data)
    clock: Callable[[], int]  # exchange time, ms
    mode: str  # live | paper
    name: str
    close: Callable[[], None] = lambda: None


@dataclass
class _Memory:
    last_bar: int | None = None
    cycles: int = 0
    bars_since_reconcile: int = 0
    wants_trades: bool = False
    breaker_events: list[BreakerEvent] = field(default_factory=list)
    breaker_opened: bool = False  # the breaker opened since the gate last looked at it
    account: tuple[float, float, dict[str, PositionReport]] | None = None  # last read: eq, mr
    plan: dict[str, Any] | None = None  # versions, shares and note of the last bar's targets


class Engine:
    """One bot: its home, ledger, exchange, feed, gate and executor."""

    def __init__(
        self,
        *,
        config: Config,
        home: Home,
        ledger: Ledger,
        parts: EngineParts,
        feed: BarFeed,
        alerts: Alerts | None = None,
        reload: Callable[[], Config] | None = None,
        hooks: Sequence[BarHook] = (),
        wall: Callable[[], int] = wall_ms,
        plan: TargetsPlan | None = None,
    ) -> None:
        self.config, self.home, self.ledger, self.parts, self.feed = (
            config,
            home,
            ledger,
            parts,
            feed,
        )
        self.alerts = alerts or Alerts()
        self._reload = reload
        self.hooks = list(hooks)
        self.plan = plan  # None: the active version alone makes the targets
        self._wall = wall
        self.bar_ms = feed.bar_ms
        self.run_id = uuid.uuid4().hex[:12]
        self.mem = _Memory()
        parts.breaker.subscribe(self._on_breaker)
        self.gate = Gate(config.live.guards)
        self.version = version_id(config)
        self.wal = LedgerFirst(parts.exchange, ledger, lambda: self.executor.ids, parts.clock)
        self.executor = self._executor(config, self.version, None)

    def _on_breaker(self, event: BreakerEvent) -> None:
        self.mem.breaker_events.append(event)
        if isinstance(event, BreakerOpened):
            self.mem.breaker_opened = True

    def _breaker_for_gate(self) -> BreakerState:
        """Return the breaker's state for the gate: OPEN if it opened since the last look.

        A breaker can open and close again within one step (its cool-down is shorter than the
        retries of a step): the gate must still see the trip, record it and apply its state.
        """
        opened, self.mem.breaker_opened = self.mem.breaker_opened, False
        state = self.parts.breaker.state
        return BreakerState.OPEN if opened and state is BreakerState.CLOSED else state

    # ---- set-up ------------------------------------------------------------------------------
    def _executor(self, cfg: Config, version: str, state: ExecutionState | None) -> Executor:
        ex = cfg.live.execution
        return Executor(
            self.wal.as_exchange(),
            self.gate,
            ex,
            ids=IdScheme(version, ex.client_id_prefix),
            bar_ms=self.bar_ms,
            state=state,
        )

    def start(self) -> ReconcileResult:
        """Restore memory from the ledger and reconcile with the exchange before any order.

        Raises ReconcileError (after recording it and its alert) when they cannot be
        reconciled.
        """
        saved = self.ledger.guard_states()
        if saved:
            self.gate.from_state({k: dict(v.state) for k, v in saved.items()})
        exec_state = self.ledger.get_meta(META_EXEC)
        if exec_state:
            self.executor.state = ExecutionState.from_state(exec_state)
        last = self.ledger.get_meta(META_LAST_BAR)
        self.mem.last_bar = None if last is None else int(last)
        plan = self.ledger.get_meta(META_PLAN)
        self.mem.plan = dict(plan) if plan else None
        now = self.parts.clock()
        result = self.reconcile(now, at_start=True)
        with self.ledger.transaction() as tx:
            if tx.get_meta(META_STARTED) is None:
                tx.set_meta(META_STARTED, now, now)
            tx.set_meta(
                META_RUN, {"run_id": self.run_id, "pid": os.getpid(), "mode": self.parts.mode}, now
            )
            started = EngineStarted(
                ts_event=now,
                ts_init=now,
                run_id=self.run_id,
                mode=self.parts.mode,
                exchange=self.parts.name,
                config_version=self.version,
                symbols=len(self.feed.symbols),
            )
            self.alerts.add(tx, started, now)
        return result

    def stop(self, *, clean: bool, reason: str) -> None:
        """Write the store's pending bars; record the stop (unclean: a critical alert)."""
        self.feed.store.flush()
        now = self.parts.clock()
        with self.ledger.transaction() as tx:
            msg = EngineStopped(
                ts_event=now, ts_init=now, run_id=self.run_id, reason=reason, clean=clean
            )
            self.alerts.add(tx, msg, now)

    # ---- reconciliation ----------------------------------------------------------------------
    def _tolerances(self) -> dict[str, float]:
        return {s: m.qty_step / 2 for s, m in self.executor.markets().items()}

    def reconcile(self, now: int, *, at_start: bool = False) -> ReconcileResult:
        """Compare the ledger with the exchange; repair, or record the refusal and raise."""
        ids = self.executor.ids
        since = self.ledger.get_meta(META_STARTED)
        with self.ledger.transaction() as tx:
            result, _ = reconcile(
                tx,
                self.parts.exchange,
                self.feed.symbols,
                ids=ids,
                now_ms=now,
                since_default=int(since) if since is not None else now,
                tolerance=self._tolerances(),
                report_fills=at_start,
            )
            doc = {"ok": result.ok, "ts": now, "repairs": list(result.repairs)}
            doc["differences"] = list(result.differences)
            tx.set_meta(META_RECONCILE, doc, now)
            if result.repairs:
                tx.record_guard_event(
                    ts=now,
                    guard="reconcile",
                    event="repaired",
                    reason="; ".join(result.repairs)[:2000],
                    detail={"at_start": at_start},
                )
                msg = ReconciliationRepaired(ts_event=now, ts_init=now, repairs=result.repairs)
                self.alerts.add(tx, msg, now)
            if not result.ok:
                why = "; ".join(result.differences)
                tx.record_guard_event(
                    ts=now, guard="reconcile", event="refused", reason=why[:2000], detail={}
                )
                refused = ReconciliationRefused(
                    ts_event=now, ts_init=now, reason=why[:500], differences=result.differences
                )
                self.alerts.add(tx, refused, now)
        if not result.ok:
            raise ReconcileError(
                f"ledger and exchange differ, trading refused: {'; '.join(result.differences)} "
                f"(see docs/operations.md#recovery)"
            )
        self.mem.bars_since_reconcile = 0
        return result

    # ---- the cycle ---------------------------------------------------------------------------
    def closed_bar(self, now: int) -> int:
        """Return the open time of the latest bar the exchange clock shows closed."""
        return (now // self.bar_ms - 1) * self.bar_ms

    def step(self) -> bool:
        """Process the latest closed bar if it is new; return True if a bar was processed."""
        now = self.parts.clock()
        bar_ts = self.closed_bar(now)
        last = self.mem.last_bar
        if last is not None and bar_ts <= last:
            return False
        try:
            self.feed.update(now)
        except RetryableError as exc:  # the guards still run: stale data halts
            log.warning("market data not updated: %s", exc)
        have = self.feed.last_bar()
        try:
            if have is None or have < bar_ts:
                log.warning("bar %s closed on the exchange clock but not served yet", bar_ts)
                self._gate_only(now, have)
                return False
            if reconcile_due(
                self.mem.bars_since_reconcile, self.config.live.engine.reconcile_every
            ):
                self.reconcile(now)
            self._bar(now, bar_ts, last)
        except RetryableError:
            self._gate_on_account(now, have)
            raise
        return True

    def _read_account(self) -> tuple[BalanceReport, dict[str, PositionReport]]:
        ex = self.parts.exchange
        balance = ex.balance()
        positions = {p.symbol: p for p in ex.positions()}
        self.mem.account = (balance.equity, margin_ratio(balance), positions)
        return balance, positions

    def _gate_on_account(self, now: int, have: int | None) -> None:
        """Update the gate on the last account read and record what changed (no trading).

        Also after a failed step: an open breaker fails the account reads themselves, so
        without this the gate would never see it; equity and positions are then the last ones
        read (no new loss is judged).
        """
        if self.mem.account is None:
            return
        equity, mr, positions = self.mem.account
        before = self.gate.state.value
        self._record_gate(
            self.gate.update(self._inputs(now, have, equity, mr, positions)), before, now
        )

    def _record_gate(self, events: Sequence[Any], before: str, now: int) -> None:
        """Record the gate's events, the guards' state and the breaker's pending events."""
        with self.ledger.transaction() as tx:
            record_gate_events(tx, events, self.alerts, before)
            for name, st in self.gate.to_state().items():
                tx.save_guard_state(name, st, now)
            self._record_breaker(tx)

    def _config_now(self, now: int) -> tuple[Config, str]:
        cfg, vid = active_config(self.ledger, self.config)
        if vid != self.version:
            log.warning("config version %s -> %s from this bar on", self.version[:12], vid[:12])
            with self.ledger.transaction() as tx:
                tx.record_guard_event(
                    ts=now,
                    guard="engine",
                    event="config_changed",
                    reason=f"config version {self.version[:12]} -> {vid[:12]}",
                    detail={"from": self.version, "to": vid},
                )
            state = self.gate.to_state()
            self.gate = Gate(cfg.live.guards)
            self.gate.from_state(state)
            self.version = vid
            self.executor = self._executor(cfg, vid, self.executor.state)
        return cfg, vid

    def _targets(
        self, cfg: Config, bar_ts: int
    ) -> tuple[MarketPanel, dict[str, float], dict[str, float], dict[str, float]]:
        panel = self.feed.panel(bar_ts)
        if int(panel.timestamps[-1]) != bar_ts:
            raise DataError(f"the store's last bar is not the closed bar {bar_ts}")
        tg = compute_targets(panel, cfg.strategy)
        syms = panel.symbols
        weights = {s: float(w) for s, w in zip(syms, tg.weights[-1], strict=True)}
        stops = {
            s: float(x) for s, x in zip(syms, tg.stop_price[-1], strict=True) if math.isfinite(x)
        }
        close = panel.close[-1]
        prices = {s: float(c) for s, c in zip(syms, close, strict=True) if np.isfinite(c)}
        return panel, weights, stops, prices

    def _bar(self, now: int, bar_ts: int, last: int | None) -> None:
        cfg, vid = self._config_now(now)
        panel, weights, stops, prices = self._targets(cfg, bar_ts)
        weights, stops, plan = mix_targets(self.plan, panel, vid, weights, stops, bar_ts)
        balance, positions = self._read_account()
        qty = target_quantities(weights, balance.equity, prices)
        mr = margin_ratio(balance)
        state_before = self.gate.state.value
        events = self.gate.update(self._inputs(now, bar_ts, balance.equity, mr, positions))
        if events:  # recorded before any order: a failure later in the step must not lose them
            self._record_gate(events, state_before, now)
        report = self.executor.cycle(bar_ts=bar_ts, now_ms=now, targets=qty, stop_levels=stops)
        self.mem.wants_trades = report.wants_trades
        facts = CycleFacts(
            now_ms=now,
            bar_ts=bar_ts,
            version=vid,
            weights=weights,
            target_qty=qty,
            balance=balance,
            margin_ratio=mr,
            positions=positions,
            exec_state=self.executor.state.to_state(),
            guard_states=self.gate.to_state(),
            gate_state=self.gate.state.value,
            extra_meta={META_PLAN: plan},
        )
        self._record(cfg, facts, report, last, panel)
        self.mem.plan = plan
        self.mem.last_bar, self.mem.cycles = bar_ts, self.mem.cycles + 1
        self.mem.bars_since_reconcile += 1
        if flush_due(self.mem.cycles, self.config.live.engine.store_flush_bars):
            self.feed.store.flush_behind()  # written by a background thread
        ctx = BarContext(
            bar_ts=bar_ts,
            now_ms=now,
            config=cfg,
            version=vid,
            panel=panel,
            weights=weights,
            ledger=self.ledger,
        )
        self._run_hooks(ctx)

    def _inputs(
        self,
        now: int,
        last_bar: int | None,
        equity: float,
        mr: float,
        positions: Mapping[str, PositionReport],
    ) -> GateInputs:
        last_fill = self.ledger.last_fill()
        return GateInputs(
            now_ms=now,
            equity=equity,
            margin_ratio=mr,
            positions={s: p.qty for s, p in positions.items()},
            breaker=self._breaker_for_gate(),
            last_bar_ts=last_bar,
            bar_ms=self.bar_ms,
            last_fill_ts=None if last_fill is None else last_fill.ts,
            targets_want_trades=self.mem.wants_trades,
            stop=self.home.read_stop(),
        )

    def _gate_only(self, now: int, have: int | None) -> None:
        """Update the gate without trading (the exchange has not served the closed bar)."""
        self._read_account()
        self._gate_on_account(now, have)

    def _record(
        self,
        cfg: Config,
        facts: CycleFacts,
        report: CycleReport,
        last: int | None,
        panel: MarketPanel,
    ) -> None:
        now, ids = facts.now_ms, self.executor.ids
        ex = self.parts.exchange
        open_orders = ex.open_orders()
        with self.ledger.transaction() as tx:
            tx.record_config_version(facts.version, cfg.model_dump(mode="json"), now)
            for o in report.placed:
                record_order_report(tx, o, ids, now, "placed")
            for o in report.cancelled:
                record_order_report(tx, o, ids, now, "cancelled")
            sync_orders(tx, ex, open_orders, ids, now)
            held = {s: p.qty for s, p in tx.positions().items()}
            since = int(tx.get_meta(META_STARTED, now))
            funding_cycle(tx, ex, panel, last, held, since_default=since, now_ms=now)
            syms = set(facts.target_qty) | set(facts.positions) | set(tx.positions())
            syms |= {f.symbol for f in report.fills} | {o.symbol for o in open_orders}
            got = sync_fills(tx, ex, syms, since_default=now - self.bar_ms)
            apply_fills(tx, got.deltas, facts.positions, now, f"fills of bar {facts.bar_ts}")
            record_facts(tx, facts)
            record_plan(tx, facts.extra_meta[META_PLAN], self.mem.plan, now)
            record_execution_events(tx, report.events)
            self._record_breaker(tx)
            if last is not None and facts.bar_ts - last > self.bar_ms:
                why = gap_reason(last, facts.bar_ts, self.bar_ms)
                tx.record_guard_event(ts=now, guard="engine", event="gap", reason=why, detail={})
            msg = fills_message(got.fills, facts.bar_ts, now, facts.balance.equity)
            if msg is not None:
                self.alerts.add(tx, msg, now)

    def _record_breaker(self, tx: LedgerTx) -> None:
        events, self.mem.breaker_events[:] = list(self.mem.breaker_events), []
        record_breaker_events(tx, events, self.alerts)

    def _run_hooks(self, ctx: BarContext) -> None:
        for hook in [*BAR_HOOKS, *self.hooks]:
            try:
                hook(ctx)
            except Exception as exc:  # a hook must never stop trading: logged, recorded
                log.exception("bar hook %r failed", hook)
                with self.ledger.transaction() as tx:
                    tx.record_guard_event(
                        ts=ctx.now_ms,
                        guard="engine",
                        event="hook_failed",
                        reason=f"{getattr(hook, '__name__', hook)!s}: {exc}"[:1000],
                        detail={},
                    )

    # ---- liveness ----------------------------------------------------------------------------
    def beat(self) -> None:
        """Write the heartbeat file (exchange time, host time, last bar, state)."""
        write_heartbeat(
            self.home.heartbeat_path,
            Heartbeat(
                ts=self.parts.clock(),
                wall_ms=self._wall(),
                pid=os.getpid(),
                last_bar=self.mem.last_bar,
                state=self.gate.state.value,
                cycles=self.mem.cycles,
            ),
        )

    def reload_config(self) -> None:
        """Re-read the config file (SIGHUP); it trades from the next bar on."""
        if self._reload is None:
            return
        new = self._reload()
        now = self.parts.clock()
        why = reload_reason(self.ledger, version_id(new))
        with self.ledger.transaction() as tx:
            tx.record_guard_event(ts=now, guard="engine", event="reloaded", reason=why, detail={})
        self.config = new
