"""Each guard trips and recovers on its own, at its exact edges, and survives a restart."""

from __future__ import annotations

import json

import pytest
from live_helpers import BTC, DAY, ETH, HOUR, NOON, SOL, T0, guards, inputs, place

from xsmom.errors import CorruptStateError, DataError
from xsmom.exchange.breaker import BreakerConfig, BreakerState, CircuitBreaker
from xsmom.exchange.reports import OrderSide
from xsmom.exchange.store_source import ManualClock
from xsmom.live import (
    Denied,
    Gate,
    GuardAlerted,
    GuardRecovered,
    GuardTripped,
    StopMode,
    StopRequest,
    TradingState,
    TradingStateChanged,
)

A, R, H = TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED


def restarted(gate: Gate) -> Gate:
    """Return a new gate built from ``gate``'s state after a JSON round trip (a restart)."""
    saved = json.loads(json.dumps(gate.to_state()))
    again = Gate(gate.config)
    again.from_state(saved)
    return again


def gate_of(**kw: object) -> Gate:
    return Gate(guards(**kw))


# ---- daily loss --------------------------------------------------------------------------------
def test_daily_loss_trips_at_the_limit_and_holds_until_utc_midnight() -> None:
    gate = gate_of(daily_loss_limit=0.05)
    gate.update(inputs(T0 + HOUR, equity=1000.0))  # the day's opening equity
    assert gate.state is A
    gate.update(inputs(T0 + 2 * HOUR, equity=950.01))  # 4.999 %: under the limit
    assert gate.state is A
    events = gate.update(inputs(T0 + 3 * HOUR, equity=950.0))  # exactly 5 %
    assert gate.state is H and "daily loss 5.00%" in gate.reason
    assert [type(e) for e in events] == [GuardTripped, TradingStateChanged]
    assert isinstance(events[0], GuardTripped) and events[0].guard == "daily_loss"
    # equity comes back the same day: still halted, no new events
    assert gate.update(inputs(T0 + 10 * HOUR, equity=1100.0)) == []
    assert gate.state is H
    # one millisecond before midnight: still halted
    gate.update(inputs(T0 + DAY - 1, equity=1100.0))
    assert gate.state is H
    # at 00:00 UTC it resets, and the new day's opening equity is the equity then
    events = gate.update(inputs(T0 + DAY, equity=1100.0))
    assert gate.state is A
    assert any(isinstance(e, GuardRecovered) and e.guard == "daily_loss" for e in events)
    gate.update(inputs(T0 + DAY + HOUR, equity=1045.01))  # 4.999 % of 1100
    assert gate.state is A
    gate.update(inputs(T0 + DAY + 2 * HOUR, equity=1045.0))  # 5 % of 1100
    assert gate.state is H


def test_daily_loss_halt_survives_a_restart_in_the_middle() -> None:
    gate = gate_of(daily_loss_limit=0.05)
    gate.update(inputs(T0 + HOUR, equity=1000.0))
    gate.update(inputs(T0 + 2 * HOUR, equity=900.0))
    assert gate.state is H
    again = restarted(gate)
    assert isinstance(again.check(place(BTC, 1.0)), Denied)  # not updated yet: nothing passes
    events = again.update(inputs(T0 + 5 * HOUR, equity=1000.0))
    assert again.state is H and events == []  # the halt and its events are not repeated
    assert isinstance(again.check(place(BTC, 1.0)), Denied)
    again.update(inputs(T0 + DAY, equity=1000.0))
    assert again.state is A


def test_daily_loss_restart_keeps_the_days_opening_equity() -> None:
    gate = gate_of(daily_loss_limit=0.05)
    gate.update(inputs(T0 + HOUR, equity=1000.0))
    gate.update(inputs(T0 + 2 * HOUR, equity=970.0))
    again = restarted(gate)
    again.update(inputs(T0 + 3 * HOUR, equity=950.0))  # 5 % below the ORIGINAL 1000
    assert again.state is H


# ---- drawdown ----------------------------------------------------------------------------------
def test_drawdown_hysteresis_edges() -> None:
    gate = gate_of(max_drawdown=0.10, drawdown_resume=0.8, drawdown_window_days=0)
    t = NOON
    for eq, want in [
        (1000.0, A),
        (900.01, A),  # 9.999 %
        (900.0, H),  # 10 %: halts
        (915.0, H),  # 8.5 %: above 8 %
        (920.0, H),  # exactly 8 %: not under it yet
        (920.01, A),  # 7.999 %: resumes
        (915.0, A),  # 8.5 % again: no re-trip below 10 %
        (900.0, H),
    ]:
        t += HOUR
        gate.update(inputs(t, equity=eq))
        assert gate.state is want, (eq, gate.reason)
    assert "drawdown 10.00% from the peak 1000.00" in gate.reason


def test_drawdown_peak_over_a_window_rolls_off() -> None:
    gate = gate_of(max_drawdown=0.10, drawdown_window_days=2)
    gate.update(inputs(NOON, equity=1000.0))
    gate.update(inputs(NOON + HOUR, equity=890.0))
    assert gate.state is H
    gate.update(inputs(NOON + 2 * DAY - HOUR, equity=890.0))
    assert gate.state is H  # the 1000 peak is still inside the 2-day window
    gate.update(inputs(NOON + 2 * DAY, equity=890.0))
    assert gate.state is H  # peaks are kept per hour: the 12:00-13:00 sample leaves at 13:00
    gate.update(inputs(NOON + 2 * DAY + HOUR, equity=890.0))
    assert gate.state is A  # the peak left the window: the peak is now 890
    # an all-time peak does not roll off
    forever = gate_of(max_drawdown=0.10, drawdown_window_days=0)
    forever.update(inputs(NOON, equity=1000.0))
    forever.update(inputs(NOON + 30 * DAY, equity=890.0))
    assert forever.state is H


def test_drawdown_memory_stays_small_when_updated_often() -> None:
    gate = gate_of(max_drawdown=0.5, drawdown_window_days=30)
    for minute in range(0, 30 * 24 * 60, 5):  # a month of 5-minute updates, equity falling
        gate.update(inputs(NOON + minute * 60_000, equity=10_000.0 - minute * 0.01))
    peaks = gate.to_state()["drawdown"]["peaks"]
    assert len(peaks) <= 30 * 24 + 1 and peaks[0][1] == 10_000.0
    forever = gate_of(max_drawdown=0.5, drawdown_window_days=0)
    for h in range(1000):
        forever.update(inputs(NOON + h * HOUR, equity=10_000.0 - h))
    assert forever.to_state()["drawdown"]["peaks"] == [[NOON, 10_000.0]]


def test_drawdown_halt_survives_a_restart() -> None:
    gate = gate_of(max_drawdown=0.10, drawdown_window_days=30)
    gate.update(inputs(NOON, equity=1000.0))
    gate.update(inputs(NOON + HOUR, equity=880.0))
    again = restarted(gate)
    again.update(inputs(NOON + 2 * HOUR, equity=915.0))  # 8.5 %: a fresh guard would allow it
    assert again.state is H
    again.update(inputs(NOON + 3 * HOUR, equity=925.0))
    assert again.state is A


# ---- margin ------------------------------------------------------------------------------------
def test_margin_soft_reduces_and_hard_halts_or_flattens() -> None:
    gate = gate_of(margin_soft=0.5, margin_hard=0.8)
    for ratio, want in [(0.49, A), (0.5, R), (0.79, R), (0.8, H), (0.2, A)]:
        gate.update(inputs(margin_ratio=ratio))
        assert gate.state is want, ratio
    flat = gate_of(margin_soft=0.5, margin_hard=0.8, margin_hard_action="flatten")
    flat.update(inputs(margin_ratio=0.85, positions={BTC: 1.0}))
    assert flat.state is R and flat.flatten
    assert flat.adjust_targets({BTC: 2.0, ETH: -1.0}) == {BTC: 0.0, ETH: 0.0}
    flat.update(inputs(margin_ratio=0.1, positions={BTC: 1.0}))
    assert flat.state is A and not flat.flatten
    assert flat.adjust_targets({BTC: 2.0}) == {BTC: 2.0}


def test_reducing_lets_only_reduce_only_orders_through() -> None:
    gate = gate_of(margin_soft=0.5)
    gate.update(inputs(margin_ratio=0.6, positions={BTC: 1.0}))
    assert isinstance(gate.check(place(BTC, 0.5, side=OrderSide.SELL)), Denied)
    assert not isinstance(gate.check(place(BTC, 0.5, side=OrderSide.SELL, ro=True)), Denied)


# ---- circuit breaker ---------------------------------------------------------------------------
def test_breaker_state_maps_into_the_gate_and_recovers() -> None:
    clock = ManualClock(NOON)
    breaker = CircuitBreaker(
        BreakerConfig(min_calls=4, failure_rate=0.25, cooldown_ms=60_000, probe_successes=2),
        clock=clock,
    )
    gate = gate_of(breaker_state="halted")
    for _ in range(4):
        breaker.record(False)
    assert breaker.state is BreakerState.OPEN
    gate.update(inputs(clock.now, breaker=breaker.state))
    assert gate.state is H and gate.reason == "circuit breaker open"
    clock.advance(60_000)
    gate.update(inputs(clock.now, breaker=breaker.state))
    assert gate.state is H and "half_open" in gate.reason
    breaker.record(True)
    breaker.record(True)
    gate.update(inputs(clock.now, breaker=breaker.state))
    assert gate.state is A
    soft = gate_of(breaker_state="reducing")
    soft.update(inputs(breaker=BreakerState.OPEN))
    assert soft.state is R


# ---- stale data --------------------------------------------------------------------------------
def test_stale_data_halts_past_n_bars_and_recovers() -> None:
    gate = gate_of(stale_bars=2)
    now = T0 + 10 * HOUR
    gate.update(inputs(now, last_bar_ts=now - 3 * HOUR))  # closed exactly 2 bars ago
    assert gate.state is A
    gate.update(inputs(now + 1, last_bar_ts=now - 3 * HOUR))
    assert gate.state is H and "stale" in gate.reason
    gate.update(inputs(now + HOUR, last_bar_ts=now))
    assert gate.state is A
    gate.update(inputs(now, last_bar_ts=None))
    assert gate.state is H and gate.reason == "no closed bar seen yet"


# ---- stop file ---------------------------------------------------------------------------------
def test_stop_file_pause_halts_and_flatten_reduces_to_zero() -> None:
    gate = gate_of()
    gate.update(inputs(stop=StopRequest(mode=StopMode.PAUSE), positions={BTC: 1.0}))
    assert gate.state is H
    assert isinstance(gate.check(place(BTC, 1.0, side=OrderSide.SELL, ro=True)), Denied)
    gate.update(inputs(stop=StopRequest(mode=StopMode.FLATTEN), positions={BTC: 1.0}))
    assert gate.state is R and gate.flatten
    assert gate.adjust_targets({BTC: 3.0}) == {BTC: 0.0}
    assert not isinstance(gate.check(place(BTC, 1.0, side=OrderSide.SELL, ro=True)), Denied)
    assert isinstance(gate.check(place(ETH, 1.0)), Denied)
    events = gate.update(inputs(stop=None, positions={BTC: 1.0}))
    assert gate.state is A
    changed = [e for e in events if isinstance(e, TradingStateChanged)]
    assert changed[0].old is R and changed[0].new is A


# ---- max open positions ------------------------------------------------------------------------
def test_max_open_positions_denies_new_ones_but_not_reductions() -> None:
    gate = gate_of(max_open_positions=2)
    gate.update(inputs(positions={BTC: 1.0}))
    assert not isinstance(gate.check(place(BTC, 1.0)), Denied)  # adds to a held symbol
    assert not isinstance(gate.check(place(ETH, 1.0)), Denied)  # the second position
    denied = gate.check(place(SOL, 1.0))
    assert isinstance(denied, Denied) and "max_open_positions 2" in denied.reason
    assert not isinstance(gate.check(place(ETH, 0.5)), Denied)  # ETH already admitted
    assert not isinstance(gate.check(place(BTC, 1.0, side=OrderSide.SELL, ro=True)), Denied)
    gate.update(inputs(positions={BTC: 1.0, ETH: 1.0}))
    assert isinstance(gate.check(place(SOL, 1.0)), Denied)
    gate.update(inputs(positions={BTC: 1.0, ETH: 0.0}))
    assert not isinstance(gate.check(place(SOL, 1.0)), Denied)


# ---- no trade ----------------------------------------------------------------------------------
def test_no_trade_alerts_once_per_quiet_spell_and_never_halts() -> None:
    gate = gate_of(no_trade_hours=6)
    t = NOON
    alerts = []
    for i in range(10):  # wanting trades for 9 hours, last fill before that
        evs = gate.update(inputs(t + i * HOUR, targets_want_trades=True, last_fill_ts=t - DAY))
        alerts += [e for e in evs if isinstance(e, GuardAlerted)]
        assert gate.state is A
    assert len(alerts) == 1 and "no fills for 7.0 h" in alerts[0].message
    # a fill re-arms it
    fill = t + 9 * HOUR
    evs = gate.update(inputs(fill + 6 * HOUR, targets_want_trades=True, last_fill_ts=fill))
    assert not any(isinstance(e, GuardAlerted) for e in evs)
    evs = gate.update(inputs(fill + 7 * HOUR, targets_want_trades=True, last_fill_ts=fill))
    assert any(isinstance(e, GuardAlerted) for e in evs)
    # nothing wanted: no alert however long
    quiet = gate_of(no_trade_hours=6)
    quiet.update(inputs(t - HOUR))
    for i in range(20):
        assert quiet.update(inputs(t + i * HOUR, targets_want_trades=False)) == []


def test_no_trade_memory_survives_a_restart() -> None:
    gate = gate_of(no_trade_hours=6)
    gate.update(inputs(NOON, targets_want_trades=True))
    gate.update(inputs(NOON + 7 * HOUR, targets_want_trades=True))  # alerted
    again = restarted(gate)
    evs = again.update(inputs(NOON + 8 * HOUR, targets_want_trades=True))
    assert not any(isinstance(e, GuardAlerted) for e in evs)


# ---- the gate as a whole -----------------------------------------------------------------------
def test_nothing_passes_before_the_first_update_or_while_halted() -> None:
    gate = gate_of(daily_loss_limit=0.05)
    orders = [
        place(s, q, side=side, ro=ro)
        for s in (BTC, ETH)
        for q in (0.001, 1.0)
        for side in OrderSide
        for ro in (False, True)
    ]
    assert all(isinstance(gate.check(o), Denied) for o in orders)
    gate.update(inputs(T0 + HOUR, equity=1000.0, positions={BTC: 1.0}))
    gate.update(inputs(T0 + 2 * HOUR, equity=500.0, positions={BTC: 1.0}))
    results = [gate.check(o) for o in orders]
    assert all(isinstance(r, Denied) and r.state is H for r in results)
    assert all("daily loss" in r.reason for r in results if isinstance(r, Denied))


def test_worst_state_wins_and_reasons_are_joined() -> None:
    gate = gate_of(margin_soft=0.5, stale_bars=1)
    gate.update(inputs(margin_ratio=0.6, last_bar_ts=NOON - 5 * HOUR))
    assert gate.state is H and "stale" in gate.reason and "margin" not in gate.reason
    gate.update(inputs(margin_ratio=0.6))
    assert gate.state is R and "margin ratio 60.00%" in gate.reason
    status = gate.status()
    assert status.verdicts["margin"].state is R and status.verdicts["stale_data"].state is A


def test_corrupt_saved_state_is_refused() -> None:
    gate = gate_of(daily_loss_limit=0.05)
    with pytest.raises(CorruptStateError, match="daily_loss"):
        gate.from_state({"daily_loss": {"day": "x"}})
    with pytest.raises(CorruptStateError):
        gate.from_state({"gate": {"state": "sideways", "reason": "", "flatten": False}})


def test_bad_gate_inputs_are_refused() -> None:
    with pytest.raises(DataError, match="finite equity"):
        inputs(equity=float("nan"))
    with pytest.raises(DataError, match="margin ratio"):
        inputs(margin_ratio=float("nan"))
    with pytest.raises(DataError, match="bar_ms"):
        inputs(bar_ms=0)
    assert inputs(margin_ratio=float("inf")).margin_ratio == float("inf")  # no equity: allowed
