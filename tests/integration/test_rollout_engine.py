"""The rollout with the real engine (`xsmom live`'s loop) trading the simulated venue over
ccxt, clock stepped: a paper candidate trades only its paper account (the venue sees the
engine's orders alone), and a promotion is traded by the engine from the next bar."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest
from live_harness import (
    HOUR,
    KEYS_ENV,
    config,
    fast_config,
    make_engine,
    replay_targets,
    venue,
    venue_orders,
)
from rollout_engine_harness import BAR, four_hour_store, rollout_doc, venue4h

from xsmom.cli.live_rollout import wire_rollout
from xsmom.ledger import Ledger
from xsmom.live.home import Home
from xsmom.rollout import (
    RolloutHook,
    active_version,
    blend_targets,
    check_invariant,
    ensure_active,
    submit,
)
from xsmom.venue.testing import RunningVenue

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in KEYS_ENV.items():
        monkeypatch.setenv(k, v)


def test_engine_runs_the_hook_and_trades_the_promoted_version_next_bar(tmp_path: Path) -> None:
    a, _ = config(fast_config())
    b, _ = config(fast_config(strategy__selection__k=2))
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, a)
        eng.start()
        va = ensure_active(ledger, a, now_ms=eng.parts.clock())
        vb = submit(ledger, b, source="test", now_ms=eng.parts.clock()).version
        # the engine's own store (new bars in memory until flushed), its exchange for market data
        hook = RolloutHook(
            Home(tmp_path).path,
            ledger,
            eng.parts.exchange,
            eng.parts.clock,
            store=eng.feed.store,
        )
        eng.hooks.append(hook)
        hook.pipeline.promote(vb, eng.parts.clock())  # candidate -> paper
        for _ in range(6):
            eng.step()
            rv.advance(HOUR)
        assert not [e for e in ledger.guard_events() if e.event == "hook_failed"]
        assert len(ledger.rollout_equity(vb)) == 6, "the paper candidate ran at every bar"
        sent = {o.client_id for o in ledger.orders()}
        assert len(sent) == venue_orders(rv)  # every venue order is one the engine recorded
        assert {o.config_version for o in ledger.orders()} == {va}
        # promote to full by hand: the engine trades B from its next bar, without a restart
        hook.pipeline.promote(vb, eng.parts.clock())
        hook.pipeline.promote(vb, eng.parts.clock())
        assert active_version(ledger) == vb
        eng.step()
        last = ledger.targets()
        assert {t.config_version for t in last.values()} == {vb}
        hook.close()
        ledger.close()


def test_xsmom_live_wiring_runs_paper_small_full_on_its_own(tmp_path: Path) -> None:
    store = four_hour_store(tmp_path / "venue-store")
    marker = tmp_path / "restarts.txt"
    restart = [sys.executable, "-c", f"open({str(marker)!r}, 'a').write('restart\\n')"]
    a, va = config(rollout_doc(k=1, restart_command=restart))
    b, vb = config(rollout_doc(k=2))
    home = tmp_path / "home"
    with venue4h(store) as rv:
        eng, ledger = make_engine(rv, home, a)
        hook = wire_rollout(eng, a, ledger)  # what `xsmom live` calls
        assert hook is not None and eng.plan is not None
        eng.start()
        assert active_version(ledger) == va  # ensure_active: the starting config is active
        assert submit(ledger, b, source="test", now_ms=eng.parts.clock()).added
        small_bars: list[int] = []
        for _ in range(60):
            assert eng.step()
            bar = eng.mem.last_bar
            assert bar is not None
            if ledger.rollout_stages()[vb].stage == "small" and not small_bars:
                small_bars.append(bar)
            elif small_bars and active_version(ledger) != vb:
                small_bars.append(bar)
                if len(small_bars) == 4:  # a few blended bars in: the venue holds the blend
                    check_venue_holds_the_targets(rv, ledger, bar)
            if active_version(ledger) == vb:
                break
            rv.advance(BAR)
        assert active_version(ledger) == vb, [t.to_stage for t in ledger.rollout_history()]
        to_full = eng.mem.last_bar
        rv.advance(BAR)
        assert eng.step()  # the next bar trades B alone
        eng.stop(clean=True, reason="test done")  # the store's pending bars on disk
        hook.close()
    history = [(t.version_id, t.to_stage) for t in ledger.rollout_history()]
    assert [s for v, s in history if v == vb] == ["candidate", "paper", "small", "full"]
    assert [s for v, s in history if v == va] == ["candidate", "full", "retired"]
    check_invariant(ledger)
    # at small, the real account's cost per unit traded was compared with the paper account's
    to_full_row = [t for t in ledger.rollout_history() if t.to_stage == "full"][-1]
    assert "real fills at small cost" in to_full_row.reason
    # every bar's targets: A alone, then the blend during small, then B alone from the next bar
    ts, wa, syms = replay_targets(home, a)
    _, wb, _ = replay_targets(home, b)
    row = {int(t): i for i, t in enumerate(ts)}
    blended = 0
    for bar, rows in by_bar(ledger).items():
        ra, rb = wa[row[bar]], wb[row[bar]]
        want_a = {s: float(ra[i]) for i, s in enumerate(syms)}
        want_b = {s: float(rb[i]) for i, s in enumerate(syms)}
        got = {s: t.weight for s, t in rows.items()}
        if bar <= small_bars[0]:
            assert got == pytest.approx(want_a, abs=1e-12), bar
        elif bar <= to_full:
            assert got == pytest.approx(blend_targets(want_a, want_b, 0.25), abs=1e-12), bar
            blended += 1
        else:
            assert got == pytest.approx(want_b, abs=1e-12), bar
        assert {t.config_version for t in rows.values()} == {va if bar <= to_full else vb}
    assert blended >= 10 and len(small_bars) >= 4
    # the plan's record: one event per change, with the versions and shares
    plans = [e.detail["shares"] for e in ledger.guard_events() if e.event == "plan_changed"]
    assert plans == [{va: 1.0}, {va: 0.75, vb: 0.25}, {vb: 1.0}]
    # the restart command ran once, after the switch to B was committed
    assert marker.read_text() == "restart\n"
    restarted = [e for e in ledger.guard_events() if e.event == "restarted"]
    assert len(restarted) == 1 and restarted[0].detail["active_version"] == vb
    ledger.close()


def by_bar(ledger: Ledger) -> dict[int, dict[str, Any]]:
    out: dict[int, dict[str, Any]] = {}
    for r in ledger.targets_series():
        out.setdefault(r.bar_ts, {})[r.symbol] = r
    return out


def check_venue_holds_the_targets(rv: RunningVenue, ledger: Ledger, bar: int) -> None:
    """The venue's positions are the blended targets' quantities the engine recorded."""
    pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    targets = {s: t.target_qty for s, t in ledger.targets(bar).items()}
    assert any(q != 0 for q in targets.values())
    for s, q in targets.items():
        assert pos.get(s, 0.0) == pytest.approx(q, rel=0.02, abs=1e-9), (s, pos, targets)
