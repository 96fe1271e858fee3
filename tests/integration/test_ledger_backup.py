"""``xsmom ledger backup``: a consistent copy of a SQLite ledger, also while it is written."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from xsmom.cli.main import cli
from xsmom.errors import ConfigError
from xsmom.ledger import open_ledger


def test_backup_copies_committed_data_and_refuses_to_overwrite(tmp_path: Path) -> None:
    home = tmp_path / "home"
    led = open_ledger(f"sqlite:///{home / 'ledger.sqlite'}")
    try:
        with led.transaction() as tx:
            for i in range(20):
                tx.record_fill(
                    symbol="BTC/USDT:USDT",
                    trade_id=str(i),
                    side="buy",
                    qty=1.0,
                    price=1.0 + i,
                    fee=0.0,
                    fee_currency="USDT",
                    ts=i,
                )
        with led.transaction() as tx:  # an open write transaction: not in the backup
            tx.set_meta("uncommitted", True, 99)
            out = tmp_path / "b" / "ledger-copy.sqlite"
            res = CliRunner().invoke(
                cli, ["ledger", "backup", "--home", str(home), "--out", str(out)]
            )
            assert res.exit_code == 0, res.output
        res = CliRunner().invoke(cli, ["ledger", "backup", "--home", str(home), "--out", str(out)])
        assert isinstance(res.exception, ConfigError) and "exists" in str(res.exception)
    finally:
        led.close()
    with open_ledger(f"sqlite:///{out}") as copy:
        assert [f.price for f in copy.fills()] == [1.0 + i for i in range(20)]
        assert copy.get_meta("uncommitted") is None
    assert sorted(p.name for p in out.parent.iterdir()) == ["ledger-copy.sqlite"]


def test_backup_without_a_ledger_is_a_clear_error(tmp_path: Path) -> None:
    res = CliRunner().invoke(
        cli, ["ledger", "backup", "--home", str(tmp_path / "none"), "--out", str(tmp_path / "x")]
    )
    assert isinstance(res.exception, ConfigError)
    assert str(res.exception) == f"no ledger at {tmp_path / 'none' / 'ledger.sqlite'}: check --home"
