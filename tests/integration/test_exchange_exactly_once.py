"""Proof of issue 8 item 1: under Binance's client-id rule (unique among OPEN orders only) and
`stall` faults, 200 intents through the real ccxt client give at most one order each, and the
positions equal the sum of the intents that filled.

A stall holds an order request past the client's timeout and then applies it. Phase A stalls
for less than the recvWindow: the request is applied after the client gave up, so a lookup
made at once would miss it and the resend would fill twice (the bug). Phase B stalls for more:
the venue refuses the request when it applies it (-5028), so the resend is the only order.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from xsmom import errors as xe
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.client_ids import client_order_id
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderStatus
from xsmom.exchange.retry import RetryPolicy
from xsmom.venue.testing import RunningVenue, start_venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
START_MS = 1_748_736_000_000
TIMEOUT_MS, RECV_WINDOW_MS, MARGIN_MS = 150, 400, 50
WORKERS, PER_PHASE = 4, 100


@dataclass(frozen=True)
class Intent:
    client_id: str
    symbol: str
    side: OrderSide
    qty: float


@dataclass
class Outcome:
    intent: Intent
    filled: float | None  # None: place_order raised


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    with start_venue(
        "sample",
        start=START_MS,
        speed=0.0,
        symbols=[BTC, ETH],
        initial_balance=1_000_000.0,
        order_limit_10s=100_000,
        order_limit_1m=100_000,
        weight_limit=1_000_000,
        client_id_rule="open",
    ) as rv:
        yield rv


def adapter(rv: RunningVenue) -> CcxtExchange:
    config = CcxtConfig(
        retry=RetryPolicy(max_attempts=8, base_delay=0.01, max_delay=0.05),
        rate_per_s=1e4,
        burst=1e4,
        timeout_ms=TIMEOUT_MS,
        recv_window_ms=RECV_WINDOW_MS,
        clock_margin_ms=MARGIN_MS,
    )
    ex = CcxtExchange(
        config,
        ApiCredentials(rv.api_key, rv.api_secret),
        client=rv.ccxt_client(timeout_ms=TIMEOUT_MS),
        bar_clock=rv.now,
    )
    ex.markets()
    return ex


def intents(phase: str, count: int, rng: random.Random) -> list[Intent]:
    out = []
    for i in range(count):
        symbol = BTC if i % 2 else ETH
        step = 1e-5 if symbol == BTC else 1e-3
        qty = round(step * rng.randint(100, 400), 8)
        side = OrderSide.BUY if rng.random() < 0.6 else OrderSide.SELL
        cid = client_order_id(f"once-{phase}", START_MS + i * 3_600_000, symbol)
        out.append(Intent(cid, symbol, side, qty))
    return out


def run_phase(rv: RunningVenue, todo: list[Intent]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    crashed: list[BaseException] = []
    lock = threading.Lock()

    def work(chunk: list[Intent]) -> None:
        try:
            place_all(chunk)
        except (AssertionError, xe.XsmomError) as exc:  # asserted empty below
            crashed.append(exc)

    def place_all(chunk: list[Intent]) -> None:
        ex = adapter(rv)
        for it in chunk:
            try:
                report = ex.place_order(
                    OrderRequest.market(it.symbol, it.side, it.qty, it.client_id)
                )
                assert report.client_id == it.client_id
                assert report.status is OrderStatus.FILLED
                filled: float | None = report.filled
            except (xe.RetryableError, xe.RejectedError):
                filled = None  # the venue's state decides below whether it exists
            with lock:
                outcomes.append(Outcome(it, filled))

    threads = [threading.Thread(target=work, args=(todo[k::WORKERS],)) for k in range(WORKERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert crashed == []
    return outcomes


def stall_plan(seconds: float, seed: int) -> dict[str, object]:
    endpoint = {"error_rate": 0.25, "errors": ["stall"], "timeout_s": seconds}
    return {"seed": seed, "endpoints": {"POST /fapi/v1/order": endpoint}}


def test_200_intents_under_stall_faults_give_one_order_each(
    venue: RunningVenue, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="xsmom.exchange.ccxt_adapter")
    rng = random.Random(8)
    outcomes: list[Outcome] = []
    # phase A: applied after the client's timeout, inside the recvWindow
    venue.set_faults(stall_plan(0.30, seed=1))
    outcomes += run_phase(venue, intents("a", PER_PHASE, rng))
    stalls_a = venue.server.faults.counts.get("stall", 0)
    found_late = sum("reached the venue despite" in r.getMessage() for r in caplog.records)
    # phase B: stalled past the recvWindow, refused when applied
    venue.set_faults(stall_plan(0.70, seed=2))
    outcomes += run_phase(venue, intents("b", PER_PHASE, rng))
    stalls_b = venue.server.faults.counts.get("stall", 0)
    threading.Event().wait(0.8)  # let the last stalled requests reach the engine
    venue.set_faults({})

    engine = venue.venue.engine
    by_cid: dict[str, int] = {}
    for order in engine.orders():
        by_cid[order.client_id] = by_cid.get(order.client_id, 0) + 1
    assert max(by_cid.values()) == 1  # at most one order per intent

    assert len(outcomes) == 2 * PER_PHASE
    assert stalls_a >= 15 and stalls_b >= 15  # the faults did happen
    assert found_late >= 10  # phase A: the lookup found orders applied after the timeout
    assert venue.server.expired_at_apply >= 10  # phase B: stale requests refused at apply

    reported = {o.intent.client_id for o in outcomes if o.filled is not None}
    assert set(by_cid) == reported  # no order the client does not know of, none missing
    assert len(reported) >= 190  # nearly every intent went through

    expected = {BTC: 0.0, ETH: 0.0}
    for o in outcomes:
        if o.filled is not None:
            assert o.filled == pytest.approx(o.intent.qty)
            sign = 1.0 if o.intent.side is OrderSide.BUY else -1.0
            expected[o.intent.symbol] += sign * o.filled
    seen = {p.symbol: p.qty for p in adapter(venue).positions()}  # through ccxt
    for symbol, qty in expected.items():
        assert seen.get(symbol, 0.0) == pytest.approx(qty, abs=1e-9)
        assert engine.position(symbol).qty == pytest.approx(qty, abs=1e-9)
