"""A minimal notifier interface for the optimization cycle (a notify package comes later)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Protocol

import click


class Notifier(Protocol):
    """Something that delivers a short message to a human."""

    def send(self, title: str, lines: Sequence[str]) -> None:
        """Deliver ``title`` and ``lines``."""


class ConsoleNotifier:
    """Print messages (to stdout by default)."""

    def __init__(self, echo: Callable[[str], None] = click.echo) -> None:
        self._echo = echo

    def send(self, title: str, lines: Sequence[str]) -> None:
        """Print the title and each line, indented."""
        self._echo(f"[notify] {title}")
        for line in lines:
            self._echo(f"  {line}")


class MemoryNotifier:
    """Keep messages in a list (for tests and dry runs)."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str]]] = []

    def send(self, title: str, lines: Sequence[str]) -> None:
        """Record the message."""
        self.messages.append((title, list(lines)))
