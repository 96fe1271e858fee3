"""Webhook URLs are secrets: loaded from the environment or a 0600 file, never shown.

A Discord webhook URL carries its token (``/api/webhooks/<id>/<token>``): whoever has it can
post to the channel. :class:`WebhookUrl` keeps it out of reprs and ``str``; :meth:`redact`
scrubs it (and its token) from any text, such as an httpx error, before that text reaches a log,
an error or the outbox's ``last_error``. A channel built on a URL registers its parts with
:mod:`xsmom.redaction` (:func:`guard_library_logs`), the one masking mechanism of the process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import urlsplit

from xsmom import redaction
from xsmom.errors import ConfigError
from xsmom.secretfile import check_private

REDACTED = redaction.MASK
DISCORD_ENV = "XSMOM_DISCORD_WEBHOOK_URL"
WEBHOOK_ENV = "XSMOM_NOTIFY_WEBHOOK_URL"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_MIN_SECRET_PART = 8  # path segments this long with a digit, or twice as long, are ids/tokens
# httpx logs every request's full URL at INFO ("HTTP Request: POST https://...")
_LIBRARY_LOGGERS = ("httpx",)


def _secret_part(segment: str) -> bool:
    if len(segment) >= 2 * _MIN_SECRET_PART:
        return True
    return len(segment) >= _MIN_SECRET_PART and any(c.isdigit() for c in segment)


class WebhookUrl:
    """A secret URL; its repr and str show nothing of it."""

    __slots__ = ("_parts", "_url")

    def __init__(self, url: str, *, what: str = "webhook URL") -> None:
        url = url.strip()
        try:
            parts = urlsplit(url)
        except ValueError:
            raise ConfigError(f"{what} is not a valid URL") from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(f"{what} must be an https:// URL")
        if parts.scheme == "http" and parts.hostname not in _LOOPBACK:
            raise ConfigError(f"{what} must use https (plain http only on 127.0.0.1)")
        self._url = url
        pieces = {url, url.split("?", 1)[0], parts.path, parts.query, parts.netloc + parts.path}
        pieces |= {p for p in parts.path.split("/") if _secret_part(p)}
        self._parts = frozenset(p for p in pieces if len(p) > 1)

    def reveal(self) -> str:
        """Return the URL itself (for the HTTP client only)."""
        return self._url

    def redact(self, text: str) -> str:
        """Return ``text`` with the URL, each of its secret parts and every registered secret
        replaced by ``***``."""
        return redaction.redact(text, self._parts)

    def parts(self) -> frozenset[str]:
        """Return the secret substrings that :meth:`redact` replaces."""
        return self._parts

    def __repr__(self) -> str:
        return f"WebhookUrl({REDACTED})"

    __str__ = __repr__

    def __eq__(self, other: object) -> bool:
        return isinstance(other, WebhookUrl) and other._url == self._url

    def __hash__(self) -> int:
        return hash(self._url)


def read_url_file(path: Path | str, *, what: str = "webhook URL file") -> WebhookUrl:
    """Return the URL in a private file (first non-empty line); refuse a readable-by-others one."""
    path = Path(path)
    check_private(path, what)
    try:
        lines = [ln.strip() for ln in path.read_text(encoding="utf-8").splitlines()]
    except (OSError, UnicodeDecodeError):
        raise ConfigError(f"{what} {path} is not readable UTF-8 text") from None
    url = next((ln for ln in lines if ln and not ln.startswith("#")), "")
    if not url:
        raise ConfigError(f"{what} {path} holds no URL")
    return WebhookUrl(url, what=f"the URL in {path}")


def load_url(
    env_var: str, path: Path | str | None, env: Mapping[str, str] | None = None
) -> WebhookUrl | None:
    """Return the URL from ``path`` if given, else from ``env_var``; None when neither is set."""
    if path is not None:
        return read_url_file(path)
    env = os.environ if env is None else env
    value = env.get(env_var, "").strip()
    return WebhookUrl(value, what=env_var) if value else None


def guard_library_logs(url: WebhookUrl) -> None:
    """Mask ``url`` in every record and CLI error line of the process, and put the redacting
    filter on the HTTP libraries' loggers (which log each request's URL)."""
    redaction.register(*url.parts())
    redaction.guard_loggers(*_LIBRARY_LOGGERS)
