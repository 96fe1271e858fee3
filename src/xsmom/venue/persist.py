"""Keep the venue's account across restarts: engine snapshot and replay time in one JSON file.

Written atomically (temp file, fsync, rename) every ``interval`` seconds while serving and once
more on shutdown; read at start, where the saved venue time replaces ``--start``.
"""

from __future__ import annotations

import json
import logging
import threading
from pathlib import Path
from typing import Any

from xsmom.data.atomic import atomic_write_text
from xsmom.errors import CorruptStateError
from xsmom.venue.matching import MatchingEngine
from xsmom.venue.service import Venue

log = logging.getLogger(__name__)
VERSION = 1


def save_state(venue: Venue, path: Path) -> None:
    """Write the venue's engine and time to ``path`` atomically."""
    with venue.lock:
        data = {"version": VERSION, "venue_time": venue.sync(), "engine": venue.engine.snapshot()}
    atomic_write_text(path, json.dumps(data, separators=(",", ":")))


def load_state(path: Path) -> tuple[int, MatchingEngine]:
    """Return (venue time, engine) saved in ``path``; CorruptStateError if unreadable."""
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != VERSION:
            raise CorruptStateError(f"{path}: unknown venue state version {data.get('version')!r}")
        return int(data["venue_time"]), MatchingEngine.restore(data["engine"])
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise CorruptStateError(f"{path}: cannot read the venue state ({exc})") from exc


class StateSaver:
    """Save the venue every ``interval`` seconds in a thread, and once more on ``stop()``."""

    def __init__(self, venue: Venue, path: Path, interval: float = 10.0) -> None:
        self.venue = venue
        self.path = path
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> StateSaver:
        """Start the periodic saves."""
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                save_state(self.venue, self.path)
            except OSError:
                log.exception("venue: saving state to %s failed; will retry", self.path)

    def stop(self) -> None:
        """Stop the thread and save one last time."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=self.interval + 5)
        save_state(self.venue, self.path)
