"""Retry-After: capped, read only from the answer that carried it, and a wait beyond the cap
becomes a venue hold and a breaker state with a recorded reason instead of a sleep. Time is
a `FakeClock`: nothing here waits."""

from __future__ import annotations

import random
from typing import Any

import ccxt
import pytest

from xsmom import errors as xe
from xsmom.exchange import ccxt_errors
from xsmom.exchange.breaker import BreakerConfig, BreakerOpened, BreakerState, CircuitBreaker
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.clock import FakeClock
from xsmom.exchange.guarded import GuardedExchange
from xsmom.exchange.reports import OrderRequest, OrderSide
from xsmom.exchange.retry import Retrier, RetryPolicy
from xsmom.exchange.state import TradingState

BTC = "BTC/USDT:USDT"
DAY_S = 86_400


class Script:
    """Fail with each scripted (exception, headers of that answer) in turn, then answer."""

    def __init__(self, client: Venue, *steps: tuple[Exception, dict[str, str] | None]) -> None:
        self.client = client
        self.steps = list(steps)

    def __call__(self, *_a: Any) -> dict[str, Any]:
        self.client.sent += 1
        if self.steps:
            exc, headers = self.steps.pop(0)
            if headers is not None:
                self.client.last_response_headers = headers
            raise exc
        return {"symbol": BTC, "last": 100.0, "timestamp": 1}


class Venue:
    """A ccxt-shaped client with one market; ``fetch_ticker`` follows a script."""

    precisionMode = 4

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.last_response_headers: dict[str, str] | None = None
        self.sent = 0
        self.fetch_ticker: Any = Script(self)

    def load_markets(self) -> dict[str, Any]:
        return {
            BTC: {
                "id": "BTCUSDT",
                "symbol": BTC,
                "swap": True,
                "linear": True,
                "settle": "USDT",
                "contractSize": 1,
                "precision": {"amount": 0.001, "price": 0.1},
                "limits": {"amount": {"min": 0.001}, "cost": {"min": 5}},
            }
        }


def make(clock: FakeClock, cap: float = 60.0) -> tuple[CcxtExchange, Venue]:
    client = Venue()
    policy = RetryPolicy(max_attempts=4, base_delay=0.2, max_retry_after=cap)
    cfg = CcxtConfig(retry=policy, max_clock_drift_ms=None, rate_per_s=1e6, burst=1e6)
    ex = CcxtExchange(
        cfg, client=client, sleep=clock.sleep, clock=clock.wall_ms, rng=random.Random(0)
    )
    ex.markets()
    return ex, client


def test_retry_after_within_the_cap_is_a_floor_and_beyond_it_is_not_slept() -> None:
    slept: list[float] = []
    r = Retrier(RetryPolicy(base_delay=0.1, max_retry_after=60), sleep=slept.append)
    calls = {"n": 0}

    def limited(wait: float) -> str:
        calls["n"] += 1
        if calls["n"] == 1:
            raise xe.RateLimitError("429", retry_after=wait)
        return "ok"

    assert r.call(lambda: limited(30.0)) == "ok" and slept == [30.0]
    calls["n"], slept[:] = 0, []
    with pytest.raises(xe.VenueBackoffError, match="86400 s") as info:
        r.call(lambda: limited(float(DAY_S)))
    assert info.value.retry_after == DAY_S and calls["n"] == 1 and slept == []


def test_a_later_timeout_never_reuses_an_earlier_retry_after() -> None:
    clock = FakeClock()
    ex, client = make(clock)
    client.fetch_ticker = Script(
        client,
        (ccxt.RateLimitExceeded("429"), {"Retry-After": "5"}),
        (ccxt.RequestTimeout("timed out"), None),  # no answer: no headers of its own
    )
    assert ex.ticker(BTC).last == 100.0
    assert clock.slept[0] == 5.0 and clock.slept[1] < 1.0  # was 5 s again before


def test_the_mapping_reads_retry_after_only_for_rate_limits_and_unavailability() -> None:
    headers = {"Retry-After": "9"}

    def wait(exc: Exception) -> float | None:
        err = ccxt_errors.map_ccxt_error(exc, headers=headers)
        return err.retry_after if isinstance(err, xe.RetryableError) else None

    assert wait(ccxt.RequestTimeout("t")) is None
    assert wait(ccxt.NetworkError("n")) is None
    assert wait(ccxt.DDoSProtection("418")) == 9
    assert wait(ccxt.ExchangeNotAvailable("503")) == 9


def test_a_one_day_ban_holds_the_adapter_without_sleeping_or_sending() -> None:
    clock = FakeClock()
    ex, client = make(clock)
    client.fetch_ticker = Script(
        client, (ccxt.DDoSProtection("418 banned"), {"Retry-After": str(DAY_S)})
    )
    with pytest.raises(xe.VenueBackoffError, match="86400 s"):
        ex.ticker(BTC)
    assert clock.slept == [] and client.sent == 1
    clock.advance(3_600_000)
    with pytest.raises(xe.VenueBackoffError, match="82800 s left") as info:
        ex.ticker(BTC)
    assert client.sent == 1 and info.value.retry_after == pytest.approx(82_800)
    clock.advance(82_800_000)
    assert ex.ticker(BTC).last == 100.0 and client.sent == 2 and clock.slept == []


def test_the_breaker_holds_open_for_the_venues_wait_with_the_reason_recorded() -> None:
    clock = FakeClock()
    ex, client = make(clock)
    events: list[Any] = []
    breaker = CircuitBreaker(
        BreakerConfig(cooldown_ms=60_000, probe_successes=1), clock=clock, listeners=[events.append]
    )
    guarded = GuardedExchange(ex, breaker, open_state=TradingState.REDUCING)
    client.fetch_ticker = Script(client, (ccxt.RateLimitExceeded("429"), {"Retry-After": "7200"}))
    with pytest.raises(xe.VenueBackoffError):
        guarded.ticker(BTC)
    status = guarded.status()
    assert (
        status.breaker.state is BreakerState.OPEN and status.trading_state is TradingState.REDUCING
    )
    assert status.breaker.reason is not None and "7200 s" in status.breaker.reason
    assert status.breaker.held_until == clock.wall_ms() + 7_200_000
    (opened,) = events
    assert isinstance(opened, BreakerOpened) and "7200 s" in opened.reason
    order = OrderRequest.market(BTC, OrderSide.BUY, 0.01, "c-1")
    with pytest.raises(xe.TradingHaltedError):
        guarded.place_order(order)
    clock.advance(3_600_000)  # past the cool-down, not past the hold
    assert guarded.breaker.state is BreakerState.OPEN
    clock.advance(3_600_000)
    assert guarded.breaker.state is BreakerState.HALF_OPEN
    assert guarded.ticker(BTC).last == 100.0  # the probe closes it
    assert guarded.breaker.state is BreakerState.CLOSED and guarded.status().breaker.reason is None


def test_an_order_refused_with_a_one_day_429_is_not_resent_nor_slept_on() -> None:
    clock = FakeClock()
    ex, client = make(clock)
    script = Script(client, (ccxt.RateLimitExceeded("429"), {"Retry-After": str(DAY_S)}))
    client.create_order = script  # type: ignore[attr-defined]
    with pytest.raises(xe.VenueBackoffError, match="86400 s"):
        ex.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "c-9"))
    assert client.sent == 1 and clock.slept == []
