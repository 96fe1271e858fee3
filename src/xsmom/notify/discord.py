"""The Discord webhook channel: one message per alert, embeds coloured by severity.

Discord's limits (checked by Discord, which answers 400 otherwise): content 2,000 characters;
10 embeds; 6,000 characters across the titles, descriptions, field names and values, footers
and author names of all embeds; title 256, description 4,096, 25 fields, field name 256 and
value 1,024, footer 2,048. :func:`discord_payload` fits any message into them: a long
description continues in further embeds, fields beyond 25 go to further embeds, and whatever
does not fit is cut with a visible ``… [N more characters cut]`` mark. One alert is always one
request, so a retry can never resend half of it.

The footer shows the alert's dedup key: Discord's webhook API has no idempotency key, so a
retry after a lost answer can post twice, and the key makes such a duplicate recognisable.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import httpx

from xsmom.notify.channel import HttpChannel, SendResult, post
from xsmom.notify.render import Field, Rendered, iso
from xsmom.notify.secrets import WebhookUrl

CONTENT = 2000
EMBEDS = 10
TOTAL = 6000
TITLE = 256
DESCRIPTION = 4096
FIELDS = 25
FIELD_NAME = 256
FIELD_VALUE = 1024
FOOTER = 2048
USERNAME = 80
_EMPTY = "\u200b"  # Discord refuses empty field names and values
_NOTE = 48  # room kept for the "N more field(s) not shown" note


def clip(text: str, limit: int) -> str:
    """Return ``text`` cut to ``limit`` characters with a visible mark saying how much was cut."""
    if len(text) <= limit:
        return text

    def mark(n: int) -> str:
        return f"… [{n} more characters cut]"

    n0 = len(text) - limit + len(mark(len(text)))
    keep = limit - len(mark(n0))
    if keep < 1:
        return text[: max(0, limit - 1)] + "…"
    return text[:keep] + mark(len(text) - keep)


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


@dataclass
class _Budget:
    left: int
    fields: list[dict[str, Any]] = field(default_factory=list)


def _fit_fields(fields: tuple[Field, ...], budget: _Budget, capacity: int) -> None:
    for i, f in enumerate(fields):
        last = i == len(fields) - 1
        name = clip(f.name, FIELD_NAME) or _EMPTY
        value = clip(f.value, FIELD_VALUE) or _EMPTY
        room = budget.left if last else budget.left - _NOTE
        slots = capacity if last else capacity - 1
        if len(name) + len(value) > room or len(budget.fields) >= slots:
            note = f"{len(fields) - i} more field(s) not shown"
            budget.fields.append({"name": "truncated", "value": note, "inline": False})
            budget.left -= len("truncated") + len(note)
            return
        budget.fields.append({"name": name, "value": value, "inline": f.inline})
        budget.left -= len(name) + len(value)


def discord_embeds(message: Rendered) -> list[dict[str, Any]]:
    """Return the embeds of ``message``, within Discord's limits."""
    footer = clip(f"{message.dedup_key} · {message.kind}", FOOTER)
    title = clip(message.title, TITLE)
    budget = _Budget(left=TOTAL - len(footer) - len(title) - _NOTE)
    description = clip(message.description, max(budget.left, 0))
    budget.left -= len(description)
    parts = _chunks(description, DESCRIPTION)
    capacity = FIELDS * (EMBEDS - len(parts) + 1)
    budget.left += _NOTE
    _fit_fields(message.fields, budget, capacity)
    embeds: list[dict[str, Any]] = []
    for i, part in enumerate(parts):
        embed: dict[str, Any] = {"color": message.colour}
        if i == 0:
            embed.update(title=title, timestamp=iso(message.ts_event), footer={"text": footer})
        if part:
            embed["description"] = part
        embeds.append(embed)
    pending = budget.fields
    if pending:
        embeds[-1]["fields"] = pending[:FIELDS]
    for start in range(FIELDS, len(pending), FIELDS):
        embeds.append({"color": message.colour, "fields": pending[start : start + FIELDS]})
    if message.image is not None:
        embeds[0]["image"] = {"url": f"attachment://{message.image}"}
    return embeds


def discord_payload(message: Rendered, username: str = "xsmom") -> dict[str, Any]:
    """Return the JSON body of an Execute Webhook request for ``message``."""
    payload: dict[str, Any] = {
        "username": username[:USERNAME],
        "embeds": discord_embeds(message),
        # alert text may quote anything (a reason, a symbol): never ping anyone
        "allowed_mentions": {"parse": []},
    }
    if message.severity != "info":
        payload["content"] = clip(f"**{message.severity.upper()}** {message.title}", CONTENT)
    if message.attachments:
        payload["attachments"] = [
            {"id": i, "filename": a.filename} for i, a in enumerate(message.attachments)
        ]
    return payload


class DiscordChannel(HttpChannel):
    """Post rendered messages to a Discord webhook (``?wait=true``: an unsaved post fails)."""

    def __init__(
        self,
        url: WebhookUrl,
        *,
        name: str = "discord",
        username: str = "xsmom",
        min_severity: str = "info",
        timeout_s: float = 10.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            url, name=name, min_severity=min_severity, timeout_s=timeout_s, transport=transport
        )
        self._username = username

    def send(self, message: Rendered) -> SendResult:
        """Post ``message`` (multipart when it has attachments); never raise."""
        payload = discord_payload(message, self._username)
        params = {"wait": "true"}
        if not message.attachments:
            return post(self._client, self._url, json=payload, params=params)
        files = [
            (f"files[{i}]", (a.filename, a.data, a.content_type))
            for i, a in enumerate(message.attachments)
        ]
        data = {"payload_json": json.dumps(payload)}
        return post(self._client, self._url, data=data, files=files, params=params)
