"""`Executor`: plan every symbol, ask the gate, apply through an `Exchange`, report.

One ``cycle`` reads positions, open orders and tickers, plans each symbol with
:func:`xsmom.live.planner.plan_symbol`, then applies the actions: cancels first (a replace
asks the gate for its new order before cancelling the old one, so a denied stop leaves the
old stop in force), then new orders, reduce-only ones first. Errors are mapped, never raised:

- `RejectedError` -> an `OrderRejected` event (the attempt is used up);
- `RetryableError` -> a `RetryLater` event; the symbol waits for the next cycle. An order
  whose placement is uncertain is remembered and looked up by client id first: if the venue
  has it, it counts; if not, its id is used again, so an intent never becomes two orders;
- a cancel that finds the order gone or filled meanwhile stops the symbol's other actions
  (the next cycle re-plans on fresh reports).

When a new order fills at once (a taker), the symbol's protective stop is re-planned on the
new position in the same cycle; fills of resting orders move the stop at the next cycle.
A failed read (positions, open orders, tickers) raises before anything is sent: the engine
retries the cycle later.

The executor's memory (attempt counters, send times, uncertain orders, fill cursors) is
``to_state`` / ``from_state`` JSON, for the engine to save with the guards.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsmom.config.live import ExecutionConfig
from xsmom.errors import ConfigError, CorruptStateError, RejectedError, RetryableError
from xsmom.exchange.interface import Exchange
from xsmom.exchange.reports import FillReport, MarketInfo, OrderReport
from xsmom.live.events import (
    ActionSkipped,
    Denied,
    ExecutionEvent,
    OrderRejected,
    RetryLater,
)
from xsmom.live.gate import Gate
from xsmom.live.orders import Book, CancelOrder, IdScheme, PlaceOrder, ReplaceOrder
from xsmom.live.planner import SymbolInput, SymbolPlan, plan_stop, plan_symbol

FILL_EPS = 1e-12


@dataclass(kw_only=True)
class ExecutionState:
    """What the executor remembers between cycles (JSON-safe through ``to_state``)."""

    bar_ts: int | None = None
    attempts: dict[str, int] = field(default_factory=dict)  # next attempt per symbol, this bar
    placed_ms: dict[str, int] = field(default_factory=dict)  # client id -> when we sent it
    pending: dict[str, str] = field(default_factory=dict)  # client id -> symbol, uncertain
    fill_cursor: dict[str, int] = field(default_factory=dict)  # symbol -> last fill ts seen
    fill_ids: dict[str, list[str]] = field(default_factory=dict)  # trade ids at that ts
    watch: list[str] = field(default_factory=list)  # symbols whose fills we follow

    def to_state(self) -> dict[str, Any]:
        """Return a JSON-safe dict."""
        return {
            "bar_ts": self.bar_ts,
            "attempts": dict(self.attempts),
            "placed_ms": dict(self.placed_ms),
            "pending": dict(self.pending),
            "fill_cursor": dict(self.fill_cursor),
            "fill_ids": {s: list(v) for s, v in self.fill_ids.items()},
            "watch": list(self.watch),
        }

    @classmethod
    def from_state(cls, d: Mapping[str, Any]) -> ExecutionState:
        """Rebuild from ``to_state`` output (CorruptStateError if unreadable)."""
        try:
            return cls(
                bar_ts=None if d["bar_ts"] is None else int(d["bar_ts"]),
                attempts={str(k): int(v) for k, v in d["attempts"].items()},
                placed_ms={str(k): int(v) for k, v in d["placed_ms"].items()},
                pending={str(k): str(v) for k, v in d["pending"].items()},
                fill_cursor={str(k): int(v) for k, v in d["fill_cursor"].items()},
                fill_ids={str(k): [str(x) for x in v] for k, v in d["fill_ids"].items()},
                watch=[str(s) for s in d["watch"]],
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise CorruptStateError(f"saved execution state unreadable: {exc}") from exc


@dataclass(frozen=True, kw_only=True)
class CycleReport:
    """What one cycle did, for the engine to record."""

    bar_ts: int
    now_ms: int
    plans: tuple[SymbolPlan, ...]
    placed: tuple[OrderReport, ...]
    cancelled: tuple[OrderReport, ...]
    fills: tuple[FillReport, ...]
    events: tuple[ExecutionEvent, ...]
    positions: dict[str, float]

    @property
    def wants_trades(self) -> bool:
        """Return True if some symbol's target differs from its position (no-trade input)."""
        return any(p.wants_trade for p in self.plans)

    @property
    def denials(self) -> tuple[Denied, ...]:
        """Return the gate's denials of this cycle."""
        return tuple(e for e in self.events if isinstance(e, Denied))


class _Run:
    """Scratch of one cycle."""

    def __init__(self, now: int) -> None:
        self.now = now
        self.placed: list[OrderReport] = []
        self.cancelled: list[OrderReport] = []
        self.events: list[ExecutionEvent] = []
        self.blocked: set[str] = set()
        self.books: dict[str, Book] = {}

    def skip(self, symbol: str, client_id: str | None, reason: str) -> None:
        self.blocked.add(symbol)
        self.events.append(
            ActionSkipped(
                ts_event=self.now,
                ts_init=self.now,
                symbol=symbol,
                client_id=client_id,
                reason=reason,
            )
        )

    def retry(self, symbol: str, client_id: str | None, exc: Exception, reason: str) -> None:
        self.blocked.add(symbol)
        self.events.append(
            RetryLater(
                ts_event=self.now,
                ts_init=self.now,
                symbol=symbol,
                client_id=client_id,
                error=type(exc).__name__,
                reason=f"{reason}: {exc}",
            )
        )

    def reject(self, symbol: str, client_id: str | None, exc: Exception, reason: str) -> None:
        self.events.append(
            OrderRejected(
                ts_event=self.now,
                ts_init=self.now,
                symbol=symbol,
                client_id=client_id,
                error=type(exc).__name__,
                reason=f"{reason}: {exc}",
            )
        )


class Executor:
    """Reconcile positions and open orders to target quantities through one `Exchange`."""

    def __init__(
        self,
        exchange: Exchange,
        gate: Gate,
        config: ExecutionConfig,
        *,
        ids: IdScheme,
        bar_ms: int,
        state: ExecutionState | None = None,
    ) -> None:
        if ids.prefix != config.client_id_prefix:
            raise ConfigError(
                f"id scheme prefix {ids.prefix!r} differs from live.execution.client_id_prefix "
                f"{config.client_id_prefix!r}"
            )
        self.exchange, self.gate, self.config, self.ids = exchange, gate, config, ids
        self.bar_ms = bar_ms
        self.state = state or ExecutionState()
        self._markets: Mapping[str, MarketInfo] | None = None

    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the venue's markets (fetched once)."""
        if self._markets is None:
            self._markets = self.exchange.markets()
        return self._markets

    def cycle(
        self,
        *,
        bar_ts: int,
        now_ms: int,
        targets: Mapping[str, float],
        stop_levels: Mapping[str, float] | None = None,
    ) -> CycleReport:
        """Move every symbol toward ``targets`` (signed base quantities; missing = 0)."""
        run = _Run(now_ms)
        self._new_bar(bar_ts)
        self._resolve_pending(run)
        positions = {p.symbol: p.qty for p in self.exchange.positions() if p.qty != 0}
        orders: dict[str, list[OrderReport]] = defaultdict(list)
        for o in self.exchange.open_orders():
            orders[o.symbol].append(o)
        wanted = self.gate.adjust_targets(targets)
        symbols = sorted(set(wanted) | set(positions) | set(orders))
        plans = self._plan(symbols, run, bar_ts, wanted, positions, orders, stop_levels or {})
        self._apply(plans, run)
        plans += self._restop(run, bar_ts, stop_levels or {})
        touched = {p.symbol for p in plans if p.actions} | set(orders)
        fills = self._fills(sorted(touched | set(self.state.watch)), now_ms)
        self.state.watch = sorted(touched)
        self._prune({o.client_id for os in orders.values() for o in os if o.client_id}, run)
        return CycleReport(
            bar_ts=bar_ts,
            now_ms=now_ms,
            plans=tuple(plans),
            placed=tuple(run.placed),
            cancelled=tuple(run.cancelled),
            fills=tuple(fills),
            events=tuple(run.events),
            positions=positions,
        )

    # ---- planning ----------------------------------------------------------------------------
    def _new_bar(self, bar_ts: int) -> None:
        if self.state.bar_ts != bar_ts:
            self.state.bar_ts, self.state.attempts = bar_ts, {}

    def _next_attempt(self, symbol: str, orders: list[OrderReport], bar_ts: int) -> int:
        n = self.state.attempts.get(symbol, 0)
        for o in orders:  # ids seen on the venue are used, even if our memory was lost
            parsed = self.ids.parse(o.client_id)
            if parsed is not None and parsed[0] == bar_ts:
                n = max(n, parsed[2] + 1)
        return n

    def _inputs(
        self,
        symbol: str,
        run: _Run,
        bar_ts: int,
        target: float,
        position: float,
        orders: list[OrderReport],
        stop_level: float | None,
    ) -> SymbolInput:
        return SymbolInput(
            symbol=symbol,
            market=self.markets()[symbol],
            target_qty=target,
            position_qty=position,
            book=run.books[symbol],
            now_ms=run.now,
            bar_ts=bar_ts,
            bar_ms=self.bar_ms,
            orders=tuple(orders),
            placed_ms=self.state.placed_ms,
            stop_level=stop_level,
            state=self.gate.state,
            next_attempt=self._next_attempt(symbol, orders, bar_ts),
        )

    def _restop(self, run: _Run, bar_ts: int, stop_levels: Mapping[str, float]) -> list[SymbolPlan]:
        """Bring the stops of symbols whose new orders filled at once in step right away."""
        moved = sorted({o.symbol for o in run.placed if o.filled > 0} - run.blocked)
        if not moved or not self.config.stop_orders:
            return []
        positions = {p.symbol: p.qty for p in self.exchange.positions(moved)}
        plans = []
        for s in moved:
            mine = self.exchange.open_orders(s)
            pos = positions.get(s, 0.0)
            inp = self._inputs(s, run, bar_ts, pos, pos, mine, stop_levels.get(s))
            plans.append(plan_stop(inp, self.config, self.ids))
        self._apply(plans, run)
        return plans

    def _plan(
        self,
        symbols: list[str],
        run: _Run,
        bar_ts: int,
        targets: Mapping[str, float],
        positions: Mapping[str, float],
        orders: Mapping[str, list[OrderReport]],
        stop_levels: Mapping[str, float],
    ) -> list[SymbolPlan]:
        markets = self.markets()
        unknown = [s for s in symbols if s not in markets]
        if unknown:
            raise ConfigError(f"no market on {self.exchange.name} for {unknown}")
        tickers = self.exchange.tickers(symbols) if symbols else {}
        plans = []
        for s in symbols:
            run.books[s] = Book.from_ticker(tickers[s], self.config.quote_source)
            inp = self._inputs(
                s,
                run,
                bar_ts,
                targets.get(s, 0.0),
                positions.get(s, 0.0),
                orders.get(s, []),
                stop_levels.get(s),
            )
            plans.append(plan_symbol(inp, self.config, self.ids))
        return plans

    # ---- applying ----------------------------------------------------------------------------
    def _apply(self, plans: list[SymbolPlan], run: _Run) -> None:
        places = self._cancels(plans, run)
        places.sort(key=lambda p: not p[0].request.reduce_only)
        for cmd, allowed in places:
            if cmd.symbol in run.blocked:
                run.events.append(self._skipped(cmd, run, "an earlier action of the symbol failed"))
                continue
            decision = None if allowed else self.gate.check(cmd)
            if isinstance(decision, Denied):
                run.events.append(decision)
                continue
            self._place(cmd, run)

    def _cancels(self, plans: list[SymbolPlan], run: _Run) -> list[tuple[PlaceOrder, bool]]:
        """Apply cancels and replaces' cancels; return the orders to send (and if allowed)."""
        places: list[tuple[PlaceOrder, bool]] = []
        for plan in plans:
            for action in plan.actions:
                if plan.symbol in run.blocked:
                    break
                if isinstance(action, CancelOrder):
                    self._cancel(action, run)
                elif isinstance(action, ReplaceOrder):
                    decision = self.gate.check(action.place)
                    if isinstance(decision, Denied):
                        run.events.append(decision)  # the old order stays as it is
                    elif self._cancel(action.cancel, run):
                        places.append((action.place, True))
                else:
                    places.append((action, False))
        return places

    @staticmethod
    def _skipped(cmd: PlaceOrder, run: _Run, reason: str) -> ActionSkipped:
        return ActionSkipped(
            ts_event=run.now,
            ts_init=run.now,
            symbol=cmd.symbol,
            client_id=cmd.request.client_id,
            reason=reason,
        )

    def _cancel(self, c: CancelOrder, run: _Run) -> bool:
        try:
            report = self.exchange.cancel_order(c.symbol, venue_order_id=c.venue_order_id)
        except RetryableError as exc:
            run.retry(c.symbol, c.client_id, exc, f"cancel ({c.reason})")
            return False
        except RejectedError as exc:  # gone already (filled, cancelled): re-plan next cycle
            run.reject(c.symbol, c.client_id, exc, f"cancel ({c.reason})")
            run.blocked.add(c.symbol)
            return False
        run.cancelled.append(report)
        if report.filled > c.known_filled + FILL_EPS:
            run.skip(c.symbol, c.client_id, f"filled {report.filled - c.known_filled:g} meanwhile")
            return False
        return True

    def _place(self, cmd: PlaceOrder, run: _Run) -> None:
        cid = cmd.request.client_id
        try:
            report = self.exchange.place_order(cmd.request)
        except RetryableError as exc:
            self.state.pending[cid] = cmd.symbol
            run.retry(cmd.symbol, cid, exc, f"place ({cmd.reason}); looked up next cycle")
            return
        except RejectedError as exc:
            self._used(cmd.symbol, cmd.bar_ts, cmd.attempt)
            run.reject(cmd.symbol, cid, exc, f"place ({cmd.reason})")
            return
        self._used(cmd.symbol, cmd.bar_ts, cmd.attempt)
        self.state.placed_ms[cid] = run.now
        run.placed.append(report)

    def _used(self, symbol: str, bar_ts: int, attempt: int) -> None:
        if bar_ts == self.state.bar_ts:
            self.state.attempts[symbol] = max(self.state.attempts.get(symbol, 0), attempt + 1)

    def _resolve_pending(self, run: _Run) -> None:
        for cid, symbol in list(self.state.pending.items()):
            try:
                report = self.exchange.order_by_client_id(symbol, cid)
            except (RetryableError, RejectedError) as exc:  # still unknown: ask again next cycle
                run.retry(symbol, cid, exc, "lookup of an uncertain order")
                continue
            del self.state.pending[cid]
            if report is None:
                continue  # never reached the venue: its id will be used again
            parsed = self.ids.parse(cid)
            if parsed is not None:
                self._used(symbol, parsed[0], parsed[2])
            self.state.placed_ms.setdefault(cid, run.now)
            run.placed.append(report)

    # ---- fills and memory --------------------------------------------------------------------
    def _fills(self, symbols: list[str], now: int) -> list[FillReport]:
        out: list[FillReport] = []
        for s in symbols:
            since = self.state.fill_cursor.get(s, now)
            try:
                got = self.exchange.fills(s, since=since)
            except RetryableError:
                continue  # the cursor stays: the next cycle asks again
            seen = set(self.state.fill_ids.get(s, [])) if s in self.state.fill_cursor else set()
            new = [f for f in got if not (f.ts == since and f.trade_id in seen)]
            out += new
            if got:
                last = max(f.ts for f in got)
                ids = [f.trade_id for f in got if f.ts == last]
                self.state.fill_ids[s] = ids  # every fill at ts >= since came back
                self.state.fill_cursor[s] = last
            else:
                self.state.fill_cursor.setdefault(s, since)
        return out

    def _prune(self, open_ids: set[str], run: _Run) -> None:
        live = open_ids | {o.client_id for o in run.placed if o.client_id}
        self.state.placed_ms = {k: v for k, v in self.state.placed_ms.items() if k in live}
