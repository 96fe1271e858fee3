"""The outbox contract between the ledger (which stores alerts) and the notifiers (which send).

An alert is written to the outbox in the same transaction as the event that caused it, one row
per channel, unique on ``(dedup_key, channel)``: enqueuing the same key twice adds nothing.
Delivery is at least once (a row is marked delivered only after the channel accepted it) and the
dedup key travels with the message so a receiver can show it once.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

SEVERITIES = ("info", "warning", "critical")


@dataclass(frozen=True, slots=True, kw_only=True)
class OutboxItem:
    """One alert waiting for (or done with) delivery on one channel."""

    id: int
    dedup_key: str
    channel: str
    kind: str
    severity: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    created_ms: int
    attempts: int = 0
    next_attempt_ms: int = 0
    delivered_ms: int | None = None
    last_error: str | None = None


class Outbox(Protocol):
    """Durable store of alerts; implemented by the ledger (SQLite/PostgreSQL) and by test fakes."""

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
        ...

    def due(self, channel: str, now_ms: int, limit: int = 50) -> list[OutboxItem]:
        """Return undelivered rows of ``channel`` due by ``now_ms``, oldest first."""
        ...

    def mark_delivered(self, item_id: int, now_ms: int) -> None:
        """Record that the channel accepted the row."""
        ...

    def mark_failed(self, item_id: int, error: str, next_attempt_ms: int) -> None:
        """Count a failed attempt (``error`` carries no secret) and schedule the next one."""
        ...

    def pending(self) -> list[OutboxItem]:
        """Return every undelivered row of every channel, oldest first."""
        ...
