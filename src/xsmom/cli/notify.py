"""``xsmom notify``: check the notification channels."""

from __future__ import annotations

from pathlib import Path

import click

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
