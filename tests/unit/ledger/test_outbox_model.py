"""The outbox against a plain-Python model: random enqueue / fail / deliver sequences on a real
SQLite ledger give the same due and pending rows as the model (hypothesis state machine)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from xsmom.ledger import Ledger, open_ledger

KEYS = st.sampled_from(["fill:1", "fill:2", "guard:dd", "daily:2026-01-01"])
CHANNELS = st.lists(st.sampled_from(["discord", "console", "webhook"]), min_size=1, max_size=3)


@dataclass
class Row:
    order: int
    key: str
    channel: str
    created: int
    attempts: int = 0
    next_attempt: int = 0
    delivered: int | None = None
    error: str | None = None


class OutboxModel(RuleBasedStateMachine):
    @initialize()
    def open(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="xsmom-outbox-"))
        self.led: Ledger = open_ledger(f"sqlite:///{self.dir / 'ledger.sqlite'}")
        self.rows: dict[tuple[str, str], Row] = {}
        self.now = 1_000

    def teardown(self) -> None:
        if hasattr(self, "led"):
            self.led.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    @rule(key=KEYS, channels=CHANNELS, dt=st.integers(0, 50))
    def enqueue(self, key: str, channels: list[str], dt: int) -> None:
        self.now += dt
        added = self.led.enqueue(
            dedup_key=key,
            channels=channels,
            kind="k",
            severity="info",
            payload={"key": key},
            now_ms=self.now,
        )
        new = [c for c in dict.fromkeys(channels) if (key, c) not in self.rows]
        for c in new:
            self.rows[(key, c)] = Row(len(self.rows), key, c, self.now, next_attempt=self.now)
        assert added == len(new)

    def _id(self, row: Row) -> int:
        (item,) = [i for i in self.led.outbox_items(dedup_key=row.key) if i.channel == row.channel]
        return item.id

    @precondition(lambda self: bool(self.rows))
    @rule(pick=st.integers(0, 10_000), delay=st.integers(1, 200))
    def fail(self, pick: int, delay: int) -> None:
        row = list(self.rows.values())[pick % len(self.rows)]
        self.led.mark_failed(self._id(row), f"HTTP 503 #{row.attempts}", self.now + delay)
        row.attempts += 1
        row.next_attempt = self.now + delay
        row.error = f"HTTP 503 #{row.attempts - 1}"

    @precondition(lambda self: bool(self.rows))
    @rule(pick=st.integers(0, 10_000), dt=st.integers(0, 50))
    def deliver(self, pick: int, dt: int) -> None:
        self.now += dt
        row = list(self.rows.values())[pick % len(self.rows)]
        self.led.mark_delivered(self._id(row), self.now)
        if row.delivered is None:
            row.delivered = self.now

    @invariant()
    def due_and_pending_match(self) -> None:
        if not hasattr(self, "led"):
            return
        for channel in ("discord", "console", "webhook"):
            for at in (self.now, self.now + 100, self.now + 1_000):
                want = sorted(
                    (
                        r
                        for r in self.rows.values()
                        if r.channel == channel and r.delivered is None and r.next_attempt <= at
                    ),
                    key=lambda r: (r.created, r.order),
                )
                got = self.led.due(channel, at, limit=100)
                assert [(i.dedup_key, i.attempts, i.last_error) for i in got] == [
                    (r.key, r.attempts, r.error) for r in want
                ]
        pending = sorted(
            (r for r in self.rows.values() if r.delivered is None),
            key=lambda r: (r.created, r.order),
        )
        assert [(i.dedup_key, i.channel) for i in self.led.pending()] == [
            (r.key, r.channel) for r in pending
        ]


OutboxModel.TestCase.settings = settings(max_examples=12, stateful_step_count=15, deadline=None)
TestOutboxModel = OutboxModel.TestCase
