"""Circuit-breaker math with a fake clock, events, status, and the guarded wrapper."""

from __future__ import annotations

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
from xsmom.exchange.guarded import GuardedExchange, OrderDenied
from xsmom.exchange.reports import OrderReport, OrderRequest, OrderSide, OrderStatus
from xsmom.exchange.state import TradingState


class FakeClock:
    def __init__(self) -> None:
        self.now = 1_000_000

    def __call__(self) -> int:
        return self.now


def make(cfg: BreakerConfig | None = None) -> tuple[CircuitBreaker, FakeClock, list[BreakerEvent]]:
    clock = FakeClock()
    events: list[BreakerEvent] = []
    br = CircuitBreaker(cfg or BreakerConfig(), clock=clock, listeners=[events.append])
    return br, clock, events


def test_defaults_match_the_issue() -> None:
    cfg = BreakerConfig()
    assert (cfg.window_ms, cfg.failure_rate, cfg.min_calls) == (300_000, 0.10, 20)


def test_opens_only_above_rate_and_minimum_calls() -> None:
    br, clock, events = make()
    for _ in range(5):
        br.record(False)  # 5/5 failed but fewer than 20 calls
    assert br.state is BreakerState.CLOSED
    br2, clock2, events2 = make()
    for _ in range(45):
        br2.record(True)
        clock2.now += 10
    for _ in range(5):
        br2.record(False)  # 5/50 = 10%: not above
    assert br2.state is BreakerState.CLOSED
    br, clock, events = br2, clock2, events2
    br.record(False)  # 6/51 > 10%
    assert br.state is BreakerState.OPEN
    assert len(events) == 1 and isinstance(events[0], BreakerOpened)
    ev = events[0]
    assert (ev.calls, ev.failures, ev.ts_event) == (51, 6, clock.now)
    assert ev.failure_rate == pytest.approx(6 / 51)


def test_old_failures_leave_the_window() -> None:
    br, clock, _ = make()
    for _ in range(10):
        br.record(False)
    clock.now += 300_001  # all of them slide out
    for _ in range(30):
        br.record(True)
    st = br.status()
    assert br.state is BreakerState.CLOSED and st.calls == 30 and st.failures == 0


def test_half_open_after_cooldown_then_recovers_after_probes() -> None:
    cfg = BreakerConfig(min_calls=4, cooldown_ms=60_000, probe_successes=3)
    br, clock, events = make(cfg)
    for _ in range(4):
        br.record(False)
    assert br.state is BreakerState.OPEN
    opened_at = clock.now
    br.record(True)  # successes while open do not close it
    clock.now += 59_999
    assert br.state is BreakerState.OPEN
    clock.now += 1
    assert br.state is BreakerState.HALF_OPEN
    br.record(True)
    br.record(True)
    assert br.state is BreakerState.HALF_OPEN and br.status().probes_ok == 2
    br.record(True)
    assert br.state is BreakerState.CLOSED
    closed = events[-1]
    assert isinstance(closed, BreakerClosed) and closed.open_ms == clock.now - opened_at
    assert br.status().calls == 0  # a fresh window after recovery


def test_failed_probe_reopens_and_restarts_cooldown() -> None:
    cfg = BreakerConfig(min_calls=2, cooldown_ms=1_000, probe_successes=2)
    br, clock, events = make(cfg)
    br.record(False)
    br.record(False)
    clock.now += 1_000
    assert br.state is BreakerState.HALF_OPEN
    br.record(True)
    br.record(False)
    assert br.state is BreakerState.OPEN
    assert br.status().opened_at == clock.now and br.times_opened == 2
    assert [type(e) for e in events] == [BreakerOpened, BreakerOpened]


def test_a_raising_listener_is_counted_not_propagated() -> None:
    br, _, _ = make(BreakerConfig(min_calls=1))

    def bad(_e: BreakerEvent) -> None:
        raise RuntimeError("webhook down")

    br.subscribe(bad)
    br.record(False)
    assert br.state is BreakerState.OPEN and br.status().listener_errors == 1


def test_config_validation() -> None:
    with pytest.raises(xe.ConfigError):
        BreakerConfig(failure_rate=1.5)
    with pytest.raises(xe.ConfigError):
        BreakerConfig(min_calls=0)


class ScriptedExchange:
    """An Exchange stand-in: reads fail while ``down``; orders are echoed back as NEW."""

    name = "scripted"

    def __init__(self) -> None:
        self.down = False
        self.sent: list[OrderRequest] = []

    def ticker(self, symbol: str) -> str:
        if self.down:
            raise xe.ExchangeUnavailableError("503")
        return symbol

    def cancel_order(self, symbol: str, *, client_id=None, venue_order_id=None) -> str:
        raise xe.OrderNotFoundError("-2013")

    def place_order(self, req: OrderRequest) -> OrderReport:
        self.sent.append(req)
        return OrderReport(
            venue_order_id="1",
            client_id=req.client_id,
            symbol=req.symbol,
            side=req.side,
            type=req.type,
            qty=req.qty,
            price=req.price,
            stop_price=req.stop_price,
            filled=0.0,
            avg_price=None,
            status=OrderStatus.NEW,
            reduce_only=req.reduce_only,
            post_only=req.post_only,
            ts=0,
        )


@pytest.mark.parametrize("open_state", [TradingState.REDUCING, TradingState.HALTED])
def test_guard_counts_calls_and_gates_orders(open_state: TradingState) -> None:
    br, clock, _ = make(BreakerConfig(min_calls=4, cooldown_ms=1_000, probe_successes=2))
    inner = ScriptedExchange()
    ex = GuardedExchange(inner, br, open_state=open_state, clock=clock)  # type: ignore[arg-type]
    denied: list[OrderDenied] = []
    ex.on_denied(denied.append)
    buy = OrderRequest.market("BTC/USDT:USDT", OrderSide.BUY, 1.0, "open-1")
    close = OrderRequest.market("BTC/USDT:USDT", OrderSide.SELL, 1.0, "close-1", reduce_only=True)
    assert ex.place_order(buy).status is OrderStatus.NEW
    with pytest.raises(xe.OrderNotFoundError):
        ex.cancel_order("BTC/USDT:USDT", client_id="nope")  # a rejection is a healthy call
    assert br.status().failures == 0 and br.status().calls == 2
    inner.down = True
    for _ in range(3):
        with pytest.raises(xe.ExchangeUnavailableError):
            ex.ticker("BTC/USDT:USDT")
    assert ex.trading_state() is open_state
    with pytest.raises(xe.TradingHaltedError, match="refused"):
        ex.place_order(buy)
    assert denied[0].client_id == "open-1" and denied[0].trading_state is open_state
    assert denied[0].ts_event == clock.now and "circuit breaker open" in denied[0].reason
    if open_state is TradingState.REDUCING:
        assert ex.place_order(close).reduce_only
    else:
        with pytest.raises(xe.TradingHaltedError):
            ex.place_order(close)
    with pytest.raises(xe.TradingHaltedError):
        ex.set_leverage("BTC/USDT:USDT", 3)
    assert buy not in inner.sent[1:]
    inner.down = False
    clock.now += 1_000
    ex.ticker("BTC/USDT:USDT")
    ex.ticker("BTC/USDT:USDT")
    status = ex.status()
    assert (
        status.trading_state is TradingState.ACTIVE and status.breaker.state is BreakerState.CLOSED
    )
    assert status.refused_orders >= 2
    assert ex.place_order(buy).client_id == "open-1"


def test_guard_refuses_active_as_open_state() -> None:
    br, _, _ = make()
    with pytest.raises(xe.ConfigError):
        GuardedExchange(ScriptedExchange(), br, open_state=TradingState.ACTIVE)  # type: ignore[arg-type]


def test_trading_state_rules() -> None:
    assert TradingState.ACTIVE.allows(reduce_only=False)
    assert TradingState.REDUCING.allows(reduce_only=True)
    assert not TradingState.REDUCING.allows(reduce_only=False)
    assert not TradingState.HALTED.allows(reduce_only=True)
    assert TradingState.worst(TradingState.ACTIVE, TradingState.HALTED) is TradingState.HALTED
    assert TradingState.worst() is TradingState.ACTIVE
