"""A kill -9 of the engine in the middle of a delivery loses no alert, and the only one sent
twice is the one the receiver saved but never answered (docs/notify.md: at least once, the
duplicate carries the same dedup key). The engine child writes through the real ledger (SQLite,
the home's default) and delivers with the real outbox worker to a webhook on 127.0.0.1.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)

from xsmom.ledger import Ledger, open_ledger
from xsmom.notify.fake_discord import FakeDiscord
from xsmom.notify.testing import OutboxContract

HERE = Path(__file__).resolve().parent


class TestLedgerOutbox(OutboxContract):
    """The notifiers' outbox contract holds for the ledger, on SQLite and PostgreSQL."""

    @pytest.fixture
    def outbox(self, ledger_url: str) -> Iterator[Ledger]:  # noqa: F811
        led = open_ledger(ledger_url)
        yield led
        led.close()


def _child(url: str, hook: str, mode: str, log: Path) -> subprocess.Popen[str]:
    # stderr to a file: a pipe nobody reads could fill up and stall the child's logging
    with log.open("a") as err:
        return subprocess.Popen(
            [sys.executable, str(HERE / "notify_engine_child.py"), url, hook, mode],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            env=dict(os.environ),
        )


def _wait_enqueued(proc: subprocess.Popen[str], more: int) -> None:
    assert proc.stdout is not None
    for _ in range(more):
        line = proc.stdout.readline()
        assert line.startswith("enqueued"), f"the engine child stopped: {line!r}"


def _kill_mid_delivery(fake: FakeDiscord, url: str, log: Path) -> str:
    """Run the engine: deliveries, an outage, then a send the receiver saves and never
    answers; kill -9 it there. Return the dedup key of that send."""
    proc = _child(url, fake.url, "run", log)
    try:
        _wait_enqueued(proc, 8)
        while len(fake.state.accepted) < 5:  # normal delivery first
            _wait_enqueued(proc, 1)
        with fake.state.lock:
            fake.state.down = True  # an outage: alerts pile up, retried with backoff
        _wait_enqueued(proc, 20)
        with fake.state.lock:
            fake.state.down = False
            fake.state.script.append(("hold", 60.0))  # the next send is saved, not answered
        while not fake.state.held.wait(0.05):
            _wait_enqueued(proc, 1)
        _wait_enqueued(proc, 3)  # the trading loop goes on while the worker waits
    finally:
        os.kill(proc.pid, signal.SIGKILL)
    assert proc.wait(timeout=30) == -signal.SIGKILL
    return fake.state.accepted[-1].dedup_key


def test_kill_9_mid_delivery_loses_nothing_and_repeats_only_the_unanswered_send(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'home' / 'ledger.sqlite'}"
    with FakeDiscord() as fake:
        log = tmp_path / "engine.log"
        held = _kill_mid_delivery(fake, url, log)
        with open_ledger(url) as led:
            rows = led.outbox_items()
            delivered = {i.dedup_key for i in rows if i.delivered_ms is not None}
            equity_points = led.row_counts()["equity_snapshots"]
        before = Counter(fake.state.dedup_keys())
        assert fake.state.rejected == [] and max(before.values()) == 1
        # one send in flight at a time: all it saw accepted is what the ledger marked
        # delivered, plus the held send, still pending in the ledger
        assert set(before) == delivered | {held} and held not in delivered
        assert len(delivered) >= 5 and len(rows) > len(before) + 10  # a backlog to drain
        fills = [i for i in rows if i.kind == "fills_summary"]
        assert len(fills) == equity_points  # an event and its alert commit together, or neither
        assert any(i.attempts > 0 and i.last_error for i in rows)  # the outage was retried

        fake.state.release.set()  # let the dead connection go
        again = _child(url, fake.url, "drain", log)  # the engine restarts; the webhook is up
        out, _ = again.communicate(timeout=120)
        assert again.returncode == 0, log.read_text()[-2000:]

        received = Counter(fake.state.dedup_keys())
        with open_ledger(url) as led:
            assert led.pending() == []
            keys = {i.dedup_key for i in led.outbox_items()}
        assert set(received) == keys  # nothing lost
        assert received[held] == 2  # at least once: the unanswered send went again
        assert {k for k, n in received.items() if n > 1} == {held}  # nothing else twice
        logs = out + log.read_text()
        assert "Traceback" not in logs
        assert fake.state.webhook_id not in logs and fake.state.token not in logs
