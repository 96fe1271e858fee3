"""A busy or unreachable ledger is a retryable LedgerUnavailableError on one line, without the
password, and nothing half-written."""

from __future__ import annotations

import socket
import sqlite3
import time
from pathlib import Path

import pytest

from xsmom.errors import LedgerUnavailableError
from xsmom.ledger import open_ledger


def test_a_write_lock_held_too_long_is_retryable(tmp_path: Path) -> None:
    path = tmp_path / "ledger.sqlite"
    led = open_ledger(f"sqlite:///{path}", busy_ms=300)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")  # another writer holds the lock
        start = time.monotonic()
        with pytest.raises(LedgerUnavailableError) as err, led.transaction() as tx:
            tx.set_meta("k", 1, 0)
        assert 0.25 < time.monotonic() - start < 5
        assert "database is locked" in str(err.value) and "\n" not in str(err.value)
        assert led.get_meta("k") is None  # readers are not blocked (WAL)
        other.execute("COMMIT")
        with led.transaction() as tx:  # the same call succeeds once the lock is gone
            tx.set_meta("k", 1, 0)
        assert led.get_meta("k") == 1
    finally:
        other.close()
        led.close()


def test_an_unreachable_postgresql_is_retryable_and_redacted() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once the socket is closed
    with pytest.raises(LedgerUnavailableError) as err:
        open_ledger(f"postgresql://bot:s3cret@127.0.0.1:{port}/ledger", busy_ms=2000)
    msg = str(err.value)
    assert "s3cret" not in msg and "bot:***@127.0.0.1" in msg
    assert "\n" not in msg and "cannot be migrated" in msg
