"""The trade pager over a fake venue that enforces Binance's rules, with both answers a full
time window may give (the first ``limit`` trades or the last ``limit``), duplicates across
pages, and a venue that breaks the ``fromId`` rule."""

from __future__ import annotations

from typing import Any

import pytest

from xsmom.errors import DataError
from xsmom.exchange.ccxt_fills import WEEK_MS, all_trades, first_trade_id

DAY = 86_400_000


class Venue:
    """userTrades over ``trades`` (id, ts): 7-day windows, pages of ``limit``."""

    def __init__(self, trades: list[tuple[int, int]], *, latest: bool = False) -> None:
        self.trades = sorted(trades)
        self.latest = latest  # a full window answers its most recent trades
        self.requests: list[tuple[int | None, int | None, int | None]] = []
        self.limit = 1000

    def page(self, start: int | None, end: int | None, from_id: int | None) -> list[Any]:
        self.requests.append((start, end, from_id))
        if from_id is not None:
            assert start is None and end is None  # Binance: -1128
            rows = [t for t in self.trades if t[0] >= from_id][: self.limit]
        else:
            assert start is not None and end is not None and 0 <= end - start <= WEEK_MS
            inside = [t for t in self.trades if start <= t[1] <= end]
            rows = inside[-self.limit :] if self.latest else inside[: self.limit]
        return [{"id": str(i), "timestamp": ts} for i, ts in rows]


def spread(
    n: int, start: int, span: int, first_id: int = 1, step: int = 1
) -> list[tuple[int, int]]:
    return [(first_id + k * step, start + k * span // n) for k in range(n)]


@pytest.mark.parametrize("latest", [False, True])
def test_every_trade_once_oldest_first_whichever_end_a_full_window_returns(latest: bool) -> None:
    t0 = 1_700_000_000_000
    trades = spread(2500, t0, 3 * DAY) + spread(900, t0 + 20 * DAY, 9 * DAY, first_id=10_000)
    venue = Venue(trades, latest=latest)
    got = all_trades(venue.page, t0 - 5 * DAY, t0 + 40 * DAY)
    assert [int(r["id"]) for r in got] == [i for i, _ in sorted(trades)]
    assert [r["timestamp"] for r in got] == sorted(r["timestamp"] for r in got)
    assert len(venue.requests) < 20


def test_since_is_inclusive_and_earlier_trades_are_dropped() -> None:
    trades = spread(3000, 0, 20 * DAY)
    venue = Venue(trades)
    since = trades[1234][1]
    got = all_trades(venue.page, since, 30 * DAY)
    assert [int(r["id"]) for r in got] == [i for i, ts in trades if ts >= since]


def test_empty_weeks_are_skipped_one_window_each() -> None:
    venue = Venue([(7, 30 * DAY + 5)])
    assert first_trade_id(venue.page, 0, 40 * DAY) == 7
    assert len(venue.requests) == 5  # weeks 0-3 empty, week 4 holds it
    assert all_trades(Venue([]).page, 0, 3 * DAY) == []


def test_no_since_walks_from_id_zero() -> None:
    venue = Venue(spread(2001, 0, 100 * DAY))
    got = all_trades(venue.page, None, 100 * DAY)
    assert len(got) == 2001
    assert venue.requests == [
        (None, None, 0),
        (None, None, 1001),
        (None, None, 2001),
        (None, None, 2002),
    ]


def test_duplicates_across_pages_are_dropped() -> None:
    class Repeating(Venue):
        def page(self, start: int | None, end: int | None, from_id: int | None) -> list[Any]:
            rows = super().page(start, end, from_id)
            return rows + rows[:3] if rows else rows

    got = all_trades(Repeating(spread(50, 0, DAY)).page, None, DAY)
    assert [int(r["id"]) for r in got] == list(range(1, 51))


def test_a_venue_that_breaks_the_from_id_rule_is_an_error() -> None:
    def page(start: int | None, end: int | None, from_id: int | None) -> list[Any]:
        return [{"id": "1", "timestamp": 1}]

    with pytest.raises(DataError, match="fromId=2"):
        all_trades(page, 0, 1)
