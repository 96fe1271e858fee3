"""The heartbeat file: written atomically after every cycle, read by ``xsmom health``.

JSON with ``ts`` (exchange clock, ms), ``wall_ms`` (host clock when written; the age is
measured on it, so an accelerated venue clock does not fake freshness), ``pid``,
``last_bar`` (open time of the last closed bar processed, ms and ISO 8601 UTC), ``state``
and ``cycles``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from xsmom.data.atomic import atomic_write_text
from xsmom.errors import CorruptStateError


def iso_utc(ms: int | None) -> str | None:
    """Return ``ms`` as ISO 8601 UTC (``2025-06-01T00:00:00Z``), None for None."""
    if ms is None:
        return None
    return datetime.fromtimestamp(ms / 1000, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True, kw_only=True)
class Heartbeat:
    """One heartbeat."""

    ts: int
    wall_ms: int
    pid: int
    last_bar: int | None
    state: str
    cycles: int

    def age_s(self, now_wall_ms: int) -> float:
        """Return seconds since the heartbeat was written, on the host clock."""
        return (now_wall_ms - self.wall_ms) / 1000.0

    def to_json(self) -> str:
        """Return the file's JSON text."""
        doc: dict[str, Any] = {**asdict(self), "last_bar_iso": iso_utc(self.last_bar)}
        return json.dumps(doc, sort_keys=True) + "\n"


def write_heartbeat(path: Path, beat: Heartbeat) -> None:
    """Write ``beat`` to ``path`` atomically (temp file, rename), without fsync.

    A process crash leaves the old or the new heartbeat, whole. The fsyncs (about half of a
    cycle's file work) are skipped: after a power loss the file may be old or empty, which
    ``xsmom health`` reports as stale or unreadable until the restarted engine's first beat.
    """
    atomic_write_text(path, beat.to_json(), durable=False)


def read_heartbeat(path: Path) -> Heartbeat | None:
    """Return the heartbeat at ``path``, None if there is none; CorruptStateError if bad."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CorruptStateError(f"heartbeat {path} unreadable: {exc}") from exc
    try:
        bar = doc["last_bar"]
        return Heartbeat(
            ts=int(doc["ts"]),
            wall_ms=int(doc["wall_ms"]),
            pid=int(doc["pid"]),
            last_bar=None if bar is None else int(bar),
            state=str(doc["state"]),
            cycles=int(doc["cycles"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise CorruptStateError(f"heartbeat {path} lacks a field: {exc}") from exc
