"""``xsmom notify``: check the notification channels."""

from __future__ import annotations

from pathlib import Path

import click

from xsmom.cli.options import ledger_options
from xsmom.config import load_config
from xsmom.errors import ConfigError, NetworkError
from xsmom.notify import NotificationTested, build_channels, render
from xsmom.notify.delivery import wall_ms


@click.group()
def notify() -> None:
    """Notification channels (Discord, JSON webhook, console)."""


@notify.command("test")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file whose notify: section names the channels (default: built-in).",
)
def test_cmd(config_path: Path | None) -> None:
    """Send a test message to every enabled channel and say what happened on each.

    \b
    Example:
      XSMOM_DISCORD_WEBHOOK_URL=https://discord.com/api/webhooks/ID/TOKEN \\
        xsmom notify test --config my.yaml
    """
    cfg = load_config(config_path).notify
    channels = build_channels(cfg)
    if not channels:
        raise ConfigError("no notification channel is enabled in notify:")
    now = wall_ms()
    message = render(NotificationTested(ts_event=now, ts_init=now))
    failed = 0
    try:
        for channel in channels:
            result = channel.send(message)
            failed += not result.ok
            click.echo(f"{channel.name:<9} {channel.redact(result.describe())}")
    finally:
        for channel in channels:
            channel.close()
    if failed:
        raise NetworkError(f"{failed} of {len(channels)} channel(s) did not take the test message")


@notify.command("outbox")
@ledger_options
def outbox_cmd(home: Path, db: str | None) -> None:
    """List the alerts not yet delivered (per channel), oldest first, with their last error.

    \b
    Example:
      xsmom notify outbox --home bot
    """
    from xsmom.ledger import open_home_ledger
    from xsmom.live.heartbeat import iso_utc
    from xsmom.notify import PARKED_MS

    with open_home_ledger(home, db, must_exist=True) as ledger:
        items = ledger.pending()
    if not items:
        click.echo("outbox empty: every alert was delivered")
        return
    for it in items:
        when = "parked" if it.next_attempt_ms >= PARKED_MS else iso_utc(it.next_attempt_ms)
        err = f"  last error: {it.last_error}" if it.last_error else ""
        click.echo(
            f"{iso_utc(it.created_ms)} {it.channel:<8} {it.severity:<8} {it.dedup_key} "
            f"attempts {it.attempts}, next {when}{err}"
        )
    click.echo(f"{len(items)} pending")
