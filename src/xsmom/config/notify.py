"""The ``notify`` section: which channels get alerts, and how delivery retries.

Read by :func:`xsmom.notify.build_channels` and :class:`xsmom.notify.OutboxWorker`. Webhook
URLs are secrets and never live in the config: they come from the environment
(``XSMOM_DISCORD_WEBHOOK_URL``, ``XSMOM_NOTIFY_WEBHOOK_URL``) or from a file of mode 0600
named here.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, field_validator

from xsmom.config.optimize import STRICT

Severity = Literal["info", "warning", "critical"]


class _Section(BaseModel):
    model_config = STRICT


class DiscordNotifyConfig(_Section):
    """The Discord webhook channel (xsmom.notify.discord)."""

    enabled: bool = Field(False, description="Send alerts to a Discord webhook.")
    url_file: str | None = Field(
        None,
        description="File (mode 0600) holding the webhook URL; none = env "
        "XSMOM_DISCORD_WEBHOOK_URL.",
    )
    username: str = Field(
        "xsmom", min_length=1, max_length=80, description="Name the messages are posted as."
    )
    min_severity: Severity = Field("info", description="Send only alerts at least this severe.")

    @field_validator("username")
    @classmethod
    def _discord_accepts(cls, name: str) -> str:
        # Discord answers 400 to every post whose webhook name breaks its rules
        lowered = name.strip().lower()
        if "discord" in lowered or "clyde" in lowered or lowered in ("everyone", "here"):
            raise ValueError("Discord refuses names containing 'discord' or 'clyde'")
        return name


class WebhookNotifyConfig(_Section):
    """The generic JSON webhook channel, Slack-compatible (xsmom.notify.webhook)."""

    enabled: bool = Field(False, description="Send alerts to a JSON webhook.")
    url_file: str | None = Field(
        None,
        description="File (mode 0600) holding the webhook URL; none = env "
        "XSMOM_NOTIFY_WEBHOOK_URL.",
    )
    min_severity: Severity = Field("warning", description="Send only alerts at least this severe.")


class ConsoleNotifyConfig(_Section):
    """The console channel: alerts as text on stderr (xsmom.notify.webhook)."""

    enabled: bool = Field(True, description="Write alerts to stderr.")
    min_severity: Severity = Field("info", description="Write only alerts at least this severe.")


class DeliveryConfig(_Section):
    """Outbox delivery: timeouts, retries and the worker's pace (xsmom.notify.delivery)."""

    timeout_s: float = Field(10.0, gt=0, le=120, description="HTTP timeout of one send.")
    retry_base_s: float = Field(
        2.0,
        gt=0,
        le=3600,
        description="First retry after a 5xx or network error; doubles each time.",
    )
    retry_max_s: float = Field(
        300.0, gt=0, le=86400, description="Longest wait between two retries."
    )
    rate_limit_max_s: float = Field(
        900.0,
        gt=0,
        le=86400,
        description="Cap on a 429's retry_after (longer waits are cut to this).",
    )
    poll_s: float = Field(
        2.0, gt=0, le=3600, description="The worker looks for due alerts this often."
    )
    batch: int = Field(50, ge=1, le=1000, description="Most alerts sent per channel per pass.")


class NotifyConfig(_Section):
    """Notifications: channels and delivery (docs/notify.md)."""

    discord: DiscordNotifyConfig = DiscordNotifyConfig()
    webhook: WebhookNotifyConfig = WebhookNotifyConfig()
    console: ConsoleNotifyConfig = ConsoleNotifyConfig()
    delivery: DeliveryConfig = DeliveryConfig()
