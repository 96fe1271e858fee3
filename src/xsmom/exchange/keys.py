"""API keys from the environment or a 0600 JSON file; never shown in reprs, errors or logs.

Environment: ``XSMOM_<ID>_API_KEY``, ``XSMOM_<ID>_API_SECRET`` and optionally
``XSMOM_<ID>_API_PASSWORD`` where ``<ID>`` is the ccxt exchange id in upper case
(``XSMOM_BINANCEUSDM_API_KEY``). File: JSON ``{"api_key": ..., "api_secret": ...,
"api_password": ...}``, or such objects keyed by exchange id; it must be owned by the
current user and not readable by group or others (mode 0600 or 0400), or it is refused.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xsmom import redaction
from xsmom.errors import ConfigError
from xsmom.secretfile import check_private

REDACTED = "***"


@dataclass(frozen=True)
class ApiCredentials:
    """A key pair (and passphrase for venues that use one); its repr shows no secret."""

    api_key: str = field(repr=False)
    secret: str = field(repr=False)
    password: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if not self.api_key or not self.secret:
            raise ConfigError("API key and secret must both be non-empty")
        redaction.register(*self.secrets())  # masked in every log record from now on

    def __repr__(self) -> str:
        return f"ApiCredentials(api_key={REDACTED}, secret={REDACTED})"

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """Return every value that must never appear in output."""
        return tuple(s for s in (self.api_key, self.secret, self.password) if s)

    def redact(self, text: str) -> str:
        """Return ``text`` with every secret (and every registered one) replaced by ``***``."""
        return redaction.redact(text, self.secrets())

    def ccxt_config(self) -> dict[str, str]:
        """Return the ccxt constructor options holding the keys."""
        cfg = {"apiKey": self.api_key, "secret": self.secret}
        if self.password:
            cfg["password"] = self.password
        return cfg


def _env_prefix(exchange_id: str) -> str:
    return f"XSMOM_{exchange_id.upper()}_API_"


def from_env(exchange_id: str, env: Mapping[str, str] | None = None) -> ApiCredentials | None:
    """Return the keys in ``XSMOM_<ID>_API_KEY``/``_SECRET``, None when neither is set."""
    env = os.environ if env is None else env
    pre = _env_prefix(exchange_id)
    key, secret = env.get(pre + "KEY", ""), env.get(pre + "SECRET", "")
    if not key and not secret:
        return None
    if not key or not secret:
        raise ConfigError(f"set both {pre}KEY and {pre}SECRET (only one is set)")
    return ApiCredentials(key, secret, env.get(pre + "PASSWORD") or None)


def _pick(doc: Any, exchange_id: str, path: Path) -> Mapping[str, Any]:
    if isinstance(doc, dict) and isinstance(doc.get(exchange_id), dict):
        return doc[exchange_id]  # type: ignore[no-any-return]  # checked to be a dict above
    if isinstance(doc, dict) and "api_key" in doc:
        return doc
    raise ConfigError(f"key file {path} has no api_key/api_secret for {exchange_id!r}")


def from_file(path: Path | str, exchange_id: str) -> ApiCredentials:
    """Return the keys for ``exchange_id`` from a private JSON file."""
    path = Path(path)
    check_private(path)
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        # the parser's message may quote the file's content: say only where it is
        raise ConfigError(f"key file {path} is not valid UTF-8 JSON") from None
    entry = _pick(doc, exchange_id, path)
    key, secret = entry.get("api_key"), entry.get("api_secret")
    password = entry.get("api_password")
    if not isinstance(key, str) or not isinstance(secret, str):
        raise ConfigError(f"key file {path}: api_key and api_secret must be strings")
    return ApiCredentials(key, secret, password if isinstance(password, str) else None)


def load_credentials(
    exchange_id: str,
    *,
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
) -> ApiCredentials | None:
    """Return keys from ``path`` (or ``XSMOM_KEYS_FILE``) if given, else from the environment."""
    env = os.environ if env is None else env
    file = path if path is not None else env.get("XSMOM_KEYS_FILE") or None
    if file is not None:
        return from_file(file, exchange_id)
    return from_env(exchange_id, env)


class RedactingFilter(redaction.RedactingFilter):
    """A logging filter that masks ``credentials`` (and every registered secret) in records."""

    def __init__(self, credentials: ApiCredentials) -> None:
        super().__init__(credentials.secrets())
