"""The rollout's ledger writes on SQLite and PostgreSQL: paper accounts, stages, the switch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from xsmom.config import config_from_dict
from xsmom.errors import CorruptStateError
from xsmom.ledger import default_url, open_ledger
from xsmom.notify import ConsoleChannel
from xsmom.rollout import active_version, check_invariant, ensure_active, paper_track, submit
from xsmom.rollout.stages import activate

T0 = 1_751_328_000_000


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def ledger_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Yield a fresh ledger URL: a SQLite file, or a new database on the test server."""
    if request.param == "sqlite":
        yield default_url(tmp_path)
        return
    server: str = request.getfixturevalue("pg_url")
    name = f"rollout_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server, autocommit=True) as con:
        con.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{server.rsplit('/', 1)[0]}/{name}"
    finally:
        with psycopg.connect(server, autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_rollout_rows_and_the_switch_on_every_backend(ledger_url: str) -> None:
    with open_ledger(ledger_url) as led:
        a = ensure_active(led, config_from_dict({"name": "a"}), now_ms=T0)
        b = submit(led, config_from_dict({"name": "b"}), source="t", now_ms=T0).version
        with led.transaction() as tx:
            tx.record_rollout_equity(b, ts=T0, equity=100.0, wallet=100.0, unrealized=0.0)
            tx.record_rollout_equity(b, ts=T0, equity=101.0, wallet=100.0, unrealized=1.0)
            fill = {"symbol": "BTC/USDT:USDT", "trade_id": "7", "side": "buy", "qty": 0.5}
            assert tx.record_rollout_fill(b, **fill, price=60_000.0, fee=1.5, ts=T0 + 1)
            assert not tx.record_rollout_fill(b, **fill, price=60_000.0, fee=1.5, ts=T0 + 1)
            # the same trade id in another version's paper account is another fill
            assert tx.record_rollout_fill(a, **fill, price=60_000.0, fee=1.5, ts=T0 + 1)
        track = paper_track(led, b, T0)
        assert track.equity == ((T0, 101.0),)  # a second point at one ts replaces the first
        assert [(f.qty, f.price, f.fee) for f in track.fills] == [(0.5, 60_000.0, 1.5)]
        with led.transaction() as tx:
            activate(tx, b, reason="promote", now_ms=T0 + 2, channels=[ConsoleChannel()])
        assert active_version(led) == b and led.rollout_stages()[a].stage == "retired"
        check_invariant(led)
        with pytest.raises(CorruptStateError), led.transaction() as tx:
            tx.set_rollout_stage(a, stage="full", ts=T0 + 3, reason="second full")
            check_invariant(tx)
        assert led.rollout_stages()[a].stage == "retired"
