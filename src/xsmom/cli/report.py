"""``xsmom report``: reports built from a bot's ledger (see docs/reports.md)."""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import click

from xsmom.cli.options import ledger_options
from xsmom.errors import ConfigError

if TYPE_CHECKING:
    from xsmom.ledger import Ledger
    from xsmom.reports import DailyReport


@click.group()
def report() -> None:
    """Reports built from a bot's ledger.

    \b
    Examples:
      xsmom report daily --home xsmom-home                      # yesterday (UTC)
      xsmom report daily --home xsmom-home --date 2026-01-02 --out day.html
      xsmom report daily --home xsmom-home --notify --config my.yaml
    """


def check_out_file(out: Path, force: bool) -> None:
    """Refuse an output path that is a folder, an existing file without ``force``, or not
    writable; called before any work."""
    if out.is_dir():
        raise ConfigError(f"--out {out} is a folder; give a file name such as {out}/day.html")
    if out.exists() and not force:
        raise ConfigError(f"--out {out} exists; pass --force to replace it")
    parent = out.parent if str(out.parent) else Path(".")
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():  # a file on the way: no folder can be made under it
        raise ConfigError(f"--out {out}: {probe} is a file, not a folder")
    if not os.access(probe, os.W_OK):
        raise ConfigError(f"--out {out}: cannot write into {probe}")


def _parse_day(value: str | None) -> date:
    if value is None:
        return datetime.now(UTC).date() - timedelta(days=1)
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(
            f"{value!r} is not a date like 2026-01-02", param_hint="--date"
        ) from None


@report.command("daily")
@ledger_options
@click.option("--date", "day_s", help="UTC day, YYYY-MM-DD (default: yesterday, UTC).")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="HTML file to write (default: HOME/reports/daily-YYYY-MM-DD.html).",
)
@click.option("--force", is_flag=True, help="Replace an existing --out file.")
@click.option("--notify", is_flag=True, help="Also enqueue the report for the notify channels.")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Config whose notify: section names the channels (with --notify).",
)
def daily(
    home: Path,
    db: str | None,
    day_s: str | None,
    out: Path | None,
    force: bool,
    notify: bool,
    config_path: Path | None,
) -> None:
    """Report one UTC day of the ledger: PnL, return, Sharpe to date, drawdown, fees,
    funding, turnover, per-symbol attribution and equity charts, as an HTML file (opens
    offline); with --notify also as a Discord embed with the equity chart, through the
    ledger's outbox (delivered by the engine's worker or `xsmom notify`).

    \b
    Examples:
      xsmom report daily --home xsmom-home --date 2026-01-02
      xsmom report daily --db postgresql://bot@db/xsmom --date 2026-01-02 --out d.html
    """
    from xsmom.data.atomic import atomic_write_text
    from xsmom.ledger import open_home_ledger
    from xsmom.reports import compute_daily, render_daily_html
    from xsmom.reports.daily_publish import summary_rows

    day = _parse_day(day_s)
    target = out if out is not None else home / "reports" / f"daily-{day.isoformat()}.html"
    check_out_file(target, force)
    with open_home_ledger(home, db, must_exist=True) as ledger:
        r = compute_daily(ledger, day)
        atomic_write_text(target, render_daily_html(r))
        if notify:
            _enqueue(ledger, r, config_path)
    for name, value in summary_rows(r):
        click.echo(f"{name:>44}: {value}")
    for note in r.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"wrote {target}")


def _enqueue(ledger: Ledger, r: DailyReport, config_path: Path | None) -> None:
    from xsmom.config import load_config
    from xsmom.notify import build_channels, enqueue
    from xsmom.notify.delivery import wall_ms
    from xsmom.reports import daily_message

    channels = build_channels(load_config(config_path).notify)
    if not channels:
        raise ConfigError("--notify: no notification channel is enabled in notify:")
    now = wall_ms()
    added = enqueue(ledger, daily_message(r, now), channels, now)
    click.echo(f"enqueued for {added} channel(s) (already there: {len(channels) - added})")
