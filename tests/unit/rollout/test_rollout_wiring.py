"""The pieces `xsmom live` wires: the small stage's blend as the engine's targets plan, the
plan's record, the restart command (a real subprocess) and the switch that runs it."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pytest

from xsmom.config import Config, config_from_dict, version_id
from xsmom.data import load_panel
from xsmom.data.bundled import sample_store
from xsmom.ledger import Ledger, default_url, open_ledger
from xsmom.live.active import mix_targets, record_plan, reload_reason
from xsmom.notify import ConsoleChannel, from_payload
from xsmom.rollout import (
    Pipeline,
    RestartCommand,
    RolloutHook,
    SmallStageBlend,
    ensure_active,
    submit,
)
from xsmom.strategy import compute_targets

T0 = 1_751_328_000_000
SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT"]


def cfg(k: int) -> Config:
    return config_from_dict(
        {
            "data": {"symbols": SYMS},
            "strategy": {"universe": {"max_symbols": 4}, "selection": {"k": k}},
            "live": {"execution": {"quote_source": "last", "taker_after_s": 0}},
            "rollout": {"small": {"capital_fraction": 0.3}},
        }
    )


A, B = cfg(1), cfg(2)


@pytest.fixture
def led(tmp_path: Path) -> Ledger:
    ledger = open_ledger(default_url(tmp_path))
    yield ledger  # type: ignore[misc]
    ledger.close()


def test_blend_plan_is_none_without_small_then_mixes_on_the_same_panel(led: Ledger) -> None:
    va = ensure_active(led, A, now_ms=T0)
    vb = submit(led, B, source="test", now_ms=T0).version
    panel = load_panel(sample_store(), "1h", SYMS, end_ms=T0)
    ta = compute_targets(panel, A.strategy)
    tb = compute_targets(panel, B.strategy)
    wa = {s: float(w) for s, w in zip(panel.symbols, ta.weights[-1], strict=True)}
    wb = {s: float(w) for s, w in zip(panel.symbols, tb.weights[-1], strict=True)}
    assert wa != wb and any(wb.values())
    plan = SmallStageBlend(led)
    assert plan(panel, va, wa, {}) is None  # B is a candidate: A trades alone
    pipe = Pipeline(led, sample_store())
    pipe.promote(vb, T0)
    pipe.promote(vb, T0)  # candidate -> paper -> small
    mix = plan(panel, va, wa, {"BTC/USDT:USDT": 1.0})
    assert mix is not None and mix.shares == {va: pytest.approx(0.7), vb: 0.3}
    for s in SYMS:  # by hand: 0.7 x A + 0.3 x B, per symbol
        assert mix.weights[s] == pytest.approx(0.7 * wa[s] + 0.3 * wb[s], abs=1e-15)
    assert mix.stops["BTC/USDT:USDT"] == 1.0  # the active version's stop wins
    # the engine's side: the mix replaces the weights and says who made them
    w, _, doc = mix_targets(plan, panel, va, wa, {}, bar_ts=T0 - 3_600_000)
    assert w == mix.weights and doc["shares"] == mix.shares
    w, _, doc = mix_targets(None, panel, va, wa, {}, bar_ts=T0)
    assert w == wa and doc["shares"] == {va: 1.0}


def test_a_plan_change_is_one_event_and_a_repeat_is_none(led: Ledger) -> None:
    a, b = "a" * 64, "b" * 64
    with led.transaction() as tx:
        one = {"bar_ts": 1, "shares": {a: 1.0}, "note": ""}
        record_plan(tx, one, None, 10)
        record_plan(tx, {**one, "bar_ts": 2}, one, 20)  # the same plan: no event
        mixed = {"bar_ts": 3, "shares": {a: 0.9, b: 0.1}, "note": ""}
        record_plan(tx, mixed, one, 30)
        failed = {"bar_ts": 4, "shares": {a: 1.0}, "note": "not blended"}
        record_plan(tx, failed, mixed, 40)
        record_plan(tx, {**failed, "bar_ts": 5}, failed, 50)
        record_plan(tx, {**failed, "bar_ts": 6, "note": ""}, failed, 60)  # the note went away
    events = [e for e in led.guard_events() if e.event == "plan_changed"]
    assert [e.ts for e in events] == [10, 30, 40, 60]
    assert events[1].reason == f"targets from bar 3: 0.9 x {a[:12]}, 0.1 x {b[:12]}"
    assert events[2].reason == f"targets from bar 4: 1 x {a[:12]} (not blended)"


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def test_restart_command_success_failure_timeout_and_missing(led: Ledger, tmp_path: Path) -> None:
    out = tmp_path / "ran"
    ch = [ConsoleChannel(echo=lambda s: None)]
    ok = RestartCommand(py(f"open({str(out)!r}, 'w').write('x')"), led, channels=ch)("v1", 1)
    assert ok.ok and out.read_text() == "x"
    bad = RestartCommand(py("import sys; sys.exit('no such unit')"), led, channels=ch)("v2", 2)
    assert not bad.ok and bad.reason == "exit code 1: no such unit"
    slow = RestartCommand(py("import time; time.sleep(5)"), led, timeout_s=0.3, channels=ch)
    t = time.monotonic()
    assert slow("v3", 3).reason == "timed out after 0.3 s (killed)"
    assert time.monotonic() - t < 3  # killed, not waited for
    gone = RestartCommand([str(tmp_path / "no-such-program")], led, channels=ch)("v4", 4)
    assert not gone.ok and gone.reason.startswith("could not start: ")
    events = [(e.ts, e.guard, e.event) for e in led.guard_events() if e.guard == "rollout"]
    assert events == [
        (1, "rollout", "restarted"),
        (2, "rollout", "restart_failed"),
        (3, "rollout", "restart_failed"),
        (4, "rollout", "restart_failed"),
    ]
    alerts = [from_payload(i.payload) for i in led.pending()]
    failed = [a for a in alerts if a.kind == "rollout_restart_failed"]
    assert [a.active_version for a in failed] == ["v2", "v3", "v4"]
    assert all(a.severity == "warning" for a in failed)


class _Bar:
    def __init__(self, bar_ts: int, now_ms: int) -> None:
        self.bar_ts, self.now_ms = bar_ts, now_ms


def test_the_hook_runs_no_restart_for_a_transition_that_keeps_the_active_version(
    led: Ledger, tmp_path: Path
) -> None:
    from xsmom.exchange.store_source import ManualClock, StoreMarketData

    calls: list[tuple[str, int]] = []
    clock = ManualClock(T0)
    store = sample_store()
    hook = RolloutHook(
        tmp_path,
        led,
        StoreMarketData(store, clock, symbols=SYMS),
        clock,
        store=store,
        restart=lambda v, now: calls.append((v, now)),
    )
    ensure_active(led, A, now_ms=T0)
    vb = submit(led, B, source="test", now_ms=T0).version
    hook(_Bar(T0 - 3_600_000, T0))  # candidate -> paper: a transition, not a switch
    assert [t.to_stage for t in hook.last_transitions] == ["paper"] and calls == []
    hook(_Bar(T0, T0 + 3_600_000))  # nothing moves
    assert hook.last_transitions == [] and calls == []
    hook.close()
    assert version_id(B) == vb


def test_a_candidate_that_cannot_be_computed_leaves_the_active_version_alone(
    led: Ledger, tmp_path: Path
) -> None:
    # the candidate's meta model folder is gone: its strategy raises ConfigError on any panel
    doc = B.model_dump(mode="json")
    doc["strategy"]["meta"]["model"] = str(tmp_path / "gone")
    broken = config_from_dict(doc)
    va = ensure_active(led, A, now_ms=T0)
    vb = submit(led, broken, source="test", now_ms=T0).version
    pipe = Pipeline(led, sample_store())
    pipe.promote(vb, T0)
    pipe.promote(vb, T0)
    panel = load_panel(sample_store(), "1h", SYMS, end_ms=T0)
    wa = {s: 0.1 for s in SYMS}
    mix = SmallStageBlend(led)(panel, va, wa, {})
    assert mix is not None and mix.weights == wa and mix.shares == {va: 1.0}
    assert mix.note.startswith(f"small-stage version {vb[:12]} not blended at this bar: ")
    assert "gone" in mix.note


def test_sighup_says_when_the_rollouts_active_version_keeps_trading(led: Ledger) -> None:
    va, vb = version_id(A), version_id(B)
    assert reload_reason(led, vb) == f"config file reloaded: version {vb[:12]} from the next bar"
    ensure_active(led, A, now_ms=T0)  # what xsmom live does with rollout.enabled
    assert reload_reason(led, va) == f"config file reloaded: version {va[:12]} from the next bar"
    assert reload_reason(led, vb) == (
        f"config file reloaded (version {vb[:12]}), but the ledger's active version "
        f"{va[:12]} keeps trading: submit the file with xsmom rollout submit"
    )
