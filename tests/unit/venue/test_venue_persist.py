"""The venue's state file: every applied request is committed before its answer, a restart
(or a crash) keeps every answered order and id, and a damaged file fails loudly."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from xsmom.errors import CorruptStateError
from xsmom.venue.app import create_server
from xsmom.venue.auth import Credentials
from xsmom.venue.persist import StateSaver, StateStore
from xsmom.venue.server import VenueServer

CREDS = Credentials("k", "s")
BTC = "BTC/USDT:USDT"


def server(path: Path, **kw: object) -> VenueServer:
    args: dict[str, object] = {"start": "2025-09-01", "speed": 0.0, **kw}
    return create_server("sample", credentials=CREDS, state_file=path, **args)  # type: ignore[arg-type]


def crash(srv: VenueServer) -> None:
    """Drop the server like kill -9 would: no final commit, the file is left as it is."""
    srv.httpd.server_close()
    assert srv.state is not None
    srv.state._db.close()  # the process is gone: nothing more reaches the file
    srv.state = None


def test_state_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite"
    first = server(path)
    venue = first.venue
    with venue.lock:
        venue.engine.submit(symbol=BTC, side="buy", type="market", qty=0.01, ts=venue.now())
    venue.clock.advance(5 * 3_600_000)
    assert first.state is not None
    saver = StateSaver(venue, first.state, interval=60.0).start()
    saver.stop()  # commits once more on stop
    first.close_state()
    first.httpd.server_close()
    second = server(path, start="2024-01-01")
    try:
        assert second.venue.now() == venue.now()
        assert second.venue.engine.snapshot() == venue.engine.snapshot()
        assert second.venue.engine.position(BTC).qty == pytest.approx(0.01)
    finally:
        second.stop()


def test_each_commit_writes_only_what_changed_and_a_crash_keeps_it(tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite"
    first = server(path, client_id_rule="open")
    venue, store = first.venue, first.state
    assert store is not None
    with venue.lock:
        rest = venue.engine.submit(
            symbol=BTC,
            side="buy",
            type="limit",
            qty=0.01,
            price=1000.0,
            client_id="r",
            ts=venue.now(),
        )
        store.commit(venue)
        commits = store.commits
        store.commit(venue)  # nothing changed: no transaction
        assert store.commits == commits
        venue.engine.submit(symbol=BTC, side="buy", type="market", qty=0.02, ts=venue.now())
        venue.engine.cancel(symbol=BTC, order_id=rest.order_id, ts=venue.now())
        store.commit(venue)
    expected = venue.engine.snapshot()
    with venue.lock:  # applied in memory after the last commit: lost by the crash
        venue.engine.submit(symbol=BTC, side="sell", type="market", qty=0.01, ts=venue.now())
    crash(first)
    second = server(path)
    try:
        assert second.venue.engine.snapshot() == expected
        assert second.venue.engine.order(order_id=rest.order_id).status.value == "canceled"
        with second.venue.lock:
            nxt = second.venue.engine.submit(
                symbol=BTC, side="buy", type="market", qty=0.01, ts=second.venue.now()
            )
        assert nxt.order_id == 3  # the lost order's id was never answered; 1 and 2 stay theirs
    finally:
        second.stop()


def test_damaged_or_foreign_state_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "venue.sqlite"
    path.write_text('{"version": 1, "engine": {}}')  # the JSON file of older venues
    with pytest.raises(CorruptStateError, match="not a venue state database"):
        StateStore(path)
    path.unlink()
    srv = server(path)
    srv.stop()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'version'")
    with pytest.raises(CorruptStateError, match="version"):
        server(path)
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '2' WHERE key = 'version'")
        db.execute("UPDATE meta SET value = '{' WHERE key = 'head'")
    with pytest.raises(CorruptStateError, match="cannot read"):
        server(path)
    other = tmp_path / "other.sqlite"
    server(other).stop()
    with pytest.raises(CorruptStateError, match="other symbols"):
        server(other, symbols=[BTC])
