"""Symbol naming: ccxt unified symbols, venue ids and store file ids."""

from __future__ import annotations

import re

from xsmom.errors import DataError

_UNIFIED = re.compile(r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+):(?P<settle>[A-Z0-9]+)$")
_FILEID = re.compile(r"^(?P<base>[A-Z0-9]+)_(?P<quote>[A-Z0-9]+)_(?P<settle>[A-Z0-9]+)$")
_QUOTES = ("USDT", "USDC")


def is_unified(symbol: str) -> bool:
    """Return True if ``symbol`` is a ccxt unified linear-swap symbol like ``BTC/USDT:USDT``."""
    return _UNIFIED.match(symbol) is not None


def to_file_id(symbol: str) -> str:
    """Map ``BTC/USDT:USDT`` to the store's file id ``BTC_USDT_USDT``."""
    m = _UNIFIED.match(symbol)
    if m is None:
        raise DataError(f"not a ccxt unified swap symbol: {symbol!r} (expected like BTC/USDT:USDT)")
    return f"{m['base']}_{m['quote']}_{m['settle']}"


def from_file_id(file_id: str) -> str:
    """Map the file id ``BTC_USDT_USDT`` back to ``BTC/USDT:USDT``."""
    m = _FILEID.match(file_id)
    if m is None:
        raise DataError(f"not a store file id: {file_id!r} (expected like BTC_USDT_USDT)")
    return f"{m['base']}/{m['quote']}:{m['settle']}"


def from_venue_id(venue_id: str) -> str:
    """Map a Binance-style id ``BTCUSDT`` to ``BTC/USDT:USDT`` (USDT or USDC margined)."""
    for quote in _QUOTES:
        if venue_id.endswith(quote) and len(venue_id) > len(quote):
            return f"{venue_id[: -len(quote)]}/{quote}:{quote}"
    raise DataError(f"cannot map venue id {venue_id!r} to a unified symbol")


def to_venue_id(symbol: str) -> str:
    """Map ``BTC/USDT:USDT`` to the Binance-style id ``BTCUSDT``."""
    m = _UNIFIED.match(symbol)
    if m is None:
        raise DataError(f"not a ccxt unified swap symbol: {symbol!r}")
    return f"{m['base']}{m['quote']}"
