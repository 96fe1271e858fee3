"""Options shared by command modules: dates, output folders, the bot home and its ledger,
the progress flag."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import TypeVar

import click

from xsmom.errors import ConfigError

FC = TypeVar("FC", bound=Callable[..., object])
DATE_HELP = "UTC, YYYY-MM-DD[THH:MM]"
HOME_HELP = "Bot home folder (its ledger is HOME/ledger.sqlite)."
DB_HELP = "Ledger database URL instead of the home's file (sqlite:///FILE, postgresql://...)."


def home_option(f: FC) -> FC:
    """Add ``--home`` (default ./xsmom-home) to a command."""
    return click.option(
        "--home",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("xsmom-home"),
        show_default=True,
        help=HOME_HELP,
    )(f)


def ledger_options(f: FC) -> FC:
    """Add ``--home`` and ``--db`` (the ledger of a bot home, or a database URL)."""
    return home_option(click.option("--db", help=DB_HELP)(f))


def parse_date_ms(value: str | None, name: str) -> int | None:
    """Parse ``YYYY-MM-DD`` or an ISO datetime (UTC unless an offset is given) into epoch ms."""
    if value is None:
        return None
    try:
        dt = datetime.fromisoformat(value)
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r} is not a date like 2025-06-01", param_hint=name
        ) from exc
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp() * 1000)


def format_ms(ts: int) -> str:
    """Format epoch ms as ``YYYY-MM-DD HH:MM`` UTC."""
    return datetime.fromtimestamp(ts / 1000, tz=UTC).strftime("%Y-%m-%d %H:%M")


def check_out_dir(out: Path, *, force: bool, keep: tuple[str, ...] = ()) -> None:
    """Refuse ``--out`` before any work: a file, a folder that cannot be written, or a folder
    with files in it unless ``force`` (or it holds one of ``keep``, e.g. a study to resume)."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    probe = out
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():  # a file on the way: mkdir fails even for root
        raise ConfigError(f"--out {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK | os.X_OK):
        raise ConfigError(f"--out {out}: {probe} is not writable")
    if not out.is_dir() or force:
        return
    names = sorted(p.name for p in out.iterdir())
    if names and not any(k in names for k in keep):
        shown = ", ".join(names[:4]) + (", ..." if len(names) > 4 else "")
        raise ConfigError(
            f"--out {out} already holds files ({shown}); pass --force to overwrite them"
        )


def progress_option(default: bool = True) -> Callable[[FC], FC]:
    """Return the ``--progress/--no-progress`` option every long command takes."""
    return click.option(
        "--progress/--no-progress",
        default=default,
        show_default=True,
        help="Progress bar on stderr.",
    )
