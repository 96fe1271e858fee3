"""A generic JSON webhook (Slack-compatible) and the console channel.

The webhook posts ``{"text": ..., "xsmom": {...}}``: Slack and most chat tools show ``text``;
the ``xsmom`` object carries the same alert as structured fields for any other receiver.
Attachments are not uploaded over this channel; the text names them.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import httpx

from xsmom.notify.channel import HttpChannel, SendResult, post
from xsmom.notify.render import Rendered, iso
from xsmom.notify.secrets import WebhookUrl


def webhook_payload(message: Rendered) -> dict[str, Any]:
    """Return the JSON body for ``message``: Slack's ``text`` plus structured fields."""
    text = message.text()
    if message.attachments:
        names = ", ".join(a.filename for a in message.attachments)
        text += f"\n(attachment {names} is sent on Discord only)"
    return {
        "text": text,
        "xsmom": {
            "kind": message.kind,
            "severity": message.severity,
            "dedup_key": message.dedup_key,
            "ts_event": message.ts_event,
            "time": iso(message.ts_event),
            "title": message.title,
            "description": message.description,
            "fields": [{"name": f.name, "value": f.value} for f in message.fields],
        },
    }


class JsonWebhookChannel(HttpChannel):
    """POST each message as JSON to a webhook URL."""

    def __init__(
        self,
        url: WebhookUrl,
        *,
        name: str = "webhook",
        min_severity: str = "warning",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            url, name=name, min_severity=min_severity, timeout_s=timeout_s, transport=transport
        )

    def send(self, message: Rendered) -> SendResult:
        """Post ``message``; never raise."""
        return post(self._client, self._url, json=webhook_payload(message))


def stderr_echo(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


class ConsoleChannel:
    """Write each message as a few lines of text (to stderr unless ``echo`` is given)."""

    def __init__(
        self,
        *,
        name: str = "console",
        min_severity: str = "info",
        echo: Callable[[str], None] = stderr_echo,
    ) -> None:
        self.name = name
        self.min_severity = min_severity
        self._echo = echo

    def send(self, message: Rendered) -> SendResult:
        """Write ``message``; an OSError (closed stream) is a retry."""
        try:
            self._echo(f"[notify] {message.text()}")
        except OSError as exc:
            return SendResult(outcome="retry", detail=f"{type(exc).__name__}: {exc}")
        return SendResult(outcome="ok")

    def redact(self, text: str) -> str:
        """Return ``text`` unchanged (the console holds no secret)."""
        return text

    def close(self) -> None:
        """Nothing to release."""
