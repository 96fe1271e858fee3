"""Every trade of an account on one symbol, paged under Binance's ``userTrades`` rules.

Binance answers at most 1000 trades per request, refuses a ``startTime..endTime`` span over
7 days, and refuses ``fromId`` together with a time. So the pager first finds the id of the
first trade at or after ``since`` with time windows of at most 7 days (a full window is split
in halves until a part holds fewer than ``limit`` trades, so the answer does not depend on
which end of a full window the venue returns), then walks forward by ``fromId`` until the
venue answers an empty page. Trades are deduplicated by id and returned oldest first.
Without ``since`` the walk starts at ``fromId=0``: every trade the venue keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from xsmom.errors import DataError

log = logging.getLogger(__name__)

WEEK_MS = 7 * 24 * 3_600_000
Raw = Mapping[str, Any]
# page(start_ms, end_ms, from_id) -> raw ccxt trades; either a time window or a from id
PageFn = Callable[[int | None, int | None, int | None], list[Raw]]


def trade_id(t: Raw) -> int:
    """Return the venue's numeric trade id of a ccxt trade."""
    try:
        return int(t["id"])
    except (KeyError, TypeError, ValueError):
        raise DataError(f"trade without a numeric id: {t.get('id')!r}") from None


def _ts(t: Raw) -> int:
    return int(t.get("timestamp") or 0)


def _first_in(page: PageFn, start: int, end: int, limit: int) -> int | None:
    """Return the smallest trade id in ``[start, end]``, or None when it holds none."""
    rows = page(start, end, None)
    if not rows:
        return None
    if len(rows) < limit or start >= end:
        if len(rows) >= limit:
            log.warning(
                "%d or more trades in one millisecond at %d; paging from the first", limit, start
            )
        return min(trade_id(r) for r in rows)
    mid = (start + end) // 2
    left = _first_in(page, start, mid, limit)
    return left if left is not None else _first_in(page, mid + 1, end, limit)


def first_trade_id(
    page: PageFn, since: int, until: int, *, limit: int = 1000, window_ms: int = WEEK_MS
) -> int | None:
    """Return the id of the first trade at or after ``since`` (searched up to ``until``)."""
    start = since
    while start <= until:
        end = start + window_ms - 1
        found = _first_in(page, start, end, limit)
        if found is not None:
            return found
        start = end + 1
    return None


def walk_from(page: PageFn, from_id: int) -> list[Raw]:
    """Return every trade with id >= ``from_id``, page by page until an empty page."""
    seen: dict[int, Raw] = {}
    while True:
        rows = page(None, None, from_id)
        if not rows:
            return list(seen.values())
        ids = [trade_id(r) for r in rows]
        if min(ids) < from_id:
            raise DataError(f"venue answered trade id {min(ids)} for fromId={from_id}")
        for i, r in zip(ids, rows, strict=True):
            seen.setdefault(i, r)
        from_id = max(ids) + 1


def all_trades(
    page: PageFn,
    since: int | None,
    until: int,
    *,
    limit: int = 1000,
    window_ms: int = WEEK_MS,
) -> list[Raw]:
    """Return every trade from ``since`` on (all when None), deduplicated, oldest first."""
    if since is None:
        start_id: int | None = 0
    else:
        start_id = first_trade_id(page, since, until, limit=limit, window_ms=window_ms)
    if start_id is None:
        return []
    rows = walk_from(page, start_id)
    rows = [r for r in rows if since is None or _ts(r) >= since]
    return sorted(rows, key=lambda r: (_ts(r), trade_id(r)))
