"""Two processes on one ledger: concurrent writers (SQLite WAL and PostgreSQL), two processes
migrating a new database together, and a writer killed in the middle of a transaction."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)

from xsmom.ledger import head_revision, open_ledger

N = 60
T0 = 1_767_225_600_000

WRITER = textwrap.dedent(
    """
    import sys, time
    from pathlib import Path
    from xsmom.ledger import open_ledger

    url, name, n, go = sys.argv[1], sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    led = open_ledger(url)
    (go.parent / f"ready-{name}").touch()
    while not go.exists():
        time.sleep(0.005)
    base = 1_767_225_600_000 + (0 if name == "a" else 10_000_000)
    for i in range(n):
        ts = base + i
        with led.transaction() as tx:
            tx.record_order(client_id=f"{name}-{i}", symbol="BTC/USDT:USDT", side="buy",
                            type="market", qty=0.001, ts=ts, reason="load")
            tx.record_fill(symbol="BTC/USDT:USDT", trade_id=f"{name}-{i}", side="buy",
                           qty=0.001, price=50_000.0, fee=0.02, fee_currency="USDT", ts=ts,
                           client_id=f"{name}-{i}")
            # the same trade and the same alert seen by both processes: stored once
            tx.record_fill(symbol="ETH/USDT:USDT", trade_id=f"shared-{i}", side="sell",
                           qty=0.01, price=3000.0, fee=0.01, fee_currency="USDT", ts=ts)
            tx.enqueue_alert(dedup_key=f"shared-{i}", channels=["discord", "console"],
                             kind="fill", severity="info", payload={"by": name}, now_ms=ts)
            tx.record_equity(ts=ts, equity=1e4 + i, wallet=1e4, unrealized=float(i))
            tx.set_meta(f"last_{name}", i, ts)
        # a pause between transactions, as a real engine has: on SQLite a writer committing
        # back to back can starve the other's busy-timeout polling (that is not under test)
        time.sleep(0.003)
    led.close()
    print("done", name)
    """
)


def spawn(args: list[str]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ.copy(),
    )


def test_two_writer_processes_and_a_reader(ledger_url: str, tmp_path: Path) -> None:  # noqa: F811
    go = tmp_path / "go"
    procs = [spawn([WRITER, ledger_url, name, str(N), str(go)]) for name in ("a", "b")]
    with open_ledger(ledger_url) as led:
        while not all((tmp_path / f"ready-{n}").exists() for n in "ab"):
            assert all(p.poll() is None for p in procs), procs[0].communicate()
            time.sleep(0.01)
        go.touch()
        reads = 0
        while any(p.poll() is None for p in procs):
            led.open_orders()  # a monitor reading while both write never blocks or fails
            led.last_equity()
            reads += 1
        outs = [p.communicate(timeout=300) for p in procs]
        for p, (out, err) in zip(procs, outs, strict=True):
            assert p.returncode == 0, err
            assert out.startswith("done")
        assert reads > 0
        counts = led.row_counts()
        assert counts["orders"] == 2 * N and counts["order_transitions"] == 2 * N
        assert counts["fills"] == 3 * N  # N per process + N shared, recorded once
        assert counts["alert_outbox"] == 2 * N  # N keys x 2 channels, whoever came first
        assert counts["equity_snapshots"] == 2 * N
        assert led.get_meta("last_a") == led.get_meta("last_b") == N - 1
        writers = [o.client_id[0] for o in led.orders()]
        switches = sum(x != y for x, y in itertools.pairwise(writers))
        assert switches >= 4, f"the two writers did not overlap: {''.join(writers)}"
        fills = led.fills(symbol="BTC/USDT:USDT")
        assert all(f.order_id is not None and f.client_id == f.trade_id for f in fills)
    path = ledger_url.removeprefix("sqlite:///")
    if ledger_url.startswith("sqlite"):
        with sqlite3.connect(path) as con:
            assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []


OPENER = (
    "import sys; from xsmom.ledger import open_ledger; print(open_ledger(sys.argv[1]).revision())"
)


def test_two_processes_create_a_new_ledger_together(ledger_url: str) -> None:  # noqa: F811
    procs = [spawn([OPENER, ledger_url]) for _ in range(2)]
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        assert out.strip() == head_revision()
    with open_ledger(ledger_url) as led:
        assert led.revision() == head_revision()


KILLED = textwrap.dedent(
    """
    import os, signal, sys
    from xsmom.ledger import open_ledger

    led = open_ledger(sys.argv[1])
    for i in range(5):
        with led.transaction() as tx:
            tx.record_fill(symbol="BTC/USDT:USDT", trade_id=f"t{i}", side="buy", qty=1.0,
                           price=1.0, fee=0.0, fee_currency="USDT", ts=i)
    with led.transaction() as tx:
        tx.record_fill(symbol="BTC/USDT:USDT", trade_id="t-lost", side="buy", qty=1.0,
                       price=1.0, fee=0.0, fee_currency="USDT", ts=9)
        tx.enqueue_alert(dedup_key="lost", channels=["console"], kind="x", severity="info",
                         payload={}, now_ms=9)
        print("in transaction", flush=True)
        os.kill(os.getpid(), signal.SIGKILL)
    """
)


def test_kill_9_inside_a_transaction_loses_only_that_transaction(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    p = spawn([KILLED, url])
    out, err = p.communicate(timeout=120)
    assert p.returncode == -signal.SIGKILL, err
    assert out.strip() == "in transaction"
    start = time.monotonic()
    with open_ledger(url) as led:  # the write lock died with the process: no wait
        with led.transaction() as tx:
            tx.set_meta("after", True, 10)
        assert time.monotonic() - start < 5
        assert [f.trade_id for f in led.fills()] == [f"t{i}" for i in range(5)]
        assert led.pending() == []
    with sqlite3.connect(tmp_path / "ledger.sqlite") as con:
        assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)


def test_sqlite_settings(tmp_path: Path) -> None:
    led = open_ledger(f"sqlite:///{tmp_path / 'ledger.sqlite'}")
    try:
        with led._engines.write.connect() as conn:  # the pragmas of a pooled connection
            pragma = {
                k: conn.exec_driver_sql(f"PRAGMA {k}").scalar()
                for k in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
        # a write transaction takes the write lock with its first statement, even a read
        # (BEGIN IMMEDIATE: it never has to upgrade a read lock); a read transaction does not
        other = sqlite3.connect(tmp_path / "ledger.sqlite", timeout=0, isolation_level=None)
        with led.transaction() as tx:
            assert tx.order("c1") is None
            with pytest.raises(sqlite3.OperationalError, match="database is locked"):
                other.execute("BEGIN IMMEDIATE")
        with led.snapshot() as snap:
            snap.fills()
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        other.close()
    finally:
        led.close()
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 2,
        "busy_timeout": 30_000,
    }
