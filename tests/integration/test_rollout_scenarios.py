"""Rollout scenarios on the bundled sample with an accelerated clock: a good candidate goes
paper -> small -> full on its own, a bad one is rolled back with an alert that says why, the
engine trades what the ledger says from the next bar, paper candidates never touch the real
account."""

from __future__ import annotations

from pathlib import Path

import pytest
from rollout_driver import ACCOUNT, HOUR, TRADING, Driver, config

from xsmom.config import version_id
from xsmom.notify import from_payload
from xsmom.rollout import (
    active_version,
    bands,
    blend_targets,
    check_invariant,
    ensure_active,
    pair,
    paper_track,
    submit,
)
from xsmom.rollout.shadow import targets_at
from xsmom.sim import FeeModel

A = config(k=1)
B = config(k=2)


def transitions(d: Driver) -> list[tuple[int, str, str]]:
    return [(t.ts, t.version_id, t.to_stage) for t in d.ledger.rollout_history()]


def stage_ts(d: Driver, version: str, stage: str) -> int:
    return next(ts for ts, v, s in transitions(d) if v == version and s == stage)


@pytest.mark.slow
def test_a_good_candidate_goes_paper_small_full_and_is_traded_from_the_next_bar(
    tmp_path: Path,
) -> None:
    d = Driver(tmp_path)
    a = ensure_active(d.ledger, A, now_ms=d.clock.now)
    b = submit(d.ledger, B, source="test", now_ms=d.clock.now, channels=d.channels).version
    for _ in range(8 * 24):
        d.step()
        if active_version(d.ledger) == b and d.bars[-1]["plan"].active == b:
            break
    stages = [(v, s) for _, v, s in transitions(d) if v == b]
    assert stages == [(b, "candidate"), (b, "paper"), (b, "small"), (b, "full")]
    assert active_version(d.ledger) == b
    check_invariant(d.ledger)
    to_small, to_full = stage_ts(d, b, "small"), stage_ts(d, b, "full")
    # the minimum durations were respected
    assert to_small - stage_ts(d, b, "paper") >= 72 * HOUR
    assert to_full - to_small >= 72 * HOUR
    # the engine traded: A alone before small, A blended with B during small, B after full
    for bar in d.bars:
        plan = bar["plan"]
        if bar["now"] <= to_small:
            assert (plan.active, plan.small) == (a, None)
        elif bar["now"] <= to_full:
            assert (plan.active, plan.small, plan.fraction) == (a, b, 0.25)
        else:
            assert (plan.active, plan.small) == (b, None)
    first_small = next(x for x in d.bars if x["now"] > to_small)
    assert first_small["now"] - to_small == HOUR  # the very next bar
    # the blended weights, recomputed independently: 0.75 x A + 0.25 x B
    wa, _, _ = targets_at(d.store, A, first_small["bar"])
    wb, _, _ = targets_at(d.store, B, first_small["bar"])
    assert first_small["weights"] == pytest.approx(blend_targets(wa, wb, 0.25))
    recorded = d.ledger.targets(first_small["bar"])
    assert {s: t.weight for s, t in recorded.items()} == pytest.approx(first_small["weights"])
    last = d.bars[-1]
    assert last["now"] - to_full == HOUR and d.ledger.targets(last["bar"])
    assert {t.config_version for t in d.ledger.targets(last["bar"]).values()} == {b}
    # B's paper fills are in its own paper account (the real account's are separate)
    assert d.ledger.rollout_fills(b) and d.ledger.fills()
    alerts = [from_payload(i.payload) for i in d.ledger.pending()]
    assert [a.to_stage for a in alerts if a.version == b] == [  # type: ignore[attr-defined]
        "candidate",
        "paper",
        "small",
        "full",
    ]
    d.close()


def test_a_candidate_with_worse_fills_than_its_backtest_is_rolled_back_in_paper(
    tmp_path: Path,
) -> None:
    # the paper venue fills 60 bps worse than the 2 bps the backtest assumes
    d = Driver(tmp_path, paper_fees=FeeModel(slippage_bps=60.0))
    a = ensure_active(d.ledger, A, now_ms=d.clock.now)
    b = submit(d.ledger, B, source="test", now_ms=d.clock.now).version
    d.run(3 * 24 + 2)
    stage = d.ledger.rollout_stages()[b].stage
    assert stage == "rolled_back" and active_version(d.ledger) == a
    alert = [from_payload(i.payload) for i in d.ledger.pending()][-1]
    assert alert.to_stage == "rolled_back" and alert.severity == "warning"  # type: ignore[attr-defined]
    assert "costs" in alert.reason and "far below its band" in alert.reason  # type: ignore[attr-defined]
    d.close()


@pytest.mark.slow
def test_a_candidate_whose_real_fills_at_small_cost_more_is_rolled_back_at_small(
    tmp_path: Path,
) -> None:
    # the paper accounts fill like the backtest; the real account 80 bps worse: at small the
    # candidate's paper track is charged the real account's extra cost per unit traded
    d = Driver(tmp_path, real_fees=FeeModel(slippage_bps=80.0))
    a = ensure_active(d.ledger, A, now_ms=d.clock.now)
    b = submit(d.ledger, B, source="test", now_ms=d.clock.now).version
    for _ in range(2):
        d.pipeline.promote(b, d.clock.now, reason="promoted by hand")
    assert d.ledger.rollout_stages()[b].stage == "small"
    for _ in range(5 * 24):
        d.step()
        if d.ledger.rollout_stages()[b].stage != "small":
            break
    assert [s for _, v, s in transitions(d) if v == b][-2:] == ["small", "rolled_back"]
    assert active_version(d.ledger) == a
    check_invariant(d.ledger)
    why = [t for t in d.ledger.rollout_history() if t.to_stage == "rolled_back"][-1].reason
    assert "costs" in why and "far below its band" in why
    assert "real fills at small cost" in why
    # the paper account alone tracked its backtest: without the real fills' charge, its costs
    # are in band (the rollback is the real execution's doing)
    since = stage_ts(d, b, "small")
    alone = pair(paper_track(d.ledger, b, since), d.store, B)
    assert alone is not None and alone.note == ""
    assert bands(alone, B.rollout.evaluator)["costs"].status in ("in", "above")
    d.close()


@pytest.mark.slow
def test_a_promoted_version_trading_worse_than_its_backtest_returns_to_the_previous(
    tmp_path: Path,
) -> None:
    # the real account fills 80 bps worse than the backtest assumes; B was promoted by hand
    d = Driver(tmp_path, real_fees=FeeModel(slippage_bps=80.0))
    a = ensure_active(d.ledger, A, now_ms=d.clock.now)
    b = submit(d.ledger, B, source="test", now_ms=d.clock.now).version
    for _ in range(3):
        d.pipeline.promote(b, d.clock.now, reason="promoted by hand")
    assert active_version(d.ledger) == b
    for _ in range(5 * 24):
        d.step()
        if active_version(d.ledger) == a:
            break
    assert active_version(d.ledger) == a, transitions(d)
    check_invariant(d.ledger)
    back = stage_ts(d, b, "rolled_back")
    assert d.ledger.rollout_stages()[a].stage == "full"
    alerts = [from_payload(i.payload) for i in d.ledger.pending()]
    why = next(x for x in alerts if x.to_stage == "rolled_back")  # type: ignore[attr-defined]
    assert why.version == b and why.active_version == a  # type: ignore[attr-defined]
    assert "far below its band" in why.reason  # type: ignore[attr-defined]
    # the engine trades A again from the next bar
    d.step()
    assert d.bars[-1]["now"] - back == HOUR and d.bars[-1]["plan"].active == a
    assert {t.config_version for t in d.ledger.targets(d.bars[-1]["bar"]).values()} == {a}
    assert version_id(A) == a
    d.close()


def test_paper_candidates_never_send_an_order_to_the_real_account(tmp_path: Path) -> None:
    d = Driver(tmp_path)
    # two challengers paper-trade beside the champion
    ensure_active(d.ledger, A, now_ms=d.clock.now)
    for k in (2, 3):
        submit(d.ledger, config(k=k), source="test", now_ms=d.clock.now)
    d.pipeline.tick(d.clock.now)
    before = sum(d.real.calls[m] for m in TRADING)
    for _ in range(12):
        now = d.clock.advance(HOUR)
        calls = dict(d.real.calls)
        steps = d.shadow.on_bar(now - HOUR)
        assert len(steps) == 2
        assert all(d.real.calls[m] == calls.get(m, 0) for m in TRADING | ACCOUNT)
    assert sum(d.real.calls[m] for m in TRADING) == before == 0
    assert d.real.open_orders() == [] and d.real.positions() == []
    assert d.ledger.fills() == [] and d.ledger.last_equity() is None
    paper = [d.ledger.rollout_fills(v) for v in d.shadow.versions()]
    assert all(paper), "the paper candidates did trade, on their own paper accounts"
    assert {p.name for p in (tmp_path / "rollout").iterdir()} == set(d.shadow.versions())
    d.close()
