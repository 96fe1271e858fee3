"""Ledger schema migrations on SQLite and PostgreSQL: empty -> head, models == migrations,
an old database keeps its data, a newer one is refused, downgrade and upgrade again."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)
from sqlalchemy import Column, Double, Integer, MetaData, inspect, text

from xsmom.errors import CorruptStateError
from xsmom.ledger import head_revision, open_ledger
from xsmom.ledger.db import alembic_config, make_engines, upgrade
from xsmom.ledger.models import Base

FIRST = "0001"
T0 = 1_767_225_600_000


def table_names(url: str) -> set[str]:
    engines = make_engines(url)
    try:
        return set(inspect(engines.read).get_table_names())
    finally:
        engines.dispose()


def test_empty_database_is_migrated_to_head_on_open(ledger_url: str) -> None:  # noqa: F811
    assert table_names(ledger_url) == set()
    with open_ledger(ledger_url) as led:
        assert led.revision() == head_revision() == "0005"
    assert table_names(ledger_url) == set(Base.metadata.tables) | {"alembic_version"}
    with open_ledger(ledger_url) as led:  # opening again is a no-op
        assert led.revision() == head_revision()


def test_models_and_migrations_do_not_drift(ledger_url: str) -> None:  # noqa: F811
    open_ledger(ledger_url).close()
    engines = make_engines(ledger_url)
    try:
        with engines.read.connect() as conn:
            ctx = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(ctx, Base.metadata)
            # the comparison sees a changed type and a new column (it is not blind)
            drifted = MetaData()
            for table in Base.metadata.tables.values():
                table.to_metadata(drifted)
            drifted.tables["orders"].c.qty.type = Integer()
            drifted.tables["fills"].append_column(Column("venue_fee", Double, nullable=True))
            seen = compare_metadata(ctx, drifted)
    finally:
        engines.dispose()
    assert diff == []
    kinds = sorted(d[0] if isinstance(d, tuple) else d[0][0] for d in seen)
    assert kinds == ["add_column", "modify_type"], seen


def test_a_database_at_the_first_revision_keeps_its_data(ledger_url: str) -> None:  # noqa: F811
    engines = make_engines(ledger_url)
    try:
        upgrade(engines, FIRST)
        with engines.write.begin() as conn:
            conn.execute(
                # an untyped literal: PostgreSQL casts it to json, SQLite stores the text
                text("""INSERT INTO config_versions VALUES ('v1', '{"k": 3}', :t, :t)"""),
                {"t": T0},
            )
            conn.execute(
                text(
                    "INSERT INTO orders (client_id, venue_order_id, symbol, side, type, qty, "
                    "price, stop_price, reduce_only, post_only, bar_ts, reason, attempt, "
                    "config_version, status, filled_qty, avg_price, created_ms, updated_ms) "
                    "VALUES ('c1', '9', 'BTC/USDT:USDT', 'buy', 'limit', 0.5, 50000.0, NULL, "
                    "false, true, :t, 'target', 0, 'v1', 'filled', 0.5, 50000.0, :t, :t)"
                ).bindparams(t=T0)
            )
            conn.execute(
                text(
                    "INSERT INTO fills (symbol, trade_id, order_id, venue_order_id, client_id, "
                    "side, qty, price, fee, fee_currency, realized_pnl, is_maker, liquidation, ts)"
                    " VALUES ('BTC/USDT:USDT', 't1', 1, '9', 'c1', 'buy', 0.5, 50000.0, 5.0, "
                    "'USDT', 0.0, true, false, :t)"
                ).bindparams(t=T0)
            )
            conn.execute(
                text("INSERT INTO equity_snapshots VALUES (:t, 1e4, 1e4, 0.0, NULL)"), {"t": T0}
            )
            assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == FIRST
        assert "alert_outbox" not in set(inspect(engines.read).get_table_names())
    finally:
        engines.dispose()

    with open_ledger(ledger_url) as led:  # upgrades 0001 -> head
        assert led.revision() == head_revision()
        o = led.order("c1")
        assert o is not None and (o.status, o.filled_qty, o.post_only) == ("filled", 0.5, True)
        (f,) = led.fills()
        assert (f.trade_id, f.order_id, f.fee, f.is_maker) == ("t1", o.id, 5.0, True)
        assert led.config_version("v1").config == {"k": 3}
        assert led.last_equity() is not None
        with led.transaction() as tx:  # the tables of later revisions work
            tx.save_guard_state("drawdown", {"halted": False}, T0)
            tx.enqueue_alert(
                dedup_key="k",
                channels=["console"],
                kind="x",
                severity="info",
                payload={},
                now_ms=T0,
            )
        assert led.guard_state("drawdown") is not None and len(led.pending()) == 1


def test_a_database_from_a_newer_xsmom_is_refused(ledger_url: str) -> None:  # noqa: F811
    open_ledger(ledger_url).close()
    engines = make_engines(ledger_url)
    try:
        with engines.write.begin() as conn:
            conn.execute(text("UPDATE alembic_version SET version_num = '0999'"))
    finally:
        engines.dispose()
    with pytest.raises(CorruptStateError) as err:
        open_ledger(ledger_url)
    msg = str(err.value)
    assert "schema revision 0999, newer than this xsmom knows (head 0005)" in msg
    assert "\n" not in msg and "secret" not in msg


def test_upgrade_false_requires_the_current_schema(ledger_url: str) -> None:  # noqa: F811
    engines = make_engines(ledger_url)
    try:
        upgrade(engines, FIRST)
    finally:
        engines.dispose()
    with pytest.raises(CorruptStateError, match="revision 0001, this xsmom needs 0005"):
        open_ledger(ledger_url, upgrade=False)
    open_ledger(ledger_url).close()
    open_ledger(ledger_url, upgrade=False).close()


def test_downgrade_to_base_and_upgrade_again(ledger_url: str) -> None:  # noqa: F811
    open_ledger(ledger_url).close()
    engines = make_engines(ledger_url)
    try:
        with engines.write.connect() as conn, conn.begin():
            command.downgrade(alembic_config(conn), "base")
    finally:
        engines.dispose()
    assert table_names(ledger_url) == {"alembic_version"}
    with open_ledger(ledger_url) as led:
        assert led.revision() == head_revision()


def test_cli_reports_a_newer_database_on_one_line(tmp_path: Path) -> None:
    home = tmp_path / "home"
    url = f"sqlite:///{home / 'ledger.sqlite'}"
    open_ledger(url).close()
    engines = make_engines(url)
    with engines.write.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = 'ffff'"))
    engines.dispose()
    res = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", "ledger", "info", "--home", str(home)],
        capture_output=True,
        text=True,
        env=os.environ.copy(),
        timeout=120,
    )
    assert res.returncode == 2
    assert res.stderr.count("\n") == 1
    assert (
        res.stderr.startswith("error: ledger sqlite:///") and "newer than this xsmom" in res.stderr
    )
