"""`Home`: one bot's folder (ledger, market-data store, heartbeat, STOP file, logs).

Created with 0700 permissions (keys and the ledger live there or near). The emergency stop
file ``STOP`` holds one word: ``pause`` (or nothing) halts trading, ``flatten`` reduces every
position to zero; anything else is read as ``pause`` with a note saying why.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from xsmom.data.atomic import atomic_write_text
from xsmom.live.guards import StopMode, StopRequest

log = logging.getLogger(__name__)
PRIVATE = 0o700


class Home:
    """The paths of one bot's home folder."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path).expanduser().absolute()

    @property
    def ledger_path(self) -> Path:
        """Return the default SQLite ledger file."""
        return self.path / "ledger.sqlite"

    @property
    def ledger_url(self) -> str:
        """Return the default ledger URL (``sqlite:///HOME/ledger.sqlite``)."""
        return f"sqlite:///{self.ledger_path}"

    @property
    def store_dir(self) -> Path:
        """Return the Parquet market-data store of the bot."""
        return self.path / "store"

    @property
    def heartbeat_path(self) -> Path:
        """Return the heartbeat file."""
        return self.path / "heartbeat.json"

    @property
    def stop_path(self) -> Path:
        """Return the emergency stop file."""
        return self.path / "STOP"

    @property
    def logs_dir(self) -> Path:
        """Return the logs folder."""
        return self.path / "logs"

    def create(self) -> Home:
        """Create the folders with 0700 permissions (tightening looser existing ones)."""
        for d in (self.path, self.store_dir, self.logs_dir):
            d.mkdir(mode=PRIVATE, parents=True, exist_ok=True)
            mode = stat.S_IMODE(d.stat().st_mode)
            if mode != PRIVATE:
                log.warning("home folder %s had mode %o: set to 700", d, mode)
                os.chmod(d, PRIVATE)
        return self

    def read_stop(self) -> StopRequest | None:
        """Return the STOP file's request, or None when there is no STOP file."""
        try:
            text = self.stop_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError) as exc:
            return StopRequest(mode=StopMode.PAUSE, note=f"STOP file unreadable ({exc}): pause")
        return parse_stop(text)

    def write_stop(self, mode: StopMode = StopMode.PAUSE) -> None:
        """Write the STOP file atomically (``xsmom stop``)."""
        atomic_write_text(self.stop_path, f"{mode.value}\n")

    def clear_stop(self) -> bool:
        """Remove the STOP file (``xsmom resume``); return True if there was one."""
        try:
            self.stop_path.unlink()
        except FileNotFoundError:
            return False
        return True


def parse_stop(text: str) -> StopRequest:
    """Return the request of a STOP file's text (first word; empty means pause)."""
    words = text.split()
    word = words[0].lower() if words else StopMode.PAUSE.value
    try:
        return StopRequest(mode=StopMode(word))
    except ValueError:
        shown = word[:40]
        return StopRequest(mode=StopMode.PAUSE, note=f"unknown STOP content {shown!r}: pause")
