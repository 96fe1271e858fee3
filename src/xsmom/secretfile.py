"""Secrets shared by every holder of one: private files and redaction in logs.

API keys (:mod:`xsmom.exchange.keys`) and webhook URLs (:mod:`xsmom.notify.secrets`) are read
from files that must be owned by the current user and unreadable to group and others
(:func:`check_private`). :class:`RedactingFilter` scrubs any :class:`Redactor`'s secrets from
log records.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path
from typing import Protocol

from xsmom.errors import ConfigError


class Redactor(Protocol):
    """Anything that can remove its secrets from a text."""

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret replaced by ``***``."""
        ...


def check_private(path: Path, what: str = "key file") -> None:
    """Raise ConfigError unless ``path`` is a regular file of ours, unreadable to others."""
    try:
        st = path.stat()
    except OSError as exc:
        raise ConfigError(f"cannot read {what} {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise ConfigError(f"{what} {path} is not a regular file")
    if st.st_mode & 0o077:
        raise ConfigError(
            f"{what} {path} has mode {stat.S_IMODE(st.st_mode):04o}; "
            f"refusing it: run `chmod 600 {path}`"
        )
    if hasattr(os, "getuid") and st.st_uid != os.getuid():
        raise ConfigError(f"{what} {path} is not owned by the current user")


class RedactingFilter(logging.Filter):
    """A logging filter that replaces secrets in every record's message with ``***``."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record's message without secrets; keep the record."""
        message = record.getMessage()
        clean = self._redactor.redact(message)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            record.exc_text = self._redactor.redact(text)
        return True
