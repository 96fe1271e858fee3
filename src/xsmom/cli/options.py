"""Option parsing shared by command modules: dates, stores."""

from __future__ import annotations

from datetime import UTC, datetime

import click


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
