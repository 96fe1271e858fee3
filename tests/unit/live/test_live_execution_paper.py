"""The executor against the paper adapter on the bundled sample: convergence through partial
fills, TTL escalation, stops on the venue, zero orders while HALTED, no duplicate on retries."""

from __future__ import annotations

import dataclasses
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from live_helpers import BTC, ETH, HOUR, T0, execution, guards

from xsmom.data.bundled import sample_store
from xsmom.errors import ExchangeUnavailableError, RequestTimeoutError
from xsmom.exchange.breaker import BreakerConfig, CircuitBreaker
from xsmom.exchange.guarded import GuardedExchange
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderStatus, OrderType
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.live import (
    ActionSkipped,
    CycleReport,
    Denied,
    ExecutionState,
    Executor,
    Gate,
    GateInputs,
    Home,
    IdScheme,
    OrderRejected,
    RetryLater,
    StopMode,
    TradingState,
    margin_ratio,
)
from xsmom.sim import FeeModel

IDS = IdScheme("v1")


class Bot:
    """The paper venue, a gate and an executor, driven bar by bar like the engine will."""

    def __init__(self, tmp_path: Path, *, participation: float = 1.0, **exec_kw: Any) -> None:
        self.clock = ManualClock(T0)
        src = StoreMarketData(sample_store(), self.clock, symbols=[BTC, ETH])
        fees = FeeModel(max_participation=participation)
        self.paper = PaperExchange(
            src, tmp_path / "paper.json", self.clock, config=PaperConfig(fees=fees)
        )
        self.exchange: Any = self.paper
        self.gate = Gate(guards(daily_loss_limit=0.05))
        self.home = Home(tmp_path / "home").create()
        cfg = execution(quote_source="last", **exec_kw)
        self.executor = Executor(self.exchange, self.gate, cfg, ids=IDS, bar_ms=HOUR)

    def cycle(self, targets: dict[str, float], **kw: Any) -> CycleReport:
        now = self.clock.now
        bar = now // HOUR * HOUR - HOUR
        bal = self.paper.balance()
        self.gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions={p.symbol: p.qty for p in self.paper.positions()},
                last_bar_ts=bar,
                bar_ms=HOUR,
                stop=self.home.read_stop(),
            )
        )
        return self.executor.cycle(bar_ts=bar, now_ms=now, targets=targets, **kw)

    def position(self, symbol: str) -> float:
        return sum(p.qty for p in self.paper.positions() if p.symbol == symbol)


def test_orders_filling_in_pieces_converge_to_the_target(tmp_path: Path) -> None:
    bot = Bot(tmp_path, participation=4e-6, taker_after_s=6 * 3600)
    target = {BTC: 0.05, ETH: -2.0}
    placed: list[str] = []
    for _ in range(12):
        rep = bot.cycle(target)
        placed += [o.client_id or "" for o in rep.placed]
        bot.clock.advance(HOUR)
    assert bot.position(BTC) == pytest.approx(0.05, abs=1e-5)  # one step
    assert bot.position(ETH) == pytest.approx(-2.0, abs=1e-3)
    fills = bot.paper.fills(BTC)
    assert len(fills) >= 3 and all(f.is_maker for f in fills)  # in pieces, all post-only
    assert sum(f.qty for f in fills) == pytest.approx(0.05, abs=1e-9)  # no overshoot
    assert len({f.client_id for f in fills}) >= 3  # by several orders, bar after bar
    assert all(IDS.parse(c) is not None for c in placed)
    assert len(placed) == len(set(placed))  # never the same id twice
    # converged: the next cycles send nothing
    rep = bot.cycle(target)
    assert rep.placed == () and rep.cancelled == ()


def test_ttl_escalates_a_resting_order_to_a_market_order(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=1800)
    first = bot.cycle({BTC: 0.02})
    (limit,) = first.placed
    assert limit.type is OrderType.LIMIT and limit.post_only
    bot.clock.advance(900_000)  # 15 minutes: still young
    assert bot.cycle({BTC: 0.02}).placed == ()
    bot.clock.advance(900_000)  # 30 minutes: the TTL
    rep = bot.cycle({BTC: 0.02})
    assert [o.venue_order_id for o in rep.cancelled] == [limit.venue_order_id]
    (market,) = rep.placed
    assert market.type is OrderType.MARKET and market.status is OrderStatus.FILLED
    assert bot.position(BTC) == pytest.approx(0.02)
    (fill,) = rep.fills
    assert not fill.is_maker and fill.client_id == market.client_id


def test_zero_orders_while_halted_and_working_orders_cancelled(tmp_path: Path) -> None:
    bot = Bot(tmp_path, participation=1e-7, taker_after_s=6 * 3600)
    rep = bot.cycle({BTC: 0.02, ETH: 1.0})
    assert len(rep.placed) == 2
    bot.home.write_stop(StopMode.PAUSE)
    sent_before = len(bot.paper.engine.orders())
    for _ in range(3):
        bot.clock.advance(HOUR)
        rep = bot.cycle({BTC: 0.02, ETH: 1.0})
        assert rep.cancelled == () or bot.paper.open_orders() == []
        assert bot.gate.state is TradingState.HALTED
        assert rep.placed == ()
        assert {d.symbol for d in rep.denials} == {BTC, ETH}
        assert all("emergency stop file: pause" in d.reason for d in rep.denials)
    assert len(bot.paper.engine.orders()) == sent_before  # not one order reached the venue
    assert bot.paper.open_orders() == []  # the resting ones were cancelled
    bot.home.clear_stop()
    bot.clock.advance(HOUR)
    assert len(bot.cycle({BTC: 0.02, ETH: 1.0}).placed) >= 1


def test_flatten_closes_with_reduce_only_orders_only(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=0)
    bot.cycle({BTC: 0.02, ETH: -1.0})
    assert bot.position(BTC) == pytest.approx(0.02)
    bot.home.write_stop(StopMode.FLATTEN)
    bot.clock.advance(HOUR)
    rep = bot.cycle({BTC: 0.05, ETH: -3.0})
    assert bot.gate.state is TradingState.REDUCING
    assert rep.placed and all(o.reduce_only for o in rep.placed)
    assert bot.paper.positions() == []


def test_protective_stop_rests_on_the_venue_and_follows_the_position(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=0)
    px = bot.paper.ticker(BTC).last
    bot.cycle({BTC: 0.02}, stop_levels={BTC: px * 0.9})  # the taker fills, the stop follows
    (stop,) = [o for o in bot.paper.open_orders(BTC) if o.type is OrderType.STOP_MARKET]
    assert stop.reduce_only and stop.qty == pytest.approx(0.02)
    assert stop.stop_price == pytest.approx(round(px * 0.9, 1))
    bot.clock.advance(HOUR)
    bot.cycle({BTC: 0.03}, stop_levels={BTC: px * 0.92})
    (moved,) = [o for o in bot.paper.open_orders(BTC) if o.type is OrderType.STOP_MARKET]
    assert moved.qty == pytest.approx(0.03) and moved.stop_price == pytest.approx(
        round(px * 0.92, 1)
    )
    bot.clock.advance(HOUR)
    bot.cycle({BTC: 0.0}, stop_levels={BTC: px * 0.92})
    assert bot.paper.open_orders(BTC) == [] and bot.paper.positions() == []


def test_orphan_orders_on_the_account_are_cancelled(tmp_path: Path) -> None:
    bot = Bot(tmp_path)
    px = bot.paper.ticker(ETH).last
    bot.paper.place_order(OrderRequest.limit(ETH, OrderSide.BUY, 1.0, px * 0.8, "manual1"))
    rep = bot.cycle({})
    assert [o.client_id for o in rep.cancelled] == ["manual1"]
    assert bot.paper.open_orders() == []


class FlakyPlace:
    """The paper exchange, but ``place_order`` fails once: before, or after reaching the venue."""

    def __init__(self, inner: PaperExchange, *, reached: bool) -> None:
        self.inner, self.reached, self.failed = inner, reached, 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def place_order(self, request: OrderRequest) -> Any:
        if self.failed == 0:
            self.failed += 1
            if self.reached:
                self.inner.place_order(request)  # the venue got it; the answer was lost
                raise RequestTimeoutError("timed out reading the response")
            raise ExchangeUnavailableError("503 service unavailable")
        return self.inner.place_order(request)


@pytest.mark.parametrize("reached", [True, False])
def test_a_lost_answer_never_becomes_a_second_order(tmp_path: Path, reached: bool) -> None:
    bot = Bot(tmp_path, taker_after_s=6 * 3600)
    flaky = FlakyPlace(bot.paper, reached=reached)
    bot.executor = Executor(flaky, bot.gate, bot.executor.config, ids=IDS, bar_ms=HOUR)  # type: ignore[arg-type]
    rep = bot.cycle({BTC: 0.02})
    assert rep.placed == () and isinstance(rep.events[0], RetryLater)
    cid = rep.events[0].client_id
    assert bot.executor.state.pending == {cid: BTC}
    bot.clock.advance(60_000)  # same bar, next cycle
    rep = bot.cycle({BTC: 0.02})
    orders = bot.paper.engine.orders(BTC)
    assert [o.client_id for o in orders] == [cid]  # one order for the intent, with its id
    assert bot.executor.state.pending == {}
    assert Counter(o.client_id for o in rep.placed) == Counter({cid: 1})


def test_execution_state_round_trips_and_a_restart_sends_no_duplicate(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=6 * 3600)
    bot.cycle({BTC: 0.02})
    saved = ExecutionState.from_state(bot.executor.state.to_state())
    assert saved == bot.executor.state
    # a restart that lost the executor's memory still numbers after the ids on the venue
    bot.executor = Executor(bot.paper, bot.gate, bot.executor.config, ids=IDS, bar_ms=HOUR)
    bot.clock.advance(60_000)
    rep = bot.cycle({BTC: 0.04})
    ids = [o.client_id for o in bot.paper.engine.orders(BTC)]
    assert len(ids) == len(set(ids)) and not any(isinstance(e, Denied) for e in rep.events)
    assert sum(o.remaining for o in bot.paper.open_orders(BTC)) == pytest.approx(0.04)


def test_a_rejected_order_is_an_event_and_its_id_is_not_reused(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=0)
    rep = bot.cycle({BTC: 5.0})  # ~500k USDT on a 10k account: the venue refuses the margin
    (rej,) = [e for e in rep.events if isinstance(e, OrderRejected)]
    assert "Insufficient" in rej.error and rej.client_id == IDS.trade_id(rep.bar_ts, BTC, 0)
    assert rep.placed == () and bot.paper.positions() == []
    bot.clock.advance(60_000)
    rep = bot.cycle({BTC: 0.02})
    (order,) = rep.placed
    assert order.client_id == IDS.trade_id(rep.bar_ts, BTC, 1)


class FillsDuringCancel:
    """The paper exchange, but a cancel reports a fill that happened after the plan."""

    def __init__(self, inner: PaperExchange) -> None:
        self.inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def cancel_order(self, symbol: str, **kw: Any) -> Any:
        report = self.inner.cancel_order(symbol, **kw)
        return dataclasses.replace(report, filled=report.filled + 0.001)


def test_a_fill_seen_at_cancel_stops_the_replacement(tmp_path: Path) -> None:
    bot = Bot(tmp_path, participation=1e-9, taker_after_s=1800)
    (limit,) = bot.cycle({BTC: 0.02}).placed
    bot.executor = Executor(
        FillsDuringCancel(bot.paper),  # type: ignore[arg-type]
        bot.gate,
        bot.executor.config,
        ids=IDS,
        bar_ms=HOUR,
        state=bot.executor.state,
    )
    bot.clock.advance(1_800_000)  # the TTL: cancel, then a market order for the rest
    rep = bot.cycle({BTC: 0.02})
    assert [o.venue_order_id for o in rep.cancelled] == [limit.venue_order_id]
    assert rep.placed == ()  # not sent on a plan the fill made stale
    assert any(isinstance(e, ActionSkipped) and "meanwhile" in e.reason for e in rep.events)


def test_an_open_breaker_lets_only_reductions_through(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=0)
    breaker = CircuitBreaker(BreakerConfig(min_calls=5), clock=bot.clock)
    guarded = GuardedExchange(bot.paper, breaker, clock=bot.clock)
    bot.gate = Gate(guards(breaker_state="reducing"))
    bot.executor = Executor(guarded, bot.gate, bot.executor.config, ids=IDS, bar_ms=HOUR)

    def cycle(targets: dict[str, float]) -> CycleReport:
        now = bot.clock.now
        bot.gate.update(
            GateInputs(
                now_ms=now,
                equity=10_000.0,
                margin_ratio=0.0,
                positions={p.symbol: p.qty for p in bot.paper.positions()},
                breaker=breaker.state,
                last_bar_ts=now // HOUR * HOUR - HOUR,
                bar_ms=HOUR,
            )
        )
        return bot.executor.cycle(bar_ts=now // HOUR * HOUR - HOUR, now_ms=now, targets=targets)

    cycle({BTC: 0.03})
    assert bot.position(BTC) == pytest.approx(0.03)
    bot.clock.advance(HOUR)
    for _ in range(5):
        breaker.record(False)
    rep = cycle({BTC: 0.01, ETH: 1.0})
    assert bot.gate.state is TradingState.REDUCING and "circuit breaker open" in bot.gate.reason
    assert [o.symbol for o in rep.placed] == [BTC] and rep.placed[0].reduce_only
    assert [d.symbol for d in rep.denials] == [ETH]
    assert bot.position(BTC) == pytest.approx(0.01) and bot.position(ETH) == 0.0


def test_a_restart_mid_ttl_keeps_the_order_age(tmp_path: Path) -> None:
    bot = Bot(tmp_path, taker_after_s=1800)
    bot.clock.advance(600_000)  # ten minutes into the bar: the order is sent now
    (limit,) = bot.cycle({BTC: 0.02}).placed
    saved = json.loads(json.dumps(bot.executor.state.to_state()))
    gate_saved = json.loads(json.dumps(bot.gate.to_state()))
    # the process dies; a new gate and executor come back from the saved state
    bot.gate = Gate(bot.gate.config)
    bot.gate.from_state(gate_saved)
    bot.executor = Executor(
        bot.paper,
        bot.gate,
        bot.executor.config,
        ids=IDS,
        bar_ms=HOUR,
        state=ExecutionState.from_state(saved),
    )
    bot.clock.advance(1_500_000)  # 25 minutes after sending (35 after the close)
    assert bot.cycle({BTC: 0.02}).placed == ()  # the saved send time, not the bar's close
    bot.clock.advance(300_000)  # 30 minutes after sending: the TTL
    rep = bot.cycle({BTC: 0.02})
    assert [o.venue_order_id for o in rep.cancelled] == [limit.venue_order_id]
    assert [o.type for o in rep.placed] == [OrderType.MARKET]
    assert rep.placed[0].client_id == IDS.trade_id(rep.bar_ts, BTC, 1)
