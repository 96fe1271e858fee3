"""The pure planner, rule by rule, on hand-worked cases (tick 0.1, step 0.001, min 5 USDT)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from live_helpers import BTC, HOUR, T0, execution, market

from xsmom.config.live import ExecutionConfig
from xsmom.exchange.reports import OrderReport, OrderSide, OrderStatus, OrderType
from xsmom.live import (
    Book,
    CancelOrder,
    IdScheme,
    OrderKind,
    PlaceOrder,
    ReplaceOrder,
    SymbolInput,
    SymbolPlan,
    TradingState,
    plan_symbol,
)

IDS = IdScheme("v1")
BAR = T0 + 10 * HOUR  # the bar just closed (open time)
NOW = BAR + HOUR  # its close: when the engine acts
BOOK = Book(symbol=BTC, bid=100.0, ask=100.1, ts=NOW)
BUY, SELL = OrderSide.BUY, OrderSide.SELL


def inp(**kw: Any) -> SymbolInput:
    base: dict[str, Any] = {
        "symbol": BTC,
        "market": market(),
        "target_qty": 0.0,
        "position_qty": 0.0,
        "book": BOOK,
        "now_ms": NOW,
        "bar_ts": BAR,
        "bar_ms": HOUR,
    }
    return SymbolInput(**{**base, **kw})


def plan(cfg: ExecutionConfig | None = None, **kw: Any) -> SymbolPlan:
    return plan_symbol(inp(**kw), cfg or execution(), IDS)


def order(
    side: OrderSide,
    qty: float,
    price: float | None = 100.0,
    *,
    cid: str | None = None,
    filled: float = 0.0,
    type_: OrderType = OrderType.LIMIT,
    stop: float | None = None,
    reduce_only: bool = False,
    post_only: bool = True,
) -> OrderReport:
    return OrderReport(
        venue_order_id=str(abs(hash((cid, qty, price))) % 10_000),
        client_id=cid if cid is not None else IDS.trade_id(BAR, BTC, 0),
        symbol=BTC,
        side=side,
        type=type_,
        qty=qty,
        price=price,
        stop_price=stop,
        filled=filled,
        avg_price=None,
        status=OrderStatus.PARTIALLY_FILLED if filled else OrderStatus.NEW,
        reduce_only=reduce_only,
        post_only=post_only if type_ is OrderType.LIMIT else False,
        ts=NOW,
    )


def places(p: SymbolPlan) -> list[PlaceOrder]:
    return [a for a in p.actions if isinstance(a, PlaceOrder)]


def cancels(p: SymbolPlan) -> list[CancelOrder]:
    return [a for a in p.actions if isinstance(a, CancelOrder)]


def replaces(p: SymbolPlan) -> list[ReplaceOrder]:
    return [a for a in p.actions if isinstance(a, ReplaceOrder)]


def shape(cmd: PlaceOrder) -> tuple[str, str, float, float | None, bool, bool]:
    r = cmd.request
    return (r.side.value, r.type.value, r.qty, r.price, r.reduce_only, r.post_only)


# ---- new orders ------------------------------------------------------------------------------
def test_first_order_of_a_symbol_joins_the_bid_post_only() -> None:
    p = plan(target_qty=1.0)
    (cmd,) = p.actions
    assert isinstance(cmd, PlaceOrder)
    assert shape(cmd) == ("buy", "limit", 1.0, 100.0, False, True)
    assert cmd.request.client_id == IDS.trade_id(BAR, BTC, 0) and cmd.attempt == 0
    assert p.wants_trade
    sell = places(plan(target_qty=-1.0))[0]
    assert shape(sell) == ("sell", "limit", 1.0, 100.1, False, True)


def test_offset_ticks_and_never_at_the_other_side() -> None:
    cfg = execution(post_offset_ticks=2)
    assert places(plan(cfg, target_qty=1.0))[0].request.price == pytest.approx(99.8)
    assert places(plan(cfg, target_qty=-1.0))[0].request.price == pytest.approx(100.3)
    last = Book(symbol=BTC, bid=100.0, ask=100.0, ts=NOW, from_last=True)
    assert places(plan(target_qty=1.0, book=last))[0].request.price == pytest.approx(99.9)
    assert places(plan(target_qty=-1.0, book=last))[0].request.price == pytest.approx(100.1)


def test_taker_at_once_when_ttl_is_zero_market_or_marketable_limit() -> None:
    (m,) = places(plan(execution(taker_after_s=0), target_qty=1.0))
    assert shape(m) == ("buy", "market", 1.0, None, False, False) and m.intent == "taker"
    cfg = execution(taker_after_s=0, taker_order="limit", taker_limit_bps=20)
    (lim,) = places(plan(cfg, target_qty=1.0))
    # 100.1 x 1.002 = 100.3002, rounded away from the touch to the 0.1 tick
    assert shape(lim) == ("buy", "limit", 1.0, pytest.approx(100.4), False, False)
    (s,) = places(plan(cfg, target_qty=-1.0))
    assert s.request.price == pytest.approx(99.8)  # 100.0 x 0.998 = 99.8


def test_drift_threshold_edges() -> None:
    cfg = execution(drift_threshold=0.25)
    exactly = plan(cfg, target_qty=2.0, position_qty=1.5)  # 0.5 == 0.25 x 2: trades
    assert [shape(c) for c in places(exactly)] == [("buy", "limit", 0.5, 100.0, False, True)]
    under = plan(cfg, target_qty=2.0, position_qty=1.5 + 1e-6)
    assert under.actions == () and "under the threshold" in under.notes[0]
    assert not under.wants_trade
    # a zero target always trades the whole position (threshold 0 x 0)
    flat = plan(cfg, target_qty=0.0, position_qty=0.002)
    assert [shape(c) for c in places(flat)] == [("sell", "limit", 0.002, 100.1, True, True)]


def test_min_notional_and_min_qty() -> None:
    small = plan(target_qty=0.049)  # 4.9 USDT < 5
    assert small.actions == () and "below min notional 5" in small.notes[0]
    (ok,) = places(plan(target_qty=0.05))  # 5.0 USDT
    assert ok.request.qty == 0.05
    # reduce-only orders are exempt from the minimum notional (as on Binance)
    (close,) = places(plan(target_qty=0.0, position_qty=0.02))
    assert shape(close) == ("sell", "limit", 0.02, 100.1, True, True)
    coarse = market(qty_step=0.001, min_qty=0.01)
    p = plan(target_qty=0.0, position_qty=0.005, market=coarse)
    assert p.actions == () and "below min qty 0.01" in p.notes[0]
    # a difference that rounds to nothing is not even a note
    assert plan(target_qty=1.0, position_qty=0.9995).actions == ()


def test_crossing_zero_is_split_into_reduce_only_close_and_open() -> None:
    p = plan(target_qty=-2.0, position_qty=1.0)
    assert [shape(c) for c in places(p)] == [
        ("sell", "limit", 1.0, 100.1, True, True),
        ("sell", "limit", 2.0, 100.1, False, True),
    ]
    assert [c.attempt for c in places(p)] == [0, 1]
    ids = {c.request.client_id for c in places(p)}
    assert ids == {IDS.trade_id(BAR, BTC, 0), IDS.trade_id(BAR, BTC, 1)}
    # the open part below min notional is dropped, the close still goes
    p = plan(target_qty=-0.01, position_qty=1.0)
    assert [shape(c) for c in places(p)] == [("sell", "limit", 1.0, 100.1, True, True)]
    assert "below min notional" in p.notes[0]


def test_attempts_continue_from_the_counter_and_run_out_loudly() -> None:
    (cmd,) = places(plan(target_qty=1.0, next_attempt=7))
    assert cmd.attempt == 7 and cmd.request.client_id.endswith("-7")
    p = plan(target_qty=1.0, next_attempt=1000)
    assert p.actions == () and "no client id left" in p.notes[0]


# ---- working orders --------------------------------------------------------------------------
def test_partial_fill_is_kept_and_topped_up() -> None:
    working = order(BUY, 1.0, filled=0.3)  # 0.3 filled is in the position
    assert plan(target_qty=1.0, position_qty=0.3, orders=(working,)).actions == ()
    short = order(BUY, 0.8, filled=0.3)  # remaining 0.5, needed 0.7: top up 0.2
    p = plan(target_qty=1.0, position_qty=0.3, orders=(short,), next_attempt=1)
    assert [shape(c) for c in places(p)] == [("buy", "limit", 0.2, 100.0, False, True)]
    assert places(p)[0].attempt == 1
    # no working order left after a partial fill: the rest goes out again
    p = plan(target_qty=1.0, position_qty=0.3)
    assert [shape(c) for c in places(p)] == [("buy", "limit", 0.7, 100.0, False, True)]


def test_working_orders_on_the_wrong_side_or_too_large_are_cancelled() -> None:
    working = order(BUY, 1.0)
    p = plan(target_qty=-1.0, orders=(working,), next_attempt=1)
    assert [c.venue_order_id for c in cancels(p)] == [working.venue_order_id]
    assert [shape(c) for c in places(p)] == [("sell", "limit", 1.0, 100.1, False, True)]
    big = order(BUY, 2.0)
    p = plan(target_qty=1.0, orders=(big,), next_attempt=1)
    assert len(cancels(p)) == 1 and places(p)[0].request.qty == 1.0
    assert "target moved" in cancels(p)[0].reason


def test_reprice_when_the_touch_moves_more_than_n_ticks() -> None:
    cfg = execution(reprice_ticks=2)
    two_off = order(BUY, 1.0, price=99.8)
    assert plan(cfg, target_qty=1.0, orders=(two_off,)).actions == ()
    three_off = order(BUY, 1.0, price=99.7, filled=0.4)
    p = plan(cfg, target_qty=1.0, position_qty=0.4, orders=(three_off,), next_attempt=1)
    (rep,) = replaces(p)
    assert rep.cancel.venue_order_id == three_off.venue_order_id and rep.cancel.known_filled == 0.4
    assert shape(rep.place) == ("buy", "limit", 0.6, 100.0, False, True)
    assert rep.place.attempt == 1 and len(p.actions) == 1


def test_ttl_escalates_to_a_taker_for_the_remaining() -> None:
    cfg = execution(taker_after_s=600)
    w = order(BUY, 1.0, filled=0.25)
    cid = w.client_id
    assert cid is not None
    young = plan(cfg, target_qty=1.0, position_qty=0.25, orders=(w,), placed_ms={cid: NOW})
    assert young.actions == ()
    at_599 = plan(
        cfg,
        target_qty=1.0,
        position_qty=0.25,
        orders=(w,),
        placed_ms={cid: NOW},
        now_ms=NOW + 599_000,
    )
    assert at_599.actions == ()
    at_600 = plan(
        cfg,
        target_qty=1.0,
        position_qty=0.25,
        orders=(w,),
        placed_ms={cid: NOW},
        now_ms=NOW + 600_000,
        next_attempt=1,
    )
    (rep,) = replaces(at_600)
    assert shape(rep.place) == ("buy", "market", 0.75, None, False, False)
    assert "rested 600 s" in rep.place.reason
    # without a record of when it was sent, the age counts from the bar's close
    unknown = plan(cfg, target_qty=1.0, position_qty=0.25, orders=(w,), now_ms=NOW + 600_000)
    assert len(replaces(unknown)) == 1


def test_stale_other_version_and_orphan_orders_are_cancelled() -> None:
    old_bar = order(BUY, 1.0, cid=IDS.trade_id(BAR - HOUR, BTC, 3))
    other_version = order(BUY, 1.0, cid=IdScheme("v0").trade_id(BAR, BTC, 0))
    manual = order(SELL, 1.0, price=120.0, cid="web_abc123")
    no_id = replace(order(SELL, 1.0, price=130.0), client_id=None, venue_order_id="77")
    assert IDS.classify(old_bar, BAR) is OrderKind.STALE
    assert IDS.classify(other_version, BAR) is OrderKind.STALE
    assert IDS.classify(manual, BAR) is OrderKind.ORPHAN
    assert IDS.classify(no_id, BAR) is OrderKind.ORPHAN
    p = plan(target_qty=1.0, orders=(old_bar, other_version, manual, no_id))
    reasons = [c.reason.split(":")[0] for c in cancels(p)]
    assert reasons == ["stale", "stale", "orphan", "orphan"]
    assert [shape(c) for c in places(p)] == [("buy", "limit", 1.0, 100.0, False, True)]


def test_working_orders_the_state_forbids_are_cancelled_stops_kept() -> None:
    stop = order(
        SELL, 1.0, None, cid=IDS.stop_id(BAR - HOUR, BTC, 0), type_=OrderType.STOP_MARKET, stop=95.0
    )
    buy = order(BUY, 1.0, cid=IDS.trade_id(BAR, BTC, 1))
    p = plan(
        target_qty=2.0,
        position_qty=1.0,
        orders=(buy, stop),
        stop_level=95.0,
        state=TradingState.HALTED,
        next_attempt=2,
    )
    assert [c.venue_order_id for c in cancels(p)] == [buy.venue_order_id]
    assert "trading state halted" in cancels(p)[0].reason
    assert [shape(c) for c in places(p)] == [("buy", "limit", 1.0, 100.0, False, True)]
    ro = order(SELL, 0.5, price=100.1, cid=IDS.trade_id(BAR, BTC, 1), reduce_only=True)
    p = plan(target_qty=0.5, position_qty=1.0, orders=(ro,), state=TradingState.REDUCING)
    assert p.actions == ()  # a reduce-only order may keep working while REDUCING


# ---- stops -------------------------------------------------------------------------------------
def stop_order(qty: float, level: float, side: OrderSide = SELL, bar: int = BAR) -> OrderReport:
    return order(
        side, qty, None, cid=IDS.stop_id(bar, BTC, 5), type_=OrderType.STOP_MARKET, stop=level
    )


def test_stop_is_placed_kept_moved_resized_and_cancelled_when_flat() -> None:
    (s,) = places(plan(target_qty=1.0, position_qty=1.0, stop_level=95.04))
    assert shape(s) == ("sell", "stop_market", 1.0, None, True, False)
    assert s.request.stop_price == pytest.approx(95.0) and s.intent == "stop"
    assert s.request.client_id == IDS.stop_id(BAR, BTC, 0)
    assert IDS.classify(stop_order(1.0, 95.0), BAR) is OrderKind.STOP
    kept = plan(target_qty=1.0, position_qty=1.0, stop_level=95.0, orders=(stop_order(1.0, 95.0),))
    assert kept.actions == ()
    moved = plan(target_qty=1.0, position_qty=1.0, stop_level=96.0, orders=(stop_order(1.0, 95.0),))
    (rep,) = replaces(moved)
    assert rep.place.request.stop_price == pytest.approx(96.0) and rep.place.request.qty == 1.0
    resized = plan(
        target_qty=1.0, position_qty=0.6, stop_level=95.0, orders=(stop_order(1.0, 95.0),)
    )
    (rep,) = replaces(resized)
    assert rep.place.request.qty == pytest.approx(0.6)
    flat = plan(target_qty=0.0, position_qty=0.0, stop_level=95.0, orders=(stop_order(1.0, 95.0),))
    assert [c.reason for c in cancels(flat)] == ["stop no longer matches the position or level"]
    short = places(plan(target_qty=-1.0, position_qty=-1.0, stop_level=105.0))
    assert [shape(c) for c in short] == [("buy", "stop_market", 1.0, None, True, False)]


def test_stop_already_passed_or_disabled_is_not_placed() -> None:
    passed = plan(target_qty=1.0, position_qty=1.0, stop_level=100.05)
    assert passed.actions == () and "already passed" in passed.notes[0]
    off = plan(
        execution(stop_orders=False),
        target_qty=1.0,
        position_qty=1.0,
        stop_level=95.0,
        orders=(stop_order(1.0, 95.0),),
    )
    assert len(cancels(off)) == 1 and places(off) == []
    assert places(plan(target_qty=1.0, position_qty=1.0, stop_level=None)) == []


def test_an_intent_under_way_is_completed_below_the_drift_threshold() -> None:
    cfg = execution(drift_threshold=0.05)
    # 3 % short of the target, nothing working: left alone
    assert places(plan(cfg, target_qty=2.0, position_qty=1.94)) == []
    # the same 3 % still on a working order of an earlier bar: re-placed, not dropped
    old = order(BUY, 1.0, filled=0.94, cid=IDS.trade_id(BAR - HOUR, BTC, 0))
    p = plan(cfg, target_qty=2.0, position_qty=1.94, orders=(old,))
    assert len(cancels(p)) == 1
    assert [shape(c) for c in places(p)] == [("buy", "limit", 0.06, 100.0, False, True)]
    # and a working order of this bar is topped up by any tradeable amount
    cur = order(BUY, 0.5, filled=0.0)
    p = plan(cfg, target_qty=20.0, position_qty=19.4, orders=(cur,), next_attempt=1)
    assert [shape(c) for c in places(p)] == [("buy", "limit", 0.1, 100.0, False, True)]
