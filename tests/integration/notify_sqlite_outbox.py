"""A durable outbox on stdlib sqlite3, a stand-in for the ledger's until that lands.

It exists to test what needs durability (a kill -9 mid-outage) and to check that
``OutboxContract`` holds for a second, SQL implementation.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from xsmom.notify.outbox_types import OutboxItem

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    dedup_key TEXT NOT NULL, channel TEXT NOT NULL, kind TEXT NOT NULL, severity TEXT NOT NULL,
    payload TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms INTEGER NOT NULL, delivered_ms INTEGER, last_error TEXT,
    UNIQUE (dedup_key, channel)
)
"""
_COLS = (
    "id, dedup_key, channel, kind, severity, payload, created_ms, attempts, next_attempt_ms, "
    "delivered_ms, last_error"
)


def _item(row: tuple[Any, ...]) -> OutboxItem:
    return OutboxItem(
        id=row[0],
        dedup_key=row[1],
        channel=row[2],
        kind=row[3],
        severity=row[4],
        payload=json.loads(row[5]),
        created_ms=row[6],
        attempts=row[7],
        next_attempt_ms=row[8],
        delivered_ms=row[9],
        last_error=row[10],
    )


class SqliteOutbox:
    """The Outbox protocol on one SQLite file (WAL), safe across threads and processes."""

    def __init__(self, path: Path | str) -> None:
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._db.execute(_SCHEMA)
        self._lock = threading.Lock()

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
        doc = json.dumps(dict(payload))
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            added = 0
            for ch in channels:
                cur = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (dedup_key, channel, kind, severity, payload, "
                    "created_ms, next_attempt_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (dedup_key, ch, kind, severity, doc, now_ms, now_ms),
                )
                added += cur.rowcount
            self._db.execute("COMMIT")
        return added

    def due(self, channel: str, now_ms: int, limit: int = 50) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLS} FROM outbox WHERE channel = ? AND delivered_ms IS NULL "
                "AND next_attempt_ms <= ? ORDER BY created_ms, id LIMIT ?",
                (channel, now_ms, limit),
            ).fetchall()
        return [_item(r) for r in rows]

    def mark_delivered(self, item_id: int, now_ms: int) -> None:
        with self._lock:
            self._db.execute("UPDATE outbox SET delivered_ms = ? WHERE id = ?", (now_ms, item_id))

    def mark_failed(self, item_id: int, error: str, next_attempt_ms: int) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE outbox SET attempts = attempts + 1, last_error = ?, next_attempt_ms = ? "
                "WHERE id = ?",
                (error, next_attempt_ms, item_id),
            )

    def pending(self) -> list[OutboxItem]:
        with self._lock:
            rows = self._db.execute(
                f"SELECT {_COLS} FROM outbox WHERE delivered_ms IS NULL ORDER BY created_ms, id"
            ).fetchall()
        return [_item(r) for r in rows]

    def keys(self) -> set[str]:
        """Return every dedup key ever enqueued (for tests)."""
        with self._lock:
            return {r[0] for r in self._db.execute("SELECT DISTINCT dedup_key FROM outbox")}

    def close(self) -> None:
        self._db.close()
