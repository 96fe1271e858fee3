"""The pure reconcile-to-target planner: one symbol's state in, frozen actions out.

Rules (each a test in ``tests/unit/live/test_live_planner.py``):

- Orphan orders (no id of ours) and stale ones (an earlier bar, another config version) are
  cancelled; so are working orders the trading state no longer allows, and reduce-only ones
  beyond the position.
- ``needed = target - position``; working orders on the wrong side, or more than needed, are
  cancelled. The rest stay, re-priced when the touch is more than ``reprice_ticks`` away and
  replaced by a taker once older than ``taker_after_s``.
- ``remainder = needed - working``: nothing when it rounds below the venue's minimum quantity
  or (unless reduce-only) notional, nor, when no order of ours is working on the symbol (none
  kept, none stale), when ``|remainder| < drift_threshold x |target|``: the threshold decides
  whether to start trading; an intent under way is completed (partial fills topped up).
- An order that would cross zero is split: a reduce-only part that closes, then a part that
  opens. New orders are post-only limits ``post_offset_ticks`` behind the touch (never at or
  through the other side), or takers at once when ``taker_after_s`` is 0.
- One reduce-only stop-market order at the strategy's stop level for the whole position,
  replaced when the level or the position changes, cancelled when flat.

An order's age counts from ``placed_ms[client_id]``; without a record it counts from the
close of its bar (the earliest it can have been sent), so it never rests longer than the TTL.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from xsmom.config.live import ExecutionConfig
from xsmom.exchange.client_ids import MAX_ATTEMPT
from xsmom.exchange.precision import round_price, round_qty
from xsmom.exchange.reports import MarketInfo, OrderReport, OrderRequest, OrderSide, OrderType
from xsmom.exchange.state import TradingState
from xsmom.live.orders import (
    Action,
    Book,
    CancelOrder,
    IdScheme,
    OrderKind,
    PlaceOrder,
    ReplaceOrder,
)


@dataclass(frozen=True, kw_only=True)
class SymbolInput:
    """Everything the planner knows about one symbol (quantities in base units, signed)."""

    symbol: str
    market: MarketInfo
    target_qty: float
    position_qty: float
    book: Book
    now_ms: int
    bar_ts: int
    bar_ms: int
    orders: tuple[OrderReport, ...] = ()
    placed_ms: Mapping[str, int] = field(default_factory=dict)
    stop_level: float | None = None
    state: TradingState = TradingState.ACTIVE
    next_attempt: int = 0


@dataclass(frozen=True, kw_only=True)
class SymbolPlan:
    """The actions for one symbol, notes on what was left alone, and whether it wants trades."""

    symbol: str
    actions: tuple[Action, ...]
    notes: tuple[str, ...]
    wants_trade: bool


def _qty(m: MarketInfo, qty: float) -> float:
    """Round down to the step, forgiving float residue (0.19999999999999996 is 0.2)."""
    return round_qty(m, qty + m.qty_step * 1e-6)


class _Plan:
    """Mutable scratch of one planning call (actions, notes, attempt counter)."""

    def __init__(self, inp: SymbolInput, cfg: ExecutionConfig, ids: IdScheme) -> None:
        self.inp, self.cfg, self.ids, self.m = inp, cfg, ids, inp.market
        self.attempt = inp.next_attempt
        self.actions: list[Action] = []
        self.notes: list[str] = []

    def cancel(self, o: OrderReport, reason: str) -> CancelOrder:
        return CancelOrder(
            symbol=o.symbol,
            venue_order_id=o.venue_order_id,
            client_id=o.client_id,
            known_filled=o.filled,
            reason=reason,
        )

    def next_id(self, stop: bool) -> tuple[int, str] | None:
        """Return the next (attempt, client id), or None (noted) when ids ran out this bar."""
        if self.attempt > MAX_ATTEMPT:
            self.notes.append(f"no client id left: {MAX_ATTEMPT + 1} orders this bar already")
            return None
        attempt = self.attempt
        self.attempt += 1
        inp = self.inp
        if stop:
            return attempt, self.ids.stop_id(inp.bar_ts, inp.symbol, attempt)
        return attempt, self.ids.trade_id(inp.bar_ts, inp.symbol, attempt)

    def passive(self, side: OrderSide) -> float:
        b, tick, off = self.inp.book, self.m.price_tick, self.cfg.post_offset_ticks
        if side is OrderSide.BUY:
            return round_price(self.m, min(b.bid - off * tick, b.ask - tick), OrderSide.BUY)
        return round_price(self.m, max(b.ask + off * tick, b.bid + tick), OrderSide.SELL)

    def taker_price(self, side: OrderSide) -> float:
        b, f = self.inp.book, self.cfg.taker_limit_bps * 1e-4
        # rounded away from the touch: the adapter's passive rounding then leaves it as is
        if side is OrderSide.BUY:
            return round_price(self.m, b.ask * (1 + f), OrderSide.SELL)
        return round_price(self.m, b.bid * (1 - f), OrderSide.BUY)

    def order(
        self, side: OrderSide, qty: float, *, reduce_only: bool, taker: bool, reason: str
    ) -> PlaceOrder | None:
        """Return a place command, or None (with a note) if the venue would refuse it."""
        m, sym = self.m, self.inp.symbol
        q = _qty(m, qty)
        if q <= 0:
            return None
        if q < m.min_qty:
            self.notes.append(f"{side.value} {qty:g} rounds to {q:g}, below min qty {m.min_qty:g}")
            return None
        if taker and self.cfg.taker_order == "market":
            price: float | None = None
            ref = self.inp.book.ask if side is OrderSide.BUY else self.inp.book.bid
        else:
            price = self.taker_price(side) if taker else self.passive(side)
            ref = price
        if price is not None and price <= 0:
            self.notes.append(f"{side.value}: no positive price near the touch")
            return None
        notional = q * ref * m.contract_size
        if not reduce_only and notional < m.min_notional:
            self.notes.append(
                f"{side.value} {q:g}: notional {notional:.2f} below min notional {m.min_notional:g}"
            )
            return None
        ident = self.next_id(stop=False)
        if ident is None:
            return None
        attempt, cid = ident
        if price is None:
            req = OrderRequest.market(sym, side, q, cid, reduce_only=reduce_only)
        else:
            req = OrderRequest.limit(
                sym, side, q, price, cid, post_only=not taker, reduce_only=reduce_only
            )
        intent = "taker" if taker else "maker"
        return PlaceOrder(
            request=req, intent=intent, bar_ts=self.inp.bar_ts, attempt=attempt, reason=reason
        )


def plan_symbol(inp: SymbolInput, cfg: ExecutionConfig, ids: IdScheme) -> SymbolPlan:
    """Return the actions that move one symbol's orders toward its target."""
    p = _Plan(inp, cfg, ids)
    current: list[OrderReport] = []
    stops: list[OrderReport] = []
    under_way = False  # an earlier order of ours was working toward the target
    for o in inp.orders:
        kind = ids.classify(o, inp.bar_ts)
        if kind is OrderKind.ORPHAN:
            p.actions.append(p.cancel(o, f"orphan: client id {o.client_id!r} is not ours"))
        elif kind is OrderKind.STALE:
            p.actions.append(p.cancel(o, "stale: from an earlier bar or another config version"))
            under_way |= o.type is not OrderType.STOP_MARKET
        elif kind is OrderKind.STOP:
            stops.append(o)
        else:
            current.append(o)
    wants = _plan_trades(p, current, under_way)
    _plan_stop(p, stops)
    return SymbolPlan(
        symbol=inp.symbol, actions=tuple(p.actions), notes=tuple(p.notes), wants_trade=wants
    )


def plan_stop(inp: SymbolInput, cfg: ExecutionConfig, ids: IdScheme) -> SymbolPlan:
    """Return only the protective-stop actions of one symbol (after a fill moved it)."""
    p = _Plan(inp, cfg, ids)
    _plan_stop(p, [o for o in inp.orders if ids.classify(o, inp.bar_ts) is OrderKind.STOP])
    return SymbolPlan(
        symbol=inp.symbol, actions=tuple(p.actions), notes=tuple(p.notes), wants_trade=False
    )


def _plan_trades(p: _Plan, current: list[OrderReport], under_way: bool) -> bool:
    inp, step = p.inp, p.m.qty_step
    needed = inp.target_qty - inp.position_qty
    keep: list[OrderReport] = []
    reducing = 0.0  # reduce-only quantity kept so far
    for o in current:
        if not inp.state.allows(reduce_only=o.reduce_only):
            p.actions.append(p.cancel(o, f"trading state {inp.state.value}"))
            continue
        if o.reduce_only:
            facing = o.side.sign * inp.position_qty < 0
            if not facing or reducing + o.remaining > abs(inp.position_qty) + step / 2:
                # the venue would clip it: re-plan the split on the position as it is now
                p.actions.append(p.cancel(o, "reduce-only orders larger than the position"))
                continue
            reducing += o.remaining
        keep.append(o)
    working = sum(o.side.sign * o.remaining for o in keep)
    wrong_side = any(o.side.sign * needed <= 0 for o in keep)
    if keep and (wrong_side or abs(working) > abs(needed) + step / 2):
        for o in keep:
            p.actions.append(p.cancel(o, f"target moved: working {working:g}, needed {needed:g}"))
        keep, working = [], 0.0
    working = sum(_refresh(p, o) for o in keep)
    remainder = needed - working
    threshold = 0.0 if keep or under_way else p.cfg.drift_threshold * abs(inp.target_qty)
    if abs(remainder) < threshold:
        if _qty(p.m, abs(remainder)) > 0:
            p.notes.append(f"drift {remainder:g} under the threshold {threshold:g}")
        return bool(keep)
    placed = _new_orders(p, remainder, projected=inp.position_qty + working)
    return bool(keep) or placed


def _age_ms(p: _Plan, o: OrderReport) -> int:
    inp = p.inp
    placed = p.inp.placed_ms.get(o.client_id or "", inp.bar_ts + inp.bar_ms)
    return inp.now_ms - placed


def _refresh(p: _Plan, o: OrderReport) -> float:
    """Keep, re-price or escalate one working order; return the signed qty still working."""
    ttl_ms = p.cfg.taker_after_s * 1000
    if o.type is not OrderType.LIMIT or o.price is None:
        return o.side.sign * o.remaining  # a market order in flight: leave it
    tick = p.m.price_tick
    if o.post_only and _age_ms(p, o) >= ttl_ms:
        why = f"rested {_age_ms(p, o) / 1000:.0f} s >= {p.cfg.taker_after_s} s: taker"
        return _replace(p, o, taker=True, reason=why)
    if o.post_only:
        target = p.passive(o.side)
        if abs(o.price - target) > (p.cfg.reprice_ticks + 1e-6) * tick:
            why = f"touch moved: {o.price:g} -> {target:g}"
            return _replace(p, o, taker=False, reason=why)
        return o.side.sign * o.remaining
    crossing = o.price >= p.inp.book.ask if o.side is OrderSide.BUY else o.price <= p.inp.book.bid
    if not crossing:  # a marketable limit the market ran away from
        return _replace(p, o, taker=True, reason=f"taker limit {o.price:g} left behind")
    return o.side.sign * o.remaining


def _replace(p: _Plan, o: OrderReport, *, taker: bool, reason: str) -> float:
    cancel = p.cancel(o, reason)
    place = p.order(o.side, o.remaining, reduce_only=o.reduce_only, taker=taker, reason=reason)
    if place is None:
        p.actions.append(cancel)
        return 0.0
    p.actions.append(ReplaceOrder(cancel=cancel, place=place))
    return o.side.sign * place.request.qty


def _new_orders(p: _Plan, remainder: float, projected: float) -> bool:
    side = OrderSide.BUY if remainder > 0 else OrderSide.SELL
    amount = abs(remainder)
    closing = projected != 0 and (projected > 0) != (remainder > 0)
    close = min(amount, abs(projected)) if closing else 0.0
    taker = p.cfg.taker_after_s == 0
    placed = False
    for qty, reduce_only in ((close, True), (amount - close, False)):
        why = "close (reduce-only)" if reduce_only else "toward target"
        cmd = p.order(side, qty, reduce_only=reduce_only, taker=taker, reason=why)
        if cmd is not None:
            p.actions.append(cmd)
            placed = True
    return placed


def _plan_stop(p: _Plan, stops: list[OrderReport]) -> None:
    want = _wanted_stop(p)
    match = None
    if want is not None:
        side, qty, level = want
        step, tick = p.m.qty_step, p.m.price_tick
        for o in stops:
            same_qty = abs(o.qty - o.filled - qty) <= step / 2
            same_level = o.stop_price is not None and abs(o.stop_price - level) <= tick / 2
            if o.side is side and same_qty and same_level:
                match = o
                break
    others = [o for o in stops if o is not match]
    if want is not None and match is None:
        side, qty, level = want
        ident = p.next_id(stop=True)
        if ident is None:
            return
        attempt, cid = ident
        req = OrderRequest.stop_market(p.inp.symbol, side, qty, level, cid)
        why = f"stop at {level:g} for {qty:g}"
        place = PlaceOrder(
            request=req, intent="stop", bar_ts=p.inp.bar_ts, attempt=attempt, reason=why
        )
        if others:  # replace, so a denied new stop leaves the old one in force
            p.actions.append(ReplaceOrder(cancel=p.cancel(others.pop(0), why), place=place))
        else:
            p.actions.append(place)
    for o in others:
        p.actions.append(p.cancel(o, "stop no longer matches the position or level"))


def _wanted_stop(p: _Plan) -> tuple[OrderSide, float, float] | None:
    inp, m = p.inp, p.m
    level = inp.stop_level
    if not p.cfg.stop_orders or inp.position_qty == 0 or level is None:
        return None
    if not math.isfinite(level) or level <= 0:
        p.notes.append(f"stop level {level} is not a price: no stop order")
        return None
    side = OrderSide.SELL if inp.position_qty > 0 else OrderSide.BUY
    qty, price = _qty(m, abs(inp.position_qty)), round_price(m, level)
    if qty < m.min_qty or qty <= 0:
        p.notes.append(f"position {inp.position_qty:g} below min qty: no stop order")
        return None
    passed = price >= inp.book.bid if side is OrderSide.SELL else price <= inp.book.ask
    if passed:
        p.notes.append(
            f"stop {price:g} already passed (bid {inp.book.bid:g}, ask {inp.book.ask:g}): "
            "not placed; the strategy exits at the close"
        )
        return None
    return side, qty, price
