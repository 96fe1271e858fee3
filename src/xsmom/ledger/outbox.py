"""The alerts outbox in the ledger: the ``Outbox`` protocol of ``xsmom.notify.outbox_types``.

Rows are unique on ``(dedup_key, channel)``: enqueuing a key again adds nothing, also across
processes (the database's unique constraint decides). ``LedgerTx.enqueue_alert`` writes an
alert in the same transaction as the event that caused it; ``Ledger.enqueue`` is the same in
its own transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import func, select, update

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger._base import Reads, Writes, check_json, insert_ignore
from xsmom.ledger.models import OutboxRow
from xsmom.ledger.views import SEVERITIES, check_value
from xsmom.notify.outbox_types import OutboxItem

MAX_ERROR = 1000


def _item(row: OutboxRow) -> OutboxItem:
    return OutboxItem(
        id=row.id,
        dedup_key=row.dedup_key,
        channel=row.channel,
        kind=row.kind,
        severity=row.severity,
        payload=row.payload,
        created_ms=row.created_ms,
        attempts=row.attempts,
        next_attempt_ms=row.next_attempt_ms,
        delivered_ms=row.delivered_ms,
        last_error=row.last_error,
    )


class OutboxWrites(Writes):
    """Write alerts in the caller's transaction."""

    def enqueue_alert(
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
        if not dedup_key:
            raise ConfigError("an alert needs a dedup key")
        if isinstance(channels, str) or not channels:
            raise ConfigError(f"alert {dedup_key}: give a list of one or more channels")
        body = dict(check_json(dict(payload), f"payload of alert {dedup_key}"))
        sev = check_value(severity, SEVERITIES, "alert severity")
        added = 0
        for channel in dict.fromkeys(channels):
            values = {
                "dedup_key": dedup_key,
                "channel": channel,
                "kind": kind,
                "severity": sev,
                "payload": body,
                "created_ms": int(now_ms),
                "attempts": 0,
                "next_attempt_ms": int(now_ms),
                "delivered_ms": None,
                "last_error": None,
            }
            table = OutboxRow.__table__
            added += insert_ignore(self._s, table, values, ("dedup_key", "channel"))  # type: ignore[arg-type]
        return added

    def mark_alert_delivered(self, item_id: int, now_ms: int) -> None:
        """Record that the channel accepted row ``item_id`` (the first delivery time stays)."""
        when = func.coalesce(OutboxRow.delivered_ms, int(now_ms))
        self._mark(item_id, delivered_ms=when)

    def mark_alert_failed(self, item_id: int, error: str, next_attempt_ms: int) -> None:
        """Count a failed attempt of row ``item_id`` and schedule the next one."""
        self._mark(
            item_id,
            attempts=OutboxRow.attempts + 1,
            last_error=error[:MAX_ERROR],
            next_attempt_ms=int(next_attempt_ms),
        )

    def _mark(self, item_id: int, **values: Any) -> None:
        q = update(OutboxRow).where(OutboxRow.id == item_id).values(**values)
        if self._s.execute(q).rowcount != 1:  # type: ignore[attr-defined]
            raise CorruptStateError(f"outbox row {item_id} does not exist")


class OutboxReads(Reads):
    """Read alerts waiting for delivery."""

    def due(self, channel: str, now_ms: int, limit: int = 50) -> list[OutboxItem]:
        """Return undelivered rows of ``channel`` due by ``now_ms``, oldest first."""
        q = (
            select(OutboxRow)
            .where(
                OutboxRow.channel == channel,
                OutboxRow.delivered_ms.is_(None),
                OutboxRow.next_attempt_ms <= now_ms,
            )
            .order_by(OutboxRow.created_ms, OutboxRow.id)
            .limit(limit)
        )
        with self._reading() as s:
            return [_item(r) for r in s.scalars(q)]

    def pending(self) -> list[OutboxItem]:
        """Return every undelivered row of every channel, oldest first."""
        q = (
            select(OutboxRow)
            .where(OutboxRow.delivered_ms.is_(None))
            .order_by(OutboxRow.created_ms, OutboxRow.id)
        )
        with self._reading() as s:
            return [_item(r) for r in s.scalars(q)]

    def outbox_items(self, *, dedup_key: str | None = None) -> list[OutboxItem]:
        """Return every row (delivered or not; of one dedup key, or all), oldest first."""
        q = select(OutboxRow).order_by(OutboxRow.created_ms, OutboxRow.id)
        if dedup_key is not None:
            q = q.where(OutboxRow.dedup_key == dedup_key)
        with self._reading() as s:
            return [_item(r) for r in s.scalars(q)]
