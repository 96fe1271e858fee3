"""An in-memory :class:`Outbox` that behaves like the ledger's, and the contract both pass.

``MemoryOutbox`` keeps rows unique on ``(dedup_key, channel)``, returns due rows oldest first
and counts attempts exactly as the SQL outbox must. ``OutboxContract`` holds the tests every
implementation passes; use it like optuna's storage tests::

    from xsmom.notify.testing import OutboxContract

    class TestSqlOutbox(OutboxContract):
        @pytest.fixture
        def outbox(self, tmp_path): return LedgerOutbox(...)
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pytest

from xsmom.notify.outbox_types import SEVERITIES, Outbox, OutboxItem


class MemoryOutbox:
    """A thread-safe in-memory outbox with the SQL outbox's semantics."""

    def __init__(self) -> None:
        self._rows: dict[int, OutboxItem] = {}
        self._keys: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._next_id = 1

    def enqueue(
        self,
        *,
        dedup_key: str,
        channels: Sequence[str],
        kind: str,
        severity: str,
        payload: Mapping[str, Any],
        now_ms: int,
    ) -> int:
        """Add a row per channel, skipping existing ``(dedup_key, channel)``; return rows added."""
        if severity not in SEVERITIES:
            raise ValueError(f"severity must be one of {SEVERITIES}, not {severity!r}")
        added = 0
        with self._lock:
            for channel in channels:
                if (dedup_key, channel) in self._keys:
                    continue
                self._keys.add((dedup_key, channel))
                self._rows[self._next_id] = OutboxItem(
                    id=self._next_id,
                    dedup_key=dedup_key,
                    channel=channel,
                    kind=kind,
                    severity=severity,
                    payload=copy.deepcopy(dict(payload)),
                    created_ms=now_ms,
                    next_attempt_ms=now_ms,
                )
                self._next_id += 1
                added += 1
        return added

    def due(self, channel: str, now_ms: int, limit: int = 50) -> list[OutboxItem]:
        """Return undelivered rows of ``channel`` due by ``now_ms``, oldest first."""
        with self._lock:
            rows = [
                r
                for r in self._rows.values()
                if r.channel == channel and r.delivered_ms is None and r.next_attempt_ms <= now_ms
            ]
        rows.sort(key=lambda r: (r.created_ms, r.id))
        return rows[:limit]

    def mark_delivered(self, item_id: int, now_ms: int) -> None:
        """Record that the channel accepted the row."""
        with self._lock:
            row = self._rows[item_id]
            self._rows[item_id] = replace(row, delivered_ms=now_ms)

    def mark_failed(self, item_id: int, error: str, next_attempt_ms: int) -> None:
        """Count a failed attempt and schedule the next one."""
        with self._lock:
            row = self._rows[item_id]
            self._rows[item_id] = replace(
                row, attempts=row.attempts + 1, last_error=error, next_attempt_ms=next_attempt_ms
            )

    def pending(self) -> list[OutboxItem]:
        """Return every undelivered row of every channel, oldest first."""
        with self._lock:
            rows = [r for r in self._rows.values() if r.delivered_ms is None]
        rows.sort(key=lambda r: (r.created_ms, r.id))
        return rows

    def all(self) -> list[OutboxItem]:
        """Return every row, delivered or not, in id order (for tests)."""
        with self._lock:
            return [self._rows[k] for k in sorted(self._rows)]


def _add(outbox: Outbox, key: str, channels: Sequence[str], now_ms: int) -> int:
    return outbox.enqueue(
        dedup_key=key,
        channels=channels,
        kind="test",
        severity="info",
        payload={"kind": "test", "n": [1, 2], "nested": {"a": 1.5}},
        now_ms=now_ms,
    )


class OutboxContract:
    """Behaviour every Outbox shares; subclass it with an ``outbox`` fixture."""

    @pytest.fixture
    def outbox(self) -> Outbox:
        """Return a fresh, empty outbox (override in the subclass)."""
        raise NotImplementedError

    def test_enqueue_adds_one_row_per_channel_and_dedups(self, outbox: Outbox) -> None:
        assert _add(outbox, "k1", ["discord", "console"], 1_000) == 2
        assert _add(outbox, "k1", ["discord", "webhook"], 2_000) == 1
        assert _add(outbox, "k1", ["discord", "console", "webhook"], 3_000) == 0
        assert sorted(i.channel for i in outbox.pending()) == ["console", "discord", "webhook"]

    def test_due_is_per_channel_oldest_first_and_limited(self, outbox: Outbox) -> None:
        for n in (3, 1, 2):
            _add(outbox, f"k{n}", ["discord", "console"], n * 1_000)
        due = outbox.due("discord", 10_000)
        assert [i.dedup_key for i in due] == ["k1", "k2", "k3"]
        assert {i.channel for i in due} == {"discord"}
        assert [i.dedup_key for i in outbox.due("discord", 10_000, limit=2)] == ["k1", "k2"]
        assert [i.dedup_key for i in outbox.due("discord", 1_500)] == ["k1"]
        assert due[0].payload == {"kind": "test", "n": [1, 2], "nested": {"a": 1.5}}
        assert (due[0].kind, due[0].severity, due[0].created_ms) == ("test", "info", 1_000)
        assert (due[0].attempts, due[0].delivered_ms, due[0].last_error) == (0, None, None)

    def test_failed_rows_wait_for_their_next_attempt(self, outbox: Outbox) -> None:
        _add(outbox, "k1", ["discord"], 1_000)
        item = outbox.due("discord", 1_000)[0]
        outbox.mark_failed(item.id, "HTTP 503", 5_000)
        assert outbox.due("discord", 4_999) == []
        again = outbox.due("discord", 5_000)
        assert [(i.id, i.attempts, i.last_error) for i in again] == [(item.id, 1, "HTTP 503")]
        outbox.mark_failed(item.id, "HTTP 502", 9_000)
        assert outbox.pending()[0].attempts == 2
        assert outbox.pending()[0].next_attempt_ms == 9_000

    def test_delivered_rows_leave_due_and_pending(self, outbox: Outbox) -> None:
        _add(outbox, "k1", ["discord", "console"], 1_000)
        item = outbox.due("discord", 1_000)[0]
        outbox.mark_delivered(item.id, 2_000)
        assert outbox.due("discord", 10**15) == []
        assert [i.channel for i in outbox.pending()] == ["console"]
        assert _add(outbox, "k1", ["discord"], 3_000) == 0  # delivered keys stay taken
