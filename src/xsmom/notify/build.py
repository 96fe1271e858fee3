"""Channels, backoff and worker from the ``notify`` config section and the environment."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from pathlib import Path

import httpx

from xsmom.config.notify import NotifyConfig
from xsmom.errors import ConfigError
from xsmom.notify.channel import Channel
from xsmom.notify.delivery import Backoff, OutboxWorker, wall_ms
from xsmom.notify.discord import DiscordChannel
from xsmom.notify.outbox_types import Outbox
from xsmom.notify.secrets import DISCORD_ENV, WEBHOOK_ENV, WebhookUrl, load_url
from xsmom.notify.webhook import ConsoleChannel, JsonWebhookChannel, stderr_echo


def _url(env_var: str, url_file: str | None, env: Mapping[str, str], section: str) -> WebhookUrl:
    path = Path(url_file).expanduser() if url_file is not None else None
    url = load_url(env_var, path, env)
    if url is None:
        raise ConfigError(
            f"notify.{section}.enabled is true but no URL: set {env_var} "
            f"or notify.{section}.url_file"
        )
    return url


def build_channels(
    cfg: NotifyConfig,
    *,
    env: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
    echo: Callable[[str], None] | None = None,
) -> list[Channel]:
    """Return the enabled channels; ConfigError if an enabled webhook has no URL."""
    env = os.environ if env is None else env
    timeout = cfg.delivery.timeout_s
    channels: list[Channel] = []
    if cfg.discord.enabled:
        url = _url(DISCORD_ENV, cfg.discord.url_file, env, "discord")
        channels.append(
            DiscordChannel(
                url,
                username=cfg.discord.username,
                min_severity=cfg.discord.min_severity,
                timeout_s=timeout,
                transport=transport,
            )
        )
    if cfg.webhook.enabled:
        url = _url(WEBHOOK_ENV, cfg.webhook.url_file, env, "webhook")
        channels.append(
            JsonWebhookChannel(
                url, min_severity=cfg.webhook.min_severity, timeout_s=timeout, transport=transport
            )
        )
    if cfg.console.enabled:
        console = ConsoleChannel(min_severity=cfg.console.min_severity, echo=echo or stderr_echo)
        channels.append(console)
    return channels


def backoff_from(cfg: NotifyConfig) -> Backoff:
    """Return the retry schedule of ``notify.delivery``."""
    d = cfg.delivery
    return Backoff(base_s=d.retry_base_s, max_s=d.retry_max_s, rate_limit_max_s=d.rate_limit_max_s)


def worker_from(
    cfg: NotifyConfig,
    outbox: Outbox,
    channels: list[Channel],
    *,
    clock: Callable[[], int] = wall_ms,
) -> OutboxWorker:
    """Return an (unstarted) outbox worker paced by ``notify.delivery``."""
    return OutboxWorker(
        outbox,
        channels,
        clock=clock,
        poll_s=cfg.delivery.poll_s,
        backoff=backoff_from(cfg),
        limit=cfg.delivery.batch,
    )
