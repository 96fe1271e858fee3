"""The shadow runner: a restart between two bars changes nothing, paper_capital acts, and a
missing bar in the store is an error, not a silent skip."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from rollout_driver import HOUR, SYMBOLS, T0, config

from xsmom.data.bundled import sample_store
from xsmom.errors import DataError
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.ledger import default_url, open_ledger
from xsmom.rollout import Pipeline, Shadow, ensure_active, submit

A = config(k=1, paper_capital=5000.0)
B = config(k=2)


def run(home: Path, bars: int, restart_at: int | None) -> tuple[list[Any], list[Any]]:
    clock = ManualClock(T0 + 1_000)
    source = StoreMarketData(sample_store(), clock, symbols=SYMBOLS)
    led = open_ledger(default_url(home))
    ensure_active(led, A, now_ms=clock.now)
    b = submit(led, B, source="test", now_ms=clock.now).version
    Pipeline(led, sample_store()).promote(b, clock.now)
    shadow = Shadow(home, led, source, clock, store=sample_store())
    for i in range(bars):
        if i == restart_at:  # the process dies between two bars and starts again
            shadow.close()
            led.close()
            led = open_ledger(default_url(home))
            shadow = Shadow(home, led, source, clock, store=sample_store())
        shadow.on_bar(clock.now // HOUR * HOUR - HOUR)
        clock.advance(HOUR)
    fills = [(f.ts, f.symbol, f.side, f.qty, f.price, f.fee) for f in led.rollout_fills(b)]
    equity = [(e.ts, e.equity) for e in led.rollout_equity(b)]
    shadow.close()
    led.close()
    return fills, equity


def test_a_restart_between_two_bars_changes_nothing(tmp_path: Path) -> None:
    straight = run(tmp_path / "a", 30, None)
    restarted = run(tmp_path / "b", 30, 13)
    assert straight == restarted
    fills, equity = straight
    assert len(fills) >= 4 and len(equity) == 30
    # rollout.paper_capital of the active config is each paper account's starting balance
    assert equity[0] == (T0 + 1_000, 5000.0)


def test_a_bar_missing_from_the_store_stops_the_shadow(tmp_path: Path) -> None:
    clock = ManualClock(T0 + 1_000)
    led = open_ledger(default_url(tmp_path))
    ensure_active(led, A, now_ms=clock.now)
    b = submit(led, B, source="test", now_ms=clock.now).version
    Pipeline(led, sample_store()).promote(b, clock.now)
    source = StoreMarketData(sample_store(), clock, symbols=SYMBOLS)
    shadow = Shadow(tmp_path, led, source, clock, store=sample_store())
    after_the_sample = 1_777_590_000_000 + 5 * HOUR
    with pytest.raises(DataError, match="not at the closed bar"):
        shadow.on_bar(after_the_sample)
    assert led.rollout_equity(b) == []
    led.close()
