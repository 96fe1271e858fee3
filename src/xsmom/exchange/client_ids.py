"""Deterministic client order ids from (config version, bar timestamp, symbol, attempt).

The same intent always yields the same id, so a retry after a timeout can look the order up
and the venue itself rejects a duplicate. Layout (36 characters at most)::

    <prefix>-<bar seconds, base 36>-<16 hex of sha256(version, bar, symbol)>-<attempt>

for example ``xs-t7x3ls-3f9a0c1be2d4a6f8-0``. Every id matches both Binance's rule
(``^[\\.A-Z\\:/a-z0-9_-]{1,36}$``) and Bybit's (``orderLinkId``: letters, digits, ``-`` and
``_``, at most 36).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from xsmom.errors import ConfigError

_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"
_PREFIX = re.compile(r"^[A-Za-z0-9]{1,8}$")
MAX_ATTEMPT = 999


@dataclass(frozen=True)
class ClientIdRules:
    """A venue's rule for client order ids."""

    max_len: int
    pattern: re.Pattern[str]

    def check(self, client_id: str) -> str:
        """Return ``client_id`` if the venue accepts it, else raise ConfigError."""
        if len(client_id) > self.max_len or not self.pattern.match(client_id):
            raise ConfigError(f"client order id {client_id!r} breaks the venue's rule")
        return client_id


BINANCE = ClientIdRules(36, re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$"))
BYBIT = ClientIdRules(36, re.compile(r"^[A-Za-z0-9_-]{1,36}$"))
RULES: dict[str, ClientIdRules] = {"binanceusdm": BINANCE, "binance": BINANCE, "bybit": BYBIT}


def rules_for(exchange_id: str) -> ClientIdRules:
    """Return the id rule of a ccxt exchange id (the strictest known rule if unknown)."""
    return RULES.get(exchange_id, BYBIT)


def _base36(n: int) -> str:
    if n == 0:
        return "0"
    out = []
    while n:
        n, r = divmod(n, 36)
        out.append(_B36[r])
    return "".join(reversed(out))


def client_order_id(
    config_version: str,
    bar_ts: int,
    symbol: str,
    attempt: int = 0,
    *,
    prefix: str = "xs",
    rules: ClientIdRules = BINANCE,
) -> str:
    """Return the client order id of one intent; equal inputs give equal ids."""
    if not _PREFIX.match(prefix):
        raise ConfigError(f"client id prefix must be 1-8 letters or digits, got {prefix!r}")
    if not 0 <= attempt <= MAX_ATTEMPT:
        raise ConfigError(f"client id attempt must be in [0, {MAX_ATTEMPT}], got {attempt}")
    if bar_ts < 0 or not symbol or not config_version:
        raise ConfigError("client id needs a config version, a symbol and a bar ts >= 0")
    seed = f"{config_version}\x1f{bar_ts}\x1f{symbol}".encode()
    digest = hashlib.sha256(seed).hexdigest()
    head = f"{prefix}-{_base36(bar_ts // 1000)}-"
    tail = f"-{attempt}"
    room = min(16, rules.max_len - len(head) - len(tail))
    if room < 8:
        raise ConfigError("client id prefix too long for the venue's id length limit")
    return rules.check(f"{head}{digest[:room]}{tail}")
