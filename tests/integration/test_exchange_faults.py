"""Proofs over the simulated venue: one intent is one order despite lost responses, and the
breaker opens at a 30% fault rate, stops trading, and recovers when the faults stop."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from xsmom import errors as xe
from xsmom.exchange.breaker import (
    BreakerClosed,
    BreakerConfig,
    BreakerEvent,
    BreakerOpened,
    BreakerState,
    CircuitBreaker,
)
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.client_ids import client_order_id
from xsmom.exchange.guarded import GuardedExchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderStatus
from xsmom.exchange.retry import RetryPolicy
from xsmom.exchange.state import TradingState
from xsmom.venue.testing import RunningVenue, start_venue

BTC = "BTC/USDT:USDT"
START_MS = 1_748_736_000_000
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, multiplier=2.0, max_delay=0.05)


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=[BTC, "ETH/USDT:USDT"]) as rv:
        yield rv


def adapter(rv: RunningVenue, *, timeout_ms: int = 5000, **cfg: Any) -> CcxtExchange:
    # a small recvWindow: after an unknown outcome the adapter waits recvWindow + margin
    # from the send before its lookup
    config = CcxtConfig(
        retry=FAST, rate_per_s=500.0, burst=50.0, recv_window_ms=800, clock_margin_ms=100, **cfg
    )
    return CcxtExchange(
        config,
        ApiCredentials(rv.api_key, rv.api_secret),
        client=rv.ccxt_client(timeout_ms=timeout_ms),
        bar_clock=rv.now,
    )


def venue_orders(rv: RunningVenue) -> list[Any]:
    return rv.venue.engine.orders(BTC)


def test_dropped_response_after_accept_gives_exactly_one_order(venue: RunningVenue) -> None:
    ex = adapter(venue)
    calls: list[tuple[str, bool]] = []
    ex.observe_calls(lambda name, ok: calls.append((name, ok)))
    ex.markets()
    venue.set_faults({"endpoints": {"POST /fapi/v1/order": {"drop_response_rate": 1.0}}})
    cid = client_order_id("cfg-v1", START_MS, BTC, 0)
    last = ex.ticker(BTC).last
    report = ex.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, last * 0.95, cid))
    assert report.client_id == cid and report.status is OrderStatus.NEW
    orders = venue_orders(venue)
    assert [o.client_id for o in orders] == [cid]
    assert venue.server.faults.counts.get("drop", 0) == 1  # the venue did drop the answer
    # one send, then a lookup that found it: the adapter never resent the order
    assert [c for c in calls if c[0] == "create_order"] == [("create_order", False)]
    assert ("fetch_order", True) in calls


def test_dropped_market_order_is_not_doubled(venue: RunningVenue) -> None:
    ex = adapter(venue)
    ex.markets()
    venue.set_faults({"endpoints": {"POST /fapi/v1/order": {"drop_response_rate": 1.0}}})
    cid = client_order_id("cfg-v1", START_MS, BTC, 1)
    report = ex.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, cid))
    assert report.status is OrderStatus.FILLED
    (pos,) = ex.positions()
    assert pos.qty == pytest.approx(0.01)  # not 0.02
    assert len(venue_orders(venue)) == 1


def test_request_lost_before_the_venue_applied_it_is_resent_once(venue: RunningVenue) -> None:
    ex = adapter(venue, timeout_ms=400)
    ex.markets()
    plan = {
        "seed": 3,
        "endpoints": {
            "POST /fapi/v1/order": {"error_rate": 0.5, "errors": ["timeout"], "timeout_s": 0.8}
        },
    }
    venue.set_faults(plan)
    last = ex.ticker(BTC).last
    cids = [client_order_id("cfg-v1", START_MS, BTC, i) for i in range(6)]
    for i, cid in enumerate(cids):
        px = last * (0.90 - 0.01 * i)
        ex.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, px, cid))
    assert venue.server.faults.counts.get("timeout", 0) >= 1
    assert sorted(o.client_id for o in venue_orders(venue)) == sorted(cids)


def test_mixed_faults_never_double_an_intent(venue: RunningVenue) -> None:
    ex = adapter(venue, timeout_ms=400)
    ex.markets()
    plan = {
        "seed": 11,
        "endpoints": {
            "POST /fapi/v1/order": {
                "error_rate": 0.4,
                "errors": ["drop", "timeout", "late", "503", "429"],
                "timeout_s": 0.6,
                "retry_after": 0,
            }
        },
    }
    venue.set_faults(plan)
    last = ex.ticker(BTC).last
    cids = [client_order_id("cfg-v2", START_MS, BTC, i) for i in range(8)]
    for i, cid in enumerate(cids):
        ex.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, last * (0.9 - 0.01 * i), cid))
    counts = venue.server.faults.counts
    assert sum(counts.get(k, 0) for k in ("drop", "timeout", "late", "503", "429")) >= 2
    got = [o.client_id for o in venue_orders(venue)]
    assert sorted(got) == sorted(cids)  # each intent exactly once


class FakeClock:
    def __init__(self) -> None:
        self.now = 10_000_000

    def __call__(self) -> int:
        return self.now


@pytest.mark.parametrize("open_state", [TradingState.REDUCING, TradingState.HALTED])
def test_breaker_opens_at_30_percent_faults_and_recovers(
    venue: RunningVenue, open_state: TradingState
) -> None:
    clock = FakeClock()
    events: list[BreakerEvent] = []
    breaker = CircuitBreaker(BreakerConfig(), clock=clock, listeners=[events.append])
    ex = GuardedExchange(adapter(venue), breaker, open_state=open_state)
    ex.markets()
    start = clock.now
    venue.set_faults({"seed": 5, "endpoints": {"*": {"error_rate": 0.3, "errors": ["503", "500"]}}})
    reads = 0
    while breaker.state is BreakerState.CLOSED and reads < 60:
        clock.now += 1_000  # one read a second, well inside the 5-minute window
        # retries exhausted or not, the breaker counted every attempt
        with contextlib.suppress(xe.RetryableError):
            ex.ticker(BTC)
        reads += 1
    assert breaker.state is BreakerState.OPEN
    opened = [e for e in events if isinstance(e, BreakerOpened)]
    assert len(opened) == 1 and opened[0].ts_event - start <= BreakerConfig().window_ms
    assert opened[0].failure_rate > 0.10 and opened[0].calls >= 20
    assert ex.trading_state() is open_state
    with pytest.raises(xe.TradingHaltedError):
        ex.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "blocked-1"))
    assert venue_orders(venue) == []  # nothing reached the venue
    assert ex.status().refused_orders == 1

    venue.set_faults({})
    clock.now += BreakerConfig().cooldown_ms
    assert breaker.state is BreakerState.HALF_OPEN
    for _ in range(BreakerConfig().probe_successes):
        ex.ticker(BTC)
    assert breaker.state is BreakerState.CLOSED
    assert isinstance(events[-1], BreakerClosed)
    assert ex.trading_state() is TradingState.ACTIVE
    placed = ex.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "after-1"))
    assert placed.status is OrderStatus.FILLED
