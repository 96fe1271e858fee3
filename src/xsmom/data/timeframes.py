"""Timeframe strings (ccxt style: 1m, 5m, 15m, 1h, 4h, 1d) and their length in ms."""

from __future__ import annotations

import re

from xsmom.errors import DataError

_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_TF = re.compile(r"^(?P<n>[1-9][0-9]*)(?P<unit>[mhdw])$")
HOURS_PER_YEAR = 24.0 * 365.0


def timeframe_ms(timeframe: str) -> int:
    """Return the length of one bar of ``timeframe`` in milliseconds."""
    m = _TF.match(timeframe)
    if m is None:
        raise DataError(f"unknown timeframe {timeframe!r} (expected like 1m, 15m, 1h, 4h, 1d)")
    return int(m["n"]) * _UNITS[m["unit"]]


def bars_per_year(timeframe: str) -> float:
    """Return how many bars of ``timeframe`` make one (365-day) year."""
    return HOURS_PER_YEAR * 3_600_000 / timeframe_ms(timeframe)
