"""The venue's state file: round trip through a restart, and loud failure when damaged."""

from __future__ import annotations

import pytest

from xsmom.errors import CorruptStateError
from xsmom.venue.app import create_server
from xsmom.venue.auth import Credentials
from xsmom.venue.persist import StateSaver, load_state, save_state

CREDS = Credentials("k", "s")
BTC = "BTC/USDT:USDT"


def test_state_survives_a_restart(tmp_path):
    path = tmp_path / "venue.json"
    first = create_server("sample", credentials=CREDS, start="2025-09-01", speed=0.0)
    venue = first.venue
    venue.engine.submit(symbol=BTC, side="buy", type="market", qty=0.01, ts=venue.now())
    venue.clock.advance(5 * 3_600_000)
    saver = StateSaver(venue, path, interval=60.0).start()
    saver.stop()  # saves once more on stop
    first.httpd.server_close()
    second = create_server(
        "sample", credentials=CREDS, start="2024-01-01", speed=0.0, state_file=path
    )
    try:
        assert second.venue.now() == venue.now()
        assert second.venue.engine.snapshot() == venue.engine.snapshot()
        assert second.venue.engine.position(BTC).qty == pytest.approx(0.01)
    finally:
        second.httpd.server_close()


def test_damaged_or_foreign_state_is_refused(tmp_path):
    path = tmp_path / "venue.json"
    path.write_text("{not json")
    with pytest.raises(CorruptStateError):
        load_state(path)
    path.write_text('{"version": 99}')
    with pytest.raises(CorruptStateError, match="version"):
        load_state(path)
    server = create_server("sample", credentials=CREDS, start="2025-09-01", speed=0.0)
    save_state(server.venue, path)
    server.httpd.server_close()
    with pytest.raises(CorruptStateError, match="other symbols"):
        create_server("sample", credentials=CREDS, symbols=[BTC], speed=0.0, state_file=path)
