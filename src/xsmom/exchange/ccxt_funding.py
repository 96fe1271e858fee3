"""Every funding payment of an account from a time on, paged under Binance's income rules.

``GET /fapi/v1/income`` (ccxt ``fetch_funding_history``) answers at most ``limit`` entries
from ``startTime`` on (inclusive), oldest first, and only what the last three months hold.
Several symbols settle at the same millisecond, so the next page starts *at* the last time
seen (not after it) and entries are deduplicated by their id (Binance's ``tranId``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from xsmom.errors import DataError

Raw = Mapping[str, Any]
PageFn = Callable[[int | None], list[Raw]]  # page(since_ms) -> raw ccxt funding entries


def _ts(r: Raw) -> int:
    return int(r.get("timestamp") or 0)


def all_payments(page: PageFn, since: int | None, limit: int) -> list[Raw]:
    """Return every entry from ``since`` on, deduplicated by id, oldest first."""
    seen: dict[str, Raw] = {}
    start = since
    while True:
        rows = page(start)
        for r in rows:
            seen.setdefault(str(r.get("id")), r)
        if len(rows) < limit:
            break
        last = max(_ts(r) for r in rows)
        if start is not None and last <= start:
            raise DataError(
                f"{len(rows)} or more funding payments at {last} ms: the income history "
                "cannot be paged past them"
            )
        start = last
    return sorted(seen.values(), key=lambda r: (_ts(r), str(r.get("id"))))
