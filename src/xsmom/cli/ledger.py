"""``xsmom ledger``: export, inspect and back up a bot's ledger (see docs/ledger.md)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import click

from xsmom.cli.options import home_option, ledger_options
from xsmom.data.atomic import atomic_write
from xsmom.errors import ConfigError


@click.group()
def ledger() -> None:
    """Export, inspect and back up the ledger of a bot.

    \b
    Examples:
      xsmom ledger export --home xsmom-home --out exports/today
      xsmom ledger info --db postgresql://bot@db.local/xsmom
      xsmom ledger backup --home xsmom-home --out backups/ledger-2026-01-02.sqlite
    """


@ledger.command(short_help="Export the ledger to Parquet/CSV files for analysis.")
@ledger_options
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option("--force", is_flag=True, help="Write into an existing non-empty folder.")
def export(home: Path, db: str | None, out: Path, force: bool) -> None:
    """Write targets.parquet, orders.csv, fills.csv, funding.csv, equity.csv, events.csv
    and config_versions.json into --out.

    CSV timestamps are ISO 8601 UTC; targets.parquet keeps int64 ms bar open times.

    \b
    Examples:
      xsmom ledger export --home xsmom-home --out exports/2026-01-02
      xsmom ledger export --db postgresql://bot@db/xsmom --out exports/x --force
    """
    from xsmom.ledger import open_home_ledger
    from xsmom.ledger.export import check_out, export_ledger

    check_out(out, force)
    with open_home_ledger(home, db, must_exist=True) as led:
        counts = export_ledger(led, out, force=force)
    rows = ", ".join(f"{name} {n}" for name, n in counts.items())
    click.echo(f"wrote {out}/ ({rows} rows)")


@ledger.command()
@ledger_options
def info(home: Path, db: str | None) -> None:
    """Show the database, its schema revision and the rows of each table.

    \b
    Examples:
      xsmom ledger info --home xsmom-home
      xsmom ledger info --db postgresql://bot@db.local/xsmom
    """
    from xsmom.ledger import head_revision, open_home_ledger

    with open_home_ledger(home, db, must_exist=True) as led:
        click.echo(f"ledger:   {led.url}")
        click.echo(f"revision: {led.revision()} (this xsmom: {head_revision()})")
        for table, n in led.row_counts().items():
            click.echo(f"  {table:<20} {n:>10}")


@ledger.command(short_help="Copy a SQLite ledger safely while the engine runs.")
@home_option
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Backup file.")
@click.option("--force", is_flag=True, help="Replace an existing backup file.")
def backup(home: Path, out: Path, force: bool) -> None:
    """Copy the SQLite ledger consistently while the engine runs (SQLite online backup).

    \b
    Example:
      xsmom ledger backup --home xsmom-home --out backups/ledger-2026-01-02.sqlite
    """
    src = home / "ledger.sqlite"
    if not src.is_file():
        raise ConfigError(f"no ledger at {src}: check --home")
    if out.exists() and not force:
        raise ConfigError(f"--out {out} exists: choose another file or use --force")

    def write(tmp: Path) -> None:
        source, dest = sqlite3.connect(src, timeout=30), sqlite3.connect(tmp)
        try:
            source.backup(dest)
        finally:
            dest.close()
            source.close()

    atomic_write(out, write)
    click.echo(f"backed up {src} to {out}")
