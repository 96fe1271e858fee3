"""A kill -9 of the engine during a webhook outage loses no alert and sends none twice.

The outbox here is a stdlib-sqlite3 stand-in (tests/integration/notify_sqlite_outbox.py) for
the ledger's; the same test applies to the ledger's outbox by swapping the class.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from notify_sqlite_outbox import SqliteOutbox

from xsmom.notify.fake_discord import FakeDiscord
from xsmom.notify.testing import OutboxContract

HERE = Path(__file__).resolve().parent


class TestSqliteOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self, tmp_path: Path) -> SqliteOutbox:
        return SqliteOutbox(tmp_path / "outbox.sqlite")


def _child(db: Path, url: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(HERE / "notify_engine_child.py"), str(db), url, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ),
    )


def test_kill_9_during_an_outage_changes_nothing(tmp_path: Path) -> None:
    db = tmp_path / "outbox.sqlite"
    with FakeDiscord() as fake:
        fake.state.down = True  # the webhook is down for the whole life of the first process
        proc = _child(db, fake.url, "run")
        assert proc.stdout is not None
        seen = 0
        while seen < 45:  # 45 simulated minutes into the outage
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else ""
            seen += line.startswith("enqueued")
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(timeout=30) == -signal.SIGKILL
        assert fake.state.accepted == [] and fake.state.requests > 0
        box = SqliteOutbox(db)
        enqueued = box.keys()
        pending = box.pending()
        assert len(enqueued) >= 45 + 4 and len(pending) == len(enqueued)
        assert all(i.attempts == 0 or i.last_error for i in pending)
        fake.state.down = False  # the webhook is back; the engine restarts
        again = _child(db, fake.url, "drain")
        out, err = again.communicate(timeout=120)
        assert again.returncode == 0, err
        received = Counter(fake.state.dedup_keys())
        assert set(received) == enqueued  # nothing lost
        assert max(received.values()) == 1  # nothing twice
        assert box.pending() == []
        assert fake.state.webhook_id not in out + err and fake.state.token not in out + err
        box.close()
