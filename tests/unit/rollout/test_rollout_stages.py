"""Stages in the ledger: submit once per content, the atomic switch, its invariant, alerts in
the same transaction, promotion and rollback by hand, and the capital blend."""

from __future__ import annotations

from pathlib import Path

import pytest

from xsmom.config import config_from_dict, load_config, version_id
from xsmom.config.rollout import RolloutConfig
from xsmom.data.bundled import sample_store
from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger import Ledger, default_url, open_ledger
from xsmom.notify import ConsoleChannel, from_payload
from xsmom.rollout import (
    ACTIVE_KEY,
    Pipeline,
    active_version,
    blend_targets,
    capital_plan,
    check_invariant,
    ensure_active,
    submit,
)
from xsmom.rollout.stages import activate

T0 = 1_751_328_000_000
A = config_from_dict({"name": "a"})
B = config_from_dict({"name": "b"})
C = config_from_dict({"name": "c"})


@pytest.fixture
def led(tmp_path: Path) -> Ledger:
    ledger = open_ledger(default_url(tmp_path))
    yield ledger  # type: ignore[misc]
    ledger.close()


def pipe(led: Ledger) -> Pipeline:
    return Pipeline(led, sample_store(), channels=[ConsoleChannel(echo=lambda s: None)])


def stages(led: Ledger) -> dict[str, str]:
    return {v: s.stage for v, s in led.rollout_stages().items()}


def test_a_version_is_submitted_once_whatever_its_formatting(led: Ledger, tmp_path: Path) -> None:
    one = tmp_path / "one.yaml"
    one.write_text("name: b\n", encoding="utf-8")
    two = tmp_path / "two.yaml"  # same values, spelled out differently
    two.write_text("name: 'b'\nstrategy:\n  selection:\n    k: 3\n", encoding="utf-8")
    first = submit(led, load_config(one), source="test", now_ms=T0)
    again = submit(led, load_config(two), source="test", now_ms=T0 + 1)
    assert first.added and not again.added and first.version == again.version == version_id(B)
    assert again.stage == "candidate"
    assert len(led.rollout_history()) == 1 and stages(led) == {version_id(B): "candidate"}


def test_the_first_active_version_is_set_once(led: Ledger) -> None:
    assert active_version(led) is None
    check_invariant(led)  # nothing active, nothing at full: consistent
    assert ensure_active(led, A, now_ms=T0) == version_id(A)
    assert ensure_active(led, B, now_ms=T0 + 1) == version_id(A)  # a restart keeps it
    assert led.get_meta(ACTIVE_KEY) == version_id(A)
    assert stages(led) == {version_id(A): "full"}


def test_promotions_by_hand_reach_full_atomically_with_their_alerts(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="test", now_ms=T0, channels=[ConsoleChannel()]).version
    pl = pipe(led)
    for i, want in enumerate(("paper", "small", "full"), start=1):
        pl.promote(b, T0 + i)
        assert stages(led)[b] == want
    assert active_version(led) == b and stages(led)[version_id(A)] == "retired"
    assert led.rollout_stages()[b].detail["previous"] == version_id(A)
    # every transition has its alert, with the same time and reason
    alerts = [from_payload(i.payload) for i in led.pending()]
    kinds = [(a.from_stage, a.to_stage) for a in alerts]  # type: ignore[attr-defined]
    assert kinds == [("new", "candidate"), ("candidate", "paper"), ("paper", "small"),
                     ("full", "retired"), ("small", "full")]  # fmt: skip
    assert alerts[-1].active_version == b and alerts[-1].previous_active == version_id(A)  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="nothing to promote"):
        pl.promote(b, T0 + 9)


def test_rollback_of_the_active_version_restores_the_previous_one(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="test", now_ms=T0).version
    pl = pipe(led)
    for i in range(3):
        pl.promote(b, T0 + i)
    done = pl.rollback(None, T0 + 10, reason="operator says so")
    assert active_version(led) == version_id(A)
    assert stages(led) == {version_id(A): "full", b: "rolled_back"}
    assert [(t.version, t.to_stage) for t in done] == [(b, "rolled_back"), (version_id(A), "full")]
    last = from_payload(led.pending()[-2].payload)
    assert last.severity == "warning" and "operator says so" in last.reason  # type: ignore[attr-defined]
    with pytest.raises(ConfigError, match="no previous version"):
        pl.rollback(None, T0 + 11)


def test_rollback_before_full_leaves_the_active_version_alone(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="test", now_ms=T0).version
    pl = pipe(led)
    pl.promote(b, T0 + 1)
    pl.rollback(b, T0 + 2)
    assert stages(led)[b] == "rolled_back" and active_version(led) == version_id(A)
    with pytest.raises(ConfigError, match="nothing to roll back"):
        pl.rollback(b, T0 + 3)


def test_only_one_version_at_small(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="t", now_ms=T0).version
    c = submit(led, C, source="t", now_ms=T0).version
    pl = pipe(led)
    for v in (b, c):
        pl.promote(v, T0 + 1)
    pl.promote(b, T0 + 2)
    with pytest.raises(ConfigError, match="another version is at small"):
        pl.promote(c, T0 + 3)


def test_paper_slots_take_candidates_oldest_first(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    vs = [submit(led, config_from_dict({"name": f"x{i}"}), source="t", now_ms=T0 + i).version
          for i in range(4)]  # fmt: skip
    settings = RolloutConfig(paper={"max_candidates": 3})  # type: ignore[arg-type]
    Pipeline(led, sample_store(), settings=settings).tick(T0 + 10)
    assert [stages(led)[v] for v in vs] == ["paper", "paper", "paper", "candidate"]


def test_a_switch_that_breaks_the_invariant_writes_nothing(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="t", now_ms=T0).version
    before = (led.row_counts(), led.get_meta(ACTIVE_KEY))
    with pytest.raises(CorruptStateError, match="versions at full"), led.transaction() as tx:
        # a second version at full next to the active one: refused before commit
        tx.set_rollout_stage(b, stage="full", ts=T0 + 1, reason="bad")
        check_invariant(tx)
    with pytest.raises(RuntimeError, match="boom"), led.transaction() as tx:
        activate(tx, b, reason="x", now_ms=T0 + 2, channels=[ConsoleChannel()])
        raise RuntimeError("boom")  # anything after the switch, before the commit
    assert (led.row_counts(), led.get_meta(ACTIVE_KEY)) == before
    with pytest.raises(ConfigError, match="not in the rollout"), led.transaction() as tx:
        activate(tx, "f" * 64, reason="x", now_ms=T0)


def test_capital_plan_and_blend(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="t", now_ms=T0).version
    plan = capital_plan(led)
    assert (plan.active, plan.small, plan.fraction) == (version_id(A), None, 0.0)
    pl = pipe(led)
    pl.promote(b, T0 + 1)
    pl.promote(b, T0 + 2)
    plan = capital_plan(led)
    assert (plan.active, plan.small, plan.fraction) == (version_id(A), b, 0.1)
    # 0.9 x active + 0.1 x candidate, symbol by symbol (missing = 0)
    got = blend_targets({"BTC": 0.5, "ETH": -0.5}, {"BTC": -0.2, "SOL": 0.4}, 0.1)
    assert got == pytest.approx({"BTC": 0.43, "ETH": -0.45, "SOL": 0.04})
    assert blend_targets({"BTC": 0.5}, {}, 0.0) == {"BTC": 0.5}
    with pytest.raises(ConfigError, match="within"):
        blend_targets({}, {}, 1.5)


def test_a_guard_trip_rolls_back_the_version_it_happened_under(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="t", now_ms=T0).version
    c = submit(led, C, source="t", now_ms=T0).version
    pl = pipe(led)
    for v in (b, c):
        pl.promote(v, T0 + 1)
    pl.promote(b, T0 + 2)  # b at small: the real account trades it
    with led.transaction() as tx:
        tx.record_guard_event(ts=T0 - 5, guard="daily_loss", event="tripped", reason="before")
    assert [t.to_stage for t in pl.tick(T0 + 3)] == []  # a trip before the stage counts not
    with led.transaction() as tx:
        tx.record_guard_event(ts=T0 + 4, guard="drawdown", event="warned", reason="close")
        # the exchange or the data, not the version: no rollback
        tx.record_guard_event(ts=T0 + 4, guard="breaker", event="tripped", reason="5xx")
        tx.record_guard_event(ts=T0 + 4, guard="stale_data", event="tripped", reason="late")
        tx.set_meta(
            "rollout.shadow." + c,
            {"trips": [{"ts": T0 + 4, "guard": "drawdown", "reason": "paper dd 30 %"}]},
            T0 + 4,
        )
    done = pl.tick(T0 + 5)
    assert [(t.version, t.to_stage) for t in done] == [(c, "rolled_back")]
    assert "guard drawdown of the paper account tripped: paper dd 30 %" in done[0].reason
    with led.transaction() as tx:
        tx.record_guard_event(ts=T0 + 6, guard="margin", event="tripped", reason="ratio 0.9")
    done = pl.tick(T0 + 7)
    assert [(t.version, t.to_stage) for t in done] == [(b, "rolled_back")]
    assert "guard margin tripped while" in done[0].reason and active_version(led) == version_id(A)


def test_auto_off_moves_nothing_and_probation_ends(led: Ledger) -> None:
    ensure_active(led, A, now_ms=T0)
    b = submit(led, B, source="t", now_ms=T0).version
    manual = RolloutConfig(auto=False)
    assert Pipeline(led, sample_store(), settings=manual).tick(T0 + 1) == []
    assert stages(led)[b] == "candidate"
    pl = Pipeline(led, sample_store(), settings=RolloutConfig(probation_hours=2.0))
    for i in range(3):
        pl.promote(b, T0 + i)
    row = led.rollout_stages()[b]
    with led.transaction() as tx:  # a guard trip right after the promotion ...
        tx.record_guard_event(ts=T0 + 3, guard="margin", event="tripped", reason="r")
    assert pl.evaluate(row, T0 + 3 * 3_600_000) is None  # ... after probation: no verdict
    verdict = pl.evaluate(row, T0 + 3_600_000)
    assert verdict is not None and verdict.action == "rollback"  # ... during it: rollback
