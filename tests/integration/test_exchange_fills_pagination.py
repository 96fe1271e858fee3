"""`fills()` returns every trade exactly once, oldest first, from the simulated venue that
keeps Binance's userTrades rules (pages of at most 1000, windows of at most 7 days,
``fromId`` not combined with a time), over more than 2,000 fills and more than 7 days with
a gap longer than a week in the middle, and another symbol's trades interleaved."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import pytest

from xsmom.exchange import CcxtConfig, CcxtExchange
from xsmom.venue.testing import RunningVenue, start_venue

START_MS = 1_748_736_000_000  # 2025-06-01, inside the bundled sample
DAY = 86_400_000
BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _fill_days(rv: RunningVenue, days: range, per_day: int) -> None:
    """Trade BTC (and every fifth time ETH) ``per_day`` times a day, straight on the engine."""
    eng = rv.venue.engine
    with rv.venue.lock:
        for d in days:
            for k in range(per_day):
                ts = START_MS + d * DAY + k * (DAY // per_day)
                side = "buy" if k % 2 == 0 else "sell"
                eng.submit(symbol=BTC, side=side, type="market", qty=0.002, ts=ts)
                if k % 5 == 0:
                    eng.submit(symbol=ETH, side=side, type="market", qty=0.01, ts=ts)


@pytest.fixture(scope="module")
def venue() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=[BTC, ETH]) as rv:
        _fill_days(rv, range(0, 5), 260)  # days 0-4
        _fill_days(rv, range(14, 18), 260)  # days 14-17, after a 9-day gap
        rv.advance(19 * DAY)
        yield rv


@pytest.fixture
def ex(venue: RunningVenue) -> Iterator[CcxtExchange]:
    cfg = CcxtConfig(max_clock_drift_ms=None, rate_per_s=1000, burst=1000)
    adapter = CcxtExchange(cfg, client=venue.ccxt_client())
    yield adapter
    adapter.close()


def test_more_than_2000_fills_over_more_than_7_days_come_back_exactly_once(
    venue: RunningVenue, ex: CcxtExchange
) -> None:
    truth = [f for f in venue.venue.engine.fills(BTC)]
    assert len(truth) == 9 * 260 and truth[-1].ts - truth[0].ts > 7 * DAY
    fills = ex.fills(BTC, since=START_MS - DAY)
    assert [f.trade_id for f in fills] == [str(f.trade_id) for f in truth]
    assert len({f.trade_id for f in fills}) == len(truth)
    assert [f.ts for f in fills] == sorted(f.ts for f in fills)
    assert all(f.symbol == BTC for f in fills)
    assert sum(f.qty for f in fills) == pytest.approx(sum(f.qty for f in truth))
    assert sum(f.fee for f in fills) == pytest.approx(sum(f.fee for f in truth))


def test_without_since_every_kept_fill_is_returned(ex: CcxtExchange, venue: RunningVenue) -> None:
    fills = ex.fills(BTC)
    assert len(fills) == len(venue.venue.engine.fills(BTC))
    assert len(ex.fills(ETH)) == len(venue.venue.engine.fills(ETH))


@pytest.mark.parametrize("day", [0, 3, 9, 14, 17])
def test_since_inside_or_before_a_window_is_inclusive(
    ex: CcxtExchange, venue: RunningVenue, day: int
) -> None:
    since = START_MS + day * DAY + 7 * (DAY // 260)  # exactly the time of a trade or in a gap
    truth = [str(f.trade_id) for f in venue.venue.engine.fills(BTC) if f.ts >= since]
    assert [f.trade_id for f in ex.fills(BTC, since=since)] == truth


def test_since_after_the_last_fill_is_empty(ex: CcxtExchange) -> None:
    assert ex.fills(BTC, since=START_MS + 18 * DAY) == []


def test_plain_ccxt_call_shows_what_was_lost_before(venue: RunningVenue) -> None:
    client = venue.ccxt_client()
    one_call = client.fetch_my_trades(BTC, START_MS - DAY)  # ccxt clamps to 7 days, one page
    assert 0 < len(one_call) <= 500 < len(venue.venue.engine.fills(BTC))


def test_the_venue_refuses_what_binance_refuses(venue: RunningVenue) -> None:
    client = venue.ccxt_client()
    with pytest.raises(ccxt.BadRequest, match="-1127"):
        client.fetch_my_trades(BTC, START_MS, 10, {"until": START_MS + 8 * DAY})
    with pytest.raises(ccxt.BadRequest, match="-1128"):
        client.fetch_my_trades(BTC, START_MS, 10, {"fromId": 5, "until": START_MS + DAY})
    page = client.fetch_my_trades(BTC, None, 5000, {"fromId": 1})
    assert len(page) == 1000  # limit is capped at 1000
    default = venue.request(
        "GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT", "fromId": 1}, signed=True
    )
    assert default[0] == 200 and len(default[2]) == 500  # default page: 500
