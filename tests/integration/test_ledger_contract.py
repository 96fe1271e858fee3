"""The ledger's contract, run against SQLite and PostgreSQL (one parametrized suite)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger import Ledger, LedgerTx, open_ledger

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z
HOUR = 3_600_000


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:  # noqa: F811
    led = open_ledger(ledger_url)
    yield led
    led.close()


def order(tx: LedgerTx, cid: str, **kw: Any) -> bool:
    args: dict[str, Any] = {
        "client_id": cid,
        "symbol": BTC,
        "side": "buy",
        "type": "limit",
        "qty": 0.5,
        "price": 50_000.0,
        "ts": T0,
        "reason": "target",
        "bar_ts": T0 - HOUR,
        "attempt": 0,
        "config_version": "v1",
    }
    args.update(kw)
    return tx.record_order(**args)


def fill(tx: LedgerTx, trade_id: str, **kw: Any) -> bool:
    args: dict[str, Any] = {
        "symbol": BTC,
        "trade_id": trade_id,
        "side": "buy",
        "qty": 0.2,
        "price": 50_000.0,
        "fee": 2.0,
        "fee_currency": "USDT",
        "ts": T0 + 1000,
    }
    args.update(kw)
    return tx.record_fill(**args)


# --- orders and transitions -------------------------------------------------------------------


def test_order_is_recorded_once_per_client_id_with_its_intent(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        assert order(tx, "c1", post_only=True) is True
        assert order(tx, "c1", post_only=True) is False  # a retry of the same intent
    with (
        pytest.raises(CorruptStateError, match="c1 is already recorded with a different qty"),
        ledger.transaction() as tx,
    ):
        order(tx, "c1", post_only=True, qty=0.6)
    o = ledger.order("c1")
    assert o is not None
    assert (o.symbol, o.side, o.type, o.qty, o.price, o.post_only, o.reduce_only) == (
        BTC,
        "buy",
        "limit",
        0.5,
        50_000.0,
        True,
        False,
    )
    assert (o.bar_ts, o.reason, o.attempt, o.config_version) == (T0 - HOUR, "target", 0, "v1")
    assert (o.status, o.filled_qty, o.avg_price, o.created_ms) == ("new", 0.0, None, T0)
    assert ledger.order("nope") is None
    assert [t.to_status for t in ledger.order_transitions("c1")] == ["new"]


def test_transitions_record_every_change_and_refuse_impossible_ones(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        order(tx, "c1")
        order(
            tx,
            "s1",
            type="stop_market",
            side="sell",
            price=None,
            stop_price=45_000.0,
            reduce_only=True,
        )
        assert (
            tx.record_transition("c1", status="new", ts=T0 + 1, reason="ack", venue_order_id="900")
            is False
        )
        assert tx.record_transition(
            "c1",
            status="partially_filled",
            filled_qty=0.2,
            avg_price=50_000.0,
            ts=T0 + 2,
            reason="fill t1",
        )
        assert tx.record_transition(
            "c1",
            status="partially_filled",
            filled_qty=0.3,
            avg_price=49_990.0,
            ts=T0 + 3,
            reason="fill t2",
        )
        assert tx.record_transition("c1", status="canceled", ts=T0 + 4, reason="stale: ttl")
    trans = ledger.order_transitions("c1")
    assert [(t.from_status, t.to_status, t.filled_qty, t.ts, t.reason) for t in trans] == [
        (None, "new", 0.0, T0, "target"),
        ("new", "partially_filled", 0.2, T0 + 2, "fill t1"),
        ("partially_filled", "partially_filled", 0.3, T0 + 3, "fill t2"),
        ("partially_filled", "canceled", 0.3, T0 + 4, "stale: ttl"),
    ]
    o = ledger.order("c1")
    assert o is not None
    assert (o.venue_order_id, o.status, o.filled_qty, o.avg_price, o.updated_ms) == (
        "900",
        "canceled",
        0.3,
        49_990.0,
        T0 + 4,
    )
    assert o.remaining == pytest.approx(0.2)
    assert [x.client_id for x in ledger.open_orders()] == ["s1"]
    assert [x.client_id for x in ledger.orders(status="canceled")] == ["c1"]
    assert [x.client_id for x in ledger.orders(symbol=ETH)] == []
    with (
        pytest.raises(CorruptStateError, match="c1 is canceled: it cannot become new"),
        ledger.transaction() as tx,
    ):
        tx.record_transition("c1", status="new", ts=T0 + 5, reason="x")
    with (
        pytest.raises(CorruptStateError, match="filled qty would go back"),
        ledger.transaction() as tx,
    ):
        tx.record_transition("s1", status="new", filled_qty=-1.0, ts=T0 + 5, reason="x")
    with (
        pytest.raises(CorruptStateError, match="zz is not in the ledger"),
        ledger.transaction() as tx,
    ):
        tx.record_transition("zz", status="filled", ts=T0 + 5, reason="x")
    assert len(ledger.order_transitions()) == 5


def test_bad_order_input_is_a_clear_error_and_writes_nothing(ledger: Ledger) -> None:
    for kw, msg in [
        ({"side": "long"}, "order side 'long' is not one of buy, sell"),
        ({"type": "twap"}, "order type"),
        ({"qty": 0.0}, "qty must be > 0"),
        ({"qty": float("nan")}, "finite"),
        ({"status": "open"}, "order status"),
    ]:
        with pytest.raises(ConfigError, match=msg), ledger.transaction() as tx:
            order(tx, "ok-before")  # written first in the same transaction, then rolled back
            order(tx, "bad", **kw)
    assert ledger.orders() == []


# --- fills ------------------------------------------------------------------------------------


def test_fill_recording_is_idempotent_per_symbol_and_trade_id(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        order(tx, "c1", venue_order_id="900")
        assert fill(tx, "t1", client_id="c1", venue_order_id="900") is True
        assert fill(tx, "t1", client_id="c1", venue_order_id="900") is False
        assert fill(tx, "t2", venue_order_id="900", ts=T0 + 2000) is True  # linked by venue id
        # the same trade id on another symbol is another trade
        assert fill(tx, "t1", symbol=ETH, price=3000.0, ts=T0 + 3000) is True
        # a liquidation while the engine was down: no order of ours
        assert fill(
            tx,
            "liq-7",
            side="sell",
            qty=0.1,
            price=40_000.0,
            liquidation=True,
            realized_pnl=-1000.0,
            ts=T0 + 4000,
        )
    with ledger.transaction() as tx:  # a restart replays what it already saw
        assert fill(tx, "t1", client_id="c1") is False
        assert fill(tx, "liq-7", side="sell", qty=0.1, price=40_000.0, ts=T0 + 4000) is False
    fills = ledger.fills()
    assert [(f.symbol, f.trade_id) for f in fills] == [
        (BTC, "t1"),
        (BTC, "t2"),
        (ETH, "t1"),
        (BTC, "liq-7"),
    ]
    o = ledger.order("c1")
    assert o is not None
    assert [f.order_id for f in fills] == [o.id, o.id, None, None]
    liq = fills[3]
    assert (liq.liquidation, liq.realized_pnl, liq.signed_qty, liq.client_id) == (
        True,
        -1000.0,
        -0.1,
        None,
    )
    assert [f.trade_id for f in ledger.fills(since_ms=T0 + 2000, symbol=BTC)] == ["t2", "liq-7"]
    assert [f.trade_id for f in ledger.fills(until_ms=T0 + 2000)] == ["t1"]
    last = ledger.last_fill(BTC)
    assert last is not None and last.trade_id == "liq-7"
    assert ledger.last_fill("DOGE/USDT:USDT") is None


def test_floats_round_trip_exactly(ledger: Ledger) -> None:
    vals = [0.1 + 0.2, 1e-12, 123456789.123456789, 2.0**-1074 * 3, -7.5e300]
    with ledger.transaction() as tx:
        for i, v in enumerate(vals):
            fill(tx, f"t{i}", qty=abs(v), price=1.0, fee=v, realized_pnl=-v)
    got = ledger.fills()
    assert [f.fee for f in got] == vals
    assert [f.realized_pnl for f in got] == [-v for v in vals]


# --- transactions -----------------------------------------------------------------------------


class Boom(Exception):
    pass


def test_a_transaction_that_raises_leaves_nothing(ledger: Ledger) -> None:
    with pytest.raises(Boom), ledger.transaction() as tx:
        order(tx, "c1")
        fill(tx, "t1", client_id="c1")
        tx.upsert_position(BTC, qty=0.2, entry_price=50_000.0, ts=T0, reason="fill")
        tx.record_funding(symbol=BTC, ts=T0, rate=1e-4, qty=0.2, mark_price=5e4, amount=-1.0)
        tx.record_equity(ts=T0, equity=1e4, wallet=1e4, unrealized=0.0)
        tx.record_targets(T0, {BTC: (0.5, 0.1)})
        tx.record_state_change(ts=T0, from_state="active", to_state="halted", reason="x")
        tx.record_guard_event(ts=T0, guard="g", event="tripped", reason="x")
        tx.save_guard_state("g", {"halted": True}, T0)
        tx.set_meta("last_bar", T0, T0)
        tx.record_config_version("v1", {"a": 1}, T0)
        tx.enqueue_alert(
            dedup_key="k", channels=["discord"], kind="x", severity="info", payload={}, now_ms=T0
        )
        assert tx.order("c1") is not None  # the transaction sees its own writes
        raise Boom
    assert all(n == 0 for n in ledger.row_counts().values()), ledger.row_counts()


def test_an_event_and_its_alert_commit_together(ledger: Ledger) -> None:
    def trip(tx: LedgerTx, ts: int) -> None:
        tx.record_state_change(ts=ts, from_state="active", to_state="halted", reason="daily loss")
        tx.record_guard_event(
            ts=ts,
            guard="daily_loss",
            event="tripped",
            reason="-5.2% < -5%",
            detail={"loss": -0.052},
        )
        tx.save_guard_state("daily_loss", {"halted": True, "day": "2026-01-01"}, ts)
        tx.enqueue_alert(
            dedup_key=f"daily_loss:{ts}",
            channels=["discord", "console"],
            kind="guard_tripped",
            severity="critical",
            payload={"guard": "daily_loss"},
            now_ms=ts,
        )

    with pytest.raises(Boom), ledger.transaction() as tx:
        trip(tx, T0)
        raise Boom  # e.g. the process dies before commit
    assert ledger.events() == [] and ledger.pending() == []
    with ledger.transaction() as tx:
        trip(tx, T0)
    assert [e.source for e in ledger.events()] == ["guard", "state"]
    assert [(i.channel, i.severity) for i in ledger.pending()] == [
        ("discord", "critical"),
        ("console", "critical"),
    ]


def test_other_readers_see_a_transaction_only_after_commit(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        order(tx, "c1")
        assert ledger.order("c1") is None
    assert ledger.order("c1") is not None


# --- account ----------------------------------------------------------------------------------


def test_positions_current_and_history(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        assert tx.upsert_position(BTC, qty=0.2, entry_price=50_000.0, ts=T0, reason="fill t1")
        assert not tx.upsert_position(BTC, qty=0.2, entry_price=50_000.0, ts=T0 + 1, reason="x")
        assert tx.upsert_position(ETH, qty=-3.0, entry_price=3000.0, ts=T0 + 2, reason="fill")
        assert tx.upsert_position(BTC, qty=0.0, entry_price=0.0, ts=T0 + 3, reason="closed")
    pos = ledger.positions()
    assert list(pos) == [ETH] and pos[ETH].qty == -3.0 and pos[ETH].updated_ms == T0 + 2
    assert ledger.positions(include_flat=True)[BTC].qty == 0.0
    hist = ledger.position_history(BTC)
    assert [(h.qty, h.reason) for h in hist] == [(0.2, "fill t1"), (0.0, "closed")]
    assert len(ledger.position_history()) == 3


def test_funding_equity_and_targets(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        assert tx.record_funding(symbol=BTC, ts=T0, rate=1e-4, qty=0.2, mark_price=5e4, amount=-1.0)
        assert not tx.record_funding(
            symbol=BTC, ts=T0, rate=1e-4, qty=0.2, mark_price=5e4, amount=-1.0
        )
        tx.record_equity(ts=T0, equity=10_000.0, wallet=10_000.0, unrealized=0.0)
        tx.record_equity(
            ts=T0 + HOUR, equity=10_050.0, wallet=10_000.0, unrealized=50.0, margin_ratio=0.01
        )
        tx.record_equity(ts=T0 + HOUR, equity=10_040.0, wallet=10_000.0, unrealized=40.0)
        assert tx.record_targets(T0, {BTC: (0.5, 0.1), ETH: (-0.5, -1.6)}, "v1") == 2
        assert tx.record_targets(T0 + HOUR, {BTC: (0.4, 0.08)}, "v1") == 1
        # the same bar again (recomputed after a restart) replaces its targets
        assert tx.record_targets(T0 + HOUR, {ETH: (-0.3, -1.0)}, "v2") == 1
    assert [f.amount for f in ledger.funding()] == [-1.0]
    assert ledger.funding(since_ms=T0 + 1) == [] == ledger.funding(until_ms=T0)
    assert len(ledger.funding(since_ms=T0, until_ms=T0 + 1)) == 1
    eq = ledger.equity_series()
    assert [(e.ts, e.equity, e.margin_ratio) for e in eq] == [
        (T0, 10_000.0, None),
        (T0 + HOUR, 10_040.0, None),
    ]
    assert ledger.equity_series(start_ms=T0 + 1) == eq[1:]
    assert ledger.equity_series(end_ms=T0 + 1) == eq[:1]
    assert ledger.last_equity() == eq[1]
    latest = ledger.targets()
    assert list(latest) == [ETH] and latest[ETH].config_version == "v2"
    assert ledger.targets(T0)[ETH].target_qty == -1.6
    assert ledger.targets(T0 + 2 * HOUR) == {}
    assert [(t.bar_ts, t.symbol, t.weight) for t in ledger.targets_series()] == [
        (T0, BTC, 0.5),
        (T0, ETH, -0.5),
        (T0 + HOUR, ETH, -0.3),
    ]


def test_config_versions_first_and_last_use(ledger: Ledger) -> None:
    cfg = {"strategy": {"k": 3, "lookbacks": [24, 72]}, "name": "é"}
    with ledger.transaction() as tx:
        assert tx.record_config_version("v1", cfg, T0 + HOUR)
        assert not tx.record_config_version("v1", cfg, T0 + 5 * HOUR)
        assert not tx.record_config_version("v1", cfg, T0)
    (v,) = ledger.config_versions()
    assert (v.version_id, v.config, v.first_used_ms, v.last_used_ms) == (
        "v1",
        cfg,
        T0,
        T0 + 5 * HOUR,
    )
    assert ledger.config_version("v1") == v
    with pytest.raises(ConfigError, match="v9 is not in the ledger"):
        ledger.config_version("v9")


# --- safety state -----------------------------------------------------------------------------


def test_guard_state_and_meta_survive_a_restart(ledger_url: str) -> None:  # noqa: F811
    led = open_ledger(ledger_url)
    with led.transaction() as tx:
        tx.record_state_change(ts=T0, from_state=None, to_state="active", reason="start")
        tx.record_state_change(
            ts=T0 + 1, from_state="active", to_state="halted", reason="drawdown 21% > 20%"
        )
        tx.save_guard_state("drawdown", {"peak": 12_000.0, "halted": True}, T0 + 1)
        tx.save_guard_state("daily_loss", {"day": "2026-01-01", "start_equity": 1e4}, T0)
        tx.save_guard_state("drawdown", {"peak": 12_000.0, "halted": True, "n": 2}, T0 + 2)
        tx.set_meta("last_bar", T0 - HOUR, T0)
        tx.set_meta("last_fill", {BTC: T0 + 5}, T0)
        tx.set_meta("last_reconcile", {"ok": True, "repairs": []}, T0)
    led.close()
    led = open_ledger(ledger_url)  # a restart
    try:
        state = led.trading_state()
        assert state is not None and state.to_state == "halted"
        assert state.reason == "drawdown 21% > 20%"
        gs = led.guard_states()
        assert list(gs) == ["daily_loss", "drawdown"]
        assert gs["drawdown"].state == {"peak": 12_000.0, "halted": True, "n": 2}
        assert gs["drawdown"].updated_ms == T0 + 2
        assert led.guard_state("breaker") is None
        assert led.get_meta("last_bar") == T0 - HOUR
        assert led.get_meta("last_fill") == {BTC: T0 + 5}
        assert led.get_meta("missing", 7) == 7
        assert set(led.meta()) == {"last_bar", "last_fill", "last_reconcile"}
    finally:
        led.close()


def test_event_timeline_and_validation(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        tx.record_guard_event(
            ts=T0, guard="margin", event="warned", reason="ratio 0.6", detail={"ratio": 0.6}
        )
        tx.record_state_change(ts=T0 + 1, from_state="active", to_state="reducing", reason="m")
        tx.record_guard_event(ts=T0 + 1, guard="margin", event="tripped", reason="ratio 0.8")
        tx.record_guard_event(ts=T0 + 2, guard="gate", event="denied", reason="order c9: halted")
    ev = ledger.events()
    assert [(e.ts, e.source, e.name, e.event) for e in ev] == [
        (T0, "guard", "margin", "warned"),
        (T0 + 1, "guard", "margin", "tripped"),
        (T0 + 1, "state", "trading_state", "changed"),
        (T0 + 2, "guard", "gate", "denied"),
    ]
    assert ev[0].detail == {"ratio": 0.6} and ev[2].to_state == "reducing"
    assert [e.ts for e in ledger.events(since_ms=T0 + 1)] == [T0 + 1, T0 + 1, T0 + 2]
    assert [e.ts for e in ledger.events(since_ms=T0 + 1, until_ms=T0 + 2)] == [T0 + 1, T0 + 1]
    assert [e.source for e in ledger.events(until_ms=T0 + 1)] == ["guard"]
    assert len(ledger.guard_events(guard="margin")) == 2
    with pytest.raises(ConfigError, match="trading state 'paused'"), ledger.transaction() as tx:
        tx.record_state_change(ts=T0, from_state=None, to_state="paused", reason="x")
    with pytest.raises(ConfigError, match="not storable as JSON"), ledger.transaction() as tx:
        tx.save_guard_state("g", {"x": float("nan")}, T0)
    with pytest.raises(ConfigError, match="not storable as JSON"), ledger.transaction() as tx:
        tx.set_meta("k", object(), T0)


def test_rollout_stages(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        tx.record_config_version("v1", {}, T0)
        tx.record_config_version("v2", {}, T0)
        assert tx.set_rollout_stage("v1", stage="full", ts=T0, reason="initial")
        assert tx.set_rollout_stage("v2", stage="paper", ts=T0, reason="submitted")
        assert not tx.set_rollout_stage(
            "v2", stage="paper", ts=T0 + 1, reason="again", detail={"fills": 3}
        )
        assert tx.set_rollout_stage("v2", stage="small", ts=T0 + 2, reason="in band")
    st = ledger.rollout_stages()
    assert {v: s.stage for v, s in st.items()} == {"v1": "full", "v2": "small"}
    assert st["v2"].since_ms == T0 + 2
    assert [(h.version_id, h.from_stage, h.to_stage) for h in ledger.rollout_history()] == [
        ("v1", None, "full"),
        ("v2", None, "paper"),
        ("v2", "paper", "small"),
    ]
    with pytest.raises(CorruptStateError), ledger.transaction() as tx:
        tx.set_rollout_stage("v9", stage="paper", ts=T0, reason="unknown version")


# --- outbox -----------------------------------------------------------------------------------


def alert(
    led: Ledger, key: str, now: int, channels: tuple[str, ...] = ("discord", "console")
) -> int:
    return led.enqueue(
        dedup_key=key,
        channels=channels,
        kind="fills",
        severity="info",
        payload={"n": 1, "text": "ok"},
        now_ms=now,
    )


def test_outbox_dedup_across_calls_and_channels(ledger: Ledger) -> None:
    assert alert(ledger, "bar:1", T0) == 2
    assert alert(ledger, "bar:1", T0 + 5) == 0
    assert alert(ledger, "bar:1", T0 + 5, ("discord", "webhook")) == 1  # only the new channel
    assert alert(ledger, "bar:2", T0 + 1, ("console", "console")) == 1
    items = ledger.pending()
    assert [(i.dedup_key, i.channel) for i in items] == [
        ("bar:1", "discord"),
        ("bar:1", "console"),
        ("bar:2", "console"),
        ("bar:1", "webhook"),
    ]
    assert items[0].payload == {"n": 1, "text": "ok"} and items[0].created_ms == T0
    with pytest.raises(ConfigError, match="severity"):
        ledger.enqueue(
            dedup_key="k", channels=["c"], kind="x", severity="fatal", payload={}, now_ms=T0
        )
    with pytest.raises(ConfigError, match="channels"):
        ledger.enqueue(dedup_key="k", channels=[], kind="x", severity="info", payload={}, now_ms=T0)
    with pytest.raises(ConfigError, match="channels"):
        ledger.enqueue(
            dedup_key="k", channels="discord", kind="x", severity="info", payload={}, now_ms=T0
        )


def test_outbox_due_failed_and_delivered(ledger: Ledger) -> None:
    alert(ledger, "a", T0)
    alert(ledger, "b", T0 + 10)
    assert [i.dedup_key for i in ledger.due("discord", T0 + 9)] == ["a"]
    assert [i.dedup_key for i in ledger.due("discord", T0 + 10)] == ["a", "b"]
    assert [i.dedup_key for i in ledger.due("discord", T0 + 10, limit=1)] == ["a"]
    assert ledger.due("slack", T0 + 10) == []
    a = ledger.due("discord", T0 + 10)[0]
    ledger.mark_failed(a.id, "HTTP 503", T0 + 1000)
    ledger.mark_failed(a.id, "HTTP 429 retry_after=2" + "x" * 2000, T0 + 3000)
    assert [i.dedup_key for i in ledger.due("discord", T0 + 2999)] == ["b"]
    due = ledger.due("discord", T0 + 3000)
    assert [i.dedup_key for i in due] == ["a", "b"]  # oldest first, by creation
    retried = due[0]
    assert (retried.attempts, retried.next_attempt_ms) == (2, T0 + 3000)
    assert retried.last_error is not None and retried.last_error.startswith("HTTP 429")
    assert len(retried.last_error) == 1000
    ledger.mark_delivered(retried.id, T0 + 3001)
    ledger.mark_delivered(retried.id, T0 + 9999)  # at-least-once: a second mark keeps the first
    assert [i.dedup_key for i in ledger.due("discord", T0 + 10_000)] == ["b"]
    assert {(i.dedup_key, i.channel) for i in ledger.pending()} == {
        ("a", "console"),
        ("b", "discord"),
        ("b", "console"),
    }
    (done,) = [i for i in ledger.outbox_items(dedup_key="a") if i.channel == "discord"]
    assert done.delivered_ms == T0 + 3001 and done.attempts == 2
    assert alert(ledger, "a", T0 + 20_000) == 0  # delivered keys stay deduplicated
    with pytest.raises(CorruptStateError, match="outbox row 999999 does not exist"):
        ledger.mark_delivered(999_999, T0)
    with pytest.raises(CorruptStateError, match="outbox row 999999 does not exist"):
        ledger.mark_failed(999_999, "x", T0)


def test_nested_transactions_are_refused_at_once(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        tx.set_meta("outer", 1, T0)
        with pytest.raises(RuntimeError, match=r"nested ledger\.transaction"), ledger.transaction():
            pass
    assert ledger.get_meta("outer") == 1
    with ledger.transaction() as tx:  # the flag is reset after a refusal and after a commit
        tx.set_meta("again", 2, T0)


def test_fills_seen_before_their_order_are_linked_when_it_is_recorded(ledger: Ledger) -> None:
    with ledger.transaction() as tx:  # a restart replays fills before it rebuilds the orders
        fill(tx, "t1", client_id="c1")
        fill(tx, "t2", venue_order_id="777")
        fill(tx, "t3", venue_order_id="777", symbol=ETH)  # same venue id, other symbol
    with ledger.transaction() as tx:
        order(tx, "c1")
        order(tx, "c2")
        tx.record_transition(
            "c2", status="filled", filled_qty=0.5, ts=T0 + 9, reason="ack", venue_order_id="777"
        )
    o1, o2 = ledger.order("c1"), ledger.order("c2")
    assert o1 is not None and o2 is not None
    assert [f.order_id for f in ledger.fills()] == [o1.id, o2.id, None]
    with pytest.raises(ConfigError, match="qty and price must be > 0"), ledger.transaction() as tx:
        fill(tx, "t9", price=0.0)


def test_exchange_fill_reports_record_as_they_are(ledger: Ledger) -> None:
    import dataclasses

    from xsmom.exchange.reports import FillReport, OrderSide

    report = FillReport(
        trade_id="88",
        venue_order_id="900",
        client_id="c1",
        symbol=BTC,
        side=OrderSide.SELL,
        qty=0.1,
        price=50_100.0,
        fee=-0.5,
        fee_currency="USDT",
        is_maker=True,
        realized_pnl=12.5,
        ts=T0 + 7,
    )
    with ledger.transaction() as tx:
        order(tx, "c1", side="sell", venue_order_id="900")
        assert tx.record_fill(**dataclasses.asdict(report))
    (f,) = ledger.fills()
    assert (f.side, f.fee, f.is_maker, f.realized_pnl, f.liquidation) == (
        "sell",
        -0.5,
        True,
        12.5,
        False,
    )
    assert type(f.side) is str
