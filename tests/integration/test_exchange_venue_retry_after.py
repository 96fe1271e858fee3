"""A one-day Retry-After from the simulated venue (418 ban) with the real ccxt client: no
sleep, no further request until the wait is over, the breaker held OPEN with the reason;
a short Retry-After is honoured as a floor and the call then succeeds."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from xsmom import errors as xe
from xsmom.exchange.breaker import BreakerConfig, BreakerState, CircuitBreaker
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.clock import FakeClock
from xsmom.exchange.guarded import GuardedExchange
from xsmom.exchange.retry import RetryPolicy
from xsmom.exchange.state import TradingState
from xsmom.venue.testing import RunningVenue, start_venue

BTC = "BTC/USDT:USDT"
START_MS = 1_748_736_000_000
DAY_S = 86_400


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=[BTC]) as rv:
        yield rv


def guarded(rv: RunningVenue, clock: FakeClock) -> tuple[GuardedExchange, CcxtExchange]:
    policy = RetryPolicy(max_attempts=5, base_delay=0.01, max_retry_after=60)
    cfg = CcxtConfig(retry=policy, max_clock_drift_ms=None, rate_per_s=1e6, burst=1e6)
    ex = CcxtExchange(cfg, client=rv.ccxt_client(), sleep=clock.sleep, clock=clock.wall_ms)
    breaker = CircuitBreaker(BreakerConfig(), clock=clock)
    return GuardedExchange(ex, breaker, open_state=TradingState.HALTED), ex


def test_a_one_day_ban_is_a_breaker_state_not_a_sleep(venue: RunningVenue) -> None:
    clock = FakeClock()
    g, ex = guarded(venue, clock)
    g.markets()
    plan = {"error_rate": 1.0, "errors": ["418"], "retry_after": DAY_S}
    venue.set_faults({"endpoints": {"GET /fapi/v1/ticker/24hr": plan}})
    with pytest.raises(xe.VenueBackoffError, match="86400 s"):
        g.ticker(BTC)
    assert clock.slept == []  # four one-day sleeps were recorded before the fix
    assert venue.server.faults.counts.get("418") == 1
    status = g.status()
    assert status.breaker.state is BreakerState.OPEN and status.trading_state is TradingState.HALTED
    assert status.breaker.reason is not None and "86400 s" in status.breaker.reason
    sent = ex.requests
    with pytest.raises(xe.VenueBackoffError, match="left"):
        g.balance()  # nothing reaches the venue while it asked us to wait
    assert ex.requests == sent and venue.server.faults.counts.get("418") == 1
    venue.set_faults({})
    clock.advance(DAY_S * 1000)
    assert g.ticker(BTC).last > 0 and g.breaker.state is not BreakerState.OPEN


def test_a_short_retry_after_is_a_floor(venue: RunningVenue) -> None:
    clock = FakeClock()
    g, _ = guarded(venue, clock)
    g.markets()
    plan = {"error_rate": 1.0, "errors": ["429"], "retry_after": 7}
    venue.set_faults({"seed": 1, "endpoints": {"GET /fapi/v1/ticker/24hr": plan}})
    with pytest.raises(xe.RateLimitError) as info:
        g.ticker(BTC)
    assert not isinstance(info.value, xe.VenueBackoffError)
    assert clock.slept and all(s >= 7.0 for s in clock.slept) and len(clock.slept) == 4
