"""Notifications: typed messages, channels (Discord, JSON webhook, console), outbox delivery.

- :mod:`~xsmom.notify.messages`: the catalogue of frozen, past-tense messages and their
  outbox payloads; :func:`render` turns one into a channel-neutral :class:`Rendered`.
- Channels: :class:`DiscordChannel`, :class:`JsonWebhookChannel`, :class:`ConsoleChannel`;
  :func:`build_channels` makes them from the ``notify`` config section.
- Delivery: :func:`enqueue` (inside the ledger transaction of the event), :func:`deliver_due`
  and the background :class:`OutboxWorker`; at least once, shown once by the dedup key.

``build_channels``, ``backoff_from`` and ``worker_from`` read the config, which loads pandas, so
they are imported on first use: the ledger imports ``outbox_types`` and must stay light.
"""

import importlib
from typing import Any

from xsmom.notify.channel import Channel, SendResult
from xsmom.notify.delivery import (
    PARKED_MS,
    AlertWriter,
    Backoff,
    ChannelGate,
    DeliveryReport,
    OutboxWorker,
    deliver_due,
    enqueue,
)
from xsmom.notify.discord import DiscordChannel, discord_payload
from xsmom.notify.messages import (
    CATALOGUE,
    Attachment,
    CircuitBreakerClosed,
    CircuitBreakerOpened,
    DailyReportCreated,
    EngineStarted,
    EngineStopped,
    FillsSummarized,
    GuardTransitioned,
    Message,
    NotificationTested,
    NoTradeAlerted,
    OptimizerFinished,
    ReconciliationRefused,
    ReconciliationRepaired,
    RolloutRestartFailed,
    RolloutTransitioned,
    StaleHeartbeatDetected,
    from_payload,
)
from xsmom.notify.outbox_types import Outbox, OutboxItem
from xsmom.notify.render import Rendered, render
from xsmom.notify.secrets import WebhookUrl
from xsmom.notify.webhook import ConsoleChannel, JsonWebhookChannel

__all__ = [
    "CATALOGUE",
    "PARKED_MS",
    "AlertWriter",
    "Attachment",
    "Backoff",
    "Channel",
    "ChannelGate",
    "CircuitBreakerClosed",
    "CircuitBreakerOpened",
    "ConsoleChannel",
    "DailyReportCreated",
    "DeliveryReport",
    "DiscordChannel",
    "EngineStarted",
    "EngineStopped",
    "FillsSummarized",
    "GuardTransitioned",
    "JsonWebhookChannel",
    "Message",
    "NoTradeAlerted",
    "NotificationTested",
    "OptimizerFinished",
    "Outbox",
    "OutboxItem",
    "OutboxWorker",
    "ReconciliationRefused",
    "ReconciliationRepaired",
    "Rendered",
    "RolloutRestartFailed",
    "RolloutTransitioned",
    "SendResult",
    "StaleHeartbeatDetected",
    "WebhookUrl",
    "backoff_from",
    "build_channels",
    "deliver_due",
    "discord_payload",
    "enqueue",
    "from_payload",
    "render",
    "worker_from",
]


_LAZY = {"backoff_from", "build_channels", "worker_from"}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module("xsmom.notify.build"), name)
    raise AttributeError(f"module 'xsmom.notify' has no attribute {name!r}")
