"""Each guard trips and recovers with the engine trading the venue over ccxt, and no order
reaches the venue while trading is HALTED (counted at the venue)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from live_harness import HOUR, KEYS_ENV, config, fast_config, make_engine, venue, venue_orders

from xsmom.errors import RetryableError
from xsmom.exchange.breaker import BreakerConfig
from xsmom.live import Home, StopMode


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in KEYS_ENV.items():
        monkeypatch.setenv(k, v)


def _guard_events(ledger, guard: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [g.event for g in ledger.guard_events(guard=guard)]


def test_stop_file_pauses_then_flattens_then_resume(tmp_path: Path) -> None:
    cfg, _ = config(fast_config())
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg)
        eng.start()
        for _ in range(8):
            eng.step()
            rv.advance(HOUR)
        assert rv.venue.engine.positions()
        home = Home(tmp_path)
        home.write_stop(StopMode.PAUSE)
        sent = venue_orders(rv)
        for _ in range(5):
            eng.step()
            assert eng.gate.state.value == "halted"
            rv.advance(HOUR)
        assert venue_orders(rv) == sent  # nothing sent while HALTED
        assert ledger.trading_state().to_state == "halted"  # type: ignore[union-attr]
        assert "tripped" in _guard_events(ledger, "stop_file")
        home.write_stop(StopMode.FLATTEN)
        for _ in range(3):
            eng.step()
            rv.advance(HOUR)
        assert eng.gate.state.value == "reducing"
        assert not [p for p in rv.venue.engine.positions() if p.qty != 0]  # flat
        assert not {s: p.qty for s, p in ledger.positions().items()}
        home.clear_stop()
        eng.step()
        assert eng.gate.state.value == "active"
        assert "recovered" in _guard_events(ledger, "stop_file")
        kinds = {i.kind for i in ledger.outbox_items()}
        ledger.close()
    assert kinds == set()  # no channel configured: events recorded, nothing enqueued


def test_daily_loss_halts_until_the_next_utc_day(tmp_path: Path) -> None:
    cfg, _ = config(fast_config(live__guards__daily_loss_limit=0.0002))
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg)
        eng.start()
        halted_steps = 0
        for _ in range(30):
            before = venue_orders(rv)
            eng.step()
            if eng.gate.state.value == "halted":  # the gate ran before execution
                halted_steps += 1
                assert venue_orders(rv) == before  # no order while HALTED
            rv.advance(HOUR)
        assert halted_steps >= 10, "fees alone should cost 2 bp of equity"
        events = ledger.guard_events(guard="daily_loss")
        assert [e.event for e in events[:2]] == ["tripped", "recovered"]
        day = 86_400_000
        assert events[1].ts // day == events[0].ts // day + 1  # lifted on the next UTC day
        assert events[1].ts % day < HOUR  # at the first cycle of that day
        ledger.close()


def test_stale_data_halts_and_recovers(tmp_path: Path) -> None:
    cfg, _ = config(fast_config(live__guards__stale_bars=2))
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg)
        eng.start()
        eng.step()
        rv.set_faults({"endpoints": {"GET /fapi/v1/klines": {"error_rate": 1.0, "errors": [503]}}})
        sent = venue_orders(rv)
        for _ in range(4):
            rv.advance(HOUR)
            assert not eng.step()  # the closed bar is not served: no cycle
        assert eng.gate.state.value == "halted"
        assert venue_orders(rv) == sent
        rv.set_faults({})
        rv.advance(HOUR)
        assert eng.step()
        assert eng.gate.state.value == "active"
        assert _guard_events(ledger, "stale_data") == ["tripped", "recovered"]
        gaps = [g for g in ledger.guard_events(guard="engine") if g.event == "gap"]
        assert len(gaps) == 1 and "4 bar(s) not processed" in gaps[0].reason
        ledger.close()


def test_breaker_opens_on_5xx_restricts_and_closes(tmp_path: Path) -> None:
    cfg, _ = config(fast_config(live__guards__breaker_state="halted"))
    brk = BreakerConfig(window_ms=3_000, min_calls=5, failure_rate=0.2, cooldown_ms=500)
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg, breaker=brk)
        eng.start()
        eng.step()
        time.sleep(3.1)  # the warm-up download's hundreds of good calls leave the window
        rv.set_faults({"seed": 1, "endpoints": {"*": {"error_rate": 0.6, "errors": [503]}}})
        for _ in range(8):
            rv.advance(HOUR)
            try:
                eng.step()
            except RetryableError:  # a read may fail after its retries: next look
                continue
        assert eng.parts.breaker.times_opened >= 1
        rv.set_faults({})
        time.sleep(0.6)  # the cool-down (host clock: the breaker times the exchange's health)
        for _ in range(3):
            rv.advance(HOUR)
            eng.step()
        assert eng.parts.breaker.state.value == "closed"
        assert eng.gate.state.value == "active"
        events = _guard_events(ledger, "breaker")
        assert "opened" in events and "closed" in events
        assert "tripped" in events and "recovered" in events  # the gate's breaker guard
        ledger.close()
