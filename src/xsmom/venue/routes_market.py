"""Public market-data endpoints of the venue (``/fapi/v1/...`` without a signature)."""

from __future__ import annotations

from typing import Any

import numpy as np

from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import DataError
from xsmom.sim import Candles
from xsmom.venue import binance as bj
from xsmom.venue.binance import ApiError, num
from xsmom.venue.params import Params, Route
from xsmom.venue.service import Venue

INTERVALS = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")


def symbol_of(venue: Venue, params: Params, name: str = "symbol") -> str:
    """Return the unified symbol of a Binance id parameter (-1121 if unknown)."""
    sym = venue.data.by_venue_id.get(params.req(name))
    if sym is None:
        raise ApiError(400, -1121, "Invalid symbol.")
    return sym


def symbols_of(venue: Venue, params: Params) -> list[str]:
    """Return the one symbol asked for, or every symbol when none is given."""
    return [symbol_of(venue, params)] if params.get("symbol") else list(venue.data.symbols)


def _ping(venue: Venue, params: Params) -> Any:
    return {}


def _time(venue: Venue, params: Params) -> Any:
    return {"serverTime": venue.server_time()}


def _exchange_info(venue: Venue, params: Params) -> Any:
    specs = [venue.data.specs[s] for s in venue.data.symbols]
    return bj.exchange_info(specs, venue.server_time())


def _kline_weight(params: Params) -> int:
    limit = params.int_("limit", 500) or 500
    return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10


def _window(candles: Candles, params: Params, now: int, bar_ms: int) -> tuple[int, int]:
    """Return the index range [lo, hi) of visible bars that the request asks for."""
    visible = int(np.searchsorted(candles.ts, now, side="right"))
    limit = params.limit(500, 1500)
    start, end = params.int_("startTime"), params.int_("endTime")
    hi = visible if end is None else min(visible, int(np.searchsorted(candles.ts, end, "right")))
    if start is not None:
        lo = int(np.searchsorted(candles.ts, start, side="left"))
        return lo, min(hi, lo + limit)
    return max(0, hi - limit), hi


def _klines(venue: Venue, params: Params, kind: Kind) -> Any:
    sym = symbol_of(venue, params)
    interval = params.req("interval")
    if interval not in INTERVALS:
        raise ApiError(400, -1120, "Invalid interval.")
    try:
        candles = venue.data.candles(sym, kind, interval)
    except DataError as exc:
        raise ApiError(400, -1120, f"Invalid interval ({exc}).") from exc
    if candles is None:
        return []
    now = venue.now()
    bar_ms = timeframe_ms(interval)
    lo, hi = _window(candles, params, now, bar_ms)
    pdp = venue.data.specs[sym].price_decimals() if kind is Kind.OHLCV else 8
    rows = []
    for i in range(lo, hi):
        ts = int(candles.ts[i])
        o = float(candles.open[i])
        if ts + bar_ms > now:  # the forming bar: only its open is known
            h = lo_ = c = o
            v = 0.0
        else:
            h, lo_, c, v = (
                float(candles.high[i]),
                float(candles.low[i]),
                float(candles.close[i]),
                float(candles.volume[i]),
            )
        prices = [num(x, pdp) for x in (o, h, lo_, c)]
        qv = num(v * c, 8)
        rows.append([ts, *prices, num(v, 3), ts + bar_ms - 1, qv, 0, "0", "0", "0"])
    return rows


def _funding_rate(venue: Venue, params: Params) -> Any:
    now = venue.now()
    start, end = params.int_("startTime"), params.int_("endTime")
    limit = params.limit(100, 1000)
    out: list[dict[str, Any]] = []
    for sym in symbols_of(venue, params):
        series = venue.data.funding.get(sym)
        if series is None:
            continue
        hi = series.settled_count(now if end is None else min(now, end))
        lo = 0 if start is None else int(np.searchsorted(series.ts, start, side="left"))
        idx = (
            range(lo, min(hi, lo + limit)) if start is not None else range(max(lo, hi - limit), hi)
        )
        spec = venue.data.specs[sym]
        for k in idx:
            ts = int(series.ts[k])
            _, mark, _ = venue.data.price_at(sym, ts)
            out.append(
                {
                    "symbol": spec.venue_id,
                    "fundingRate": num(float(series.rate[k]), 8),
                    "fundingTime": ts,
                    "markPrice": num(mark, 8),
                }
            )
    out.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    return out[-limit:] if start is None else out[:limit]


def _premium_one(venue: Venue, sym: str, now: int) -> dict[str, Any]:
    next_ts, next_rate, _ = venue.data.next_funding(sym, now)
    mark = venue.engine.mark_price(sym) or 0.0
    last = venue.engine.last_price(sym) or mark
    return {
        "symbol": venue.data.specs[sym].venue_id,
        "markPrice": num(mark, 8),
        "indexPrice": num(last, 8),
        "estimatedSettlePrice": num(mark, 8),
        "lastFundingRate": num(next_rate, 8),
        "interestRate": "0.00010000",
        "nextFundingTime": next_ts,
        "time": now,
    }


def _premium_index(venue: Venue, params: Params) -> Any:
    now = venue.now()
    rows = [_premium_one(venue, s, now) for s in symbols_of(venue, params)]
    return rows[0] if params.get("symbol") else rows


def _ticker_one(venue: Venue, sym: str, now: int) -> dict[str, Any]:
    c = venue.data.trade[sym]
    bar_ms = venue.data.bar_ms
    n = c.closed_count(now, bar_ms)
    lo = max(0, n - (86_400_000 // bar_ms))
    last = venue.engine.last_price(sym) or 0.0
    open_ = float(c.open[lo]) if n > lo else last
    high = max([last, *c.high[lo:n].tolist()])
    low = min([last, *c.low[lo:n].tolist()])
    vol = float(c.volume[lo:n].sum())
    qv = float((c.volume[lo:n] * c.close[lo:n]).sum())
    pdp = venue.data.specs[sym].price_decimals()
    return {
        "symbol": venue.data.specs[sym].venue_id,
        "priceChange": num(last - open_, pdp),
        "priceChangePercent": num((last / open_ - 1.0) * 100.0 if open_ else 0.0, 3),
        "weightedAvgPrice": num(qv / vol if vol else last, pdp),
        "lastPrice": num(last, pdp),
        "lastQty": "0",
        "openPrice": num(open_, pdp),
        "highPrice": num(high, pdp),
        "lowPrice": num(low, pdp),
        "volume": num(vol, 3),
        "quoteVolume": num(qv, 8),
        "openTime": now - 86_400_000,
        "closeTime": now,
        "firstId": 0,
        "lastId": 0,
        "count": 0,
    }


def _ticker_24hr(venue: Venue, params: Params) -> Any:
    now = venue.now()
    rows = [_ticker_one(venue, s, now) for s in symbols_of(venue, params)]
    return rows[0] if params.get("symbol") else rows


def _book_one(venue: Venue, sym: str, now: int) -> dict[str, Any] | None:
    """Return the synthetic touch: bid and ask ``half_spread_ticks`` from the last price.

    None before the symbol has a price (not listed yet at the replay time): Binance's
    bookTicker has no row for a symbol that does not trade.
    """
    spec = venue.data.specs[sym]
    last = venue.engine.last_price(sym)
    if last is None or last <= 0:
        return None
    half = venue.half_spread_ticks * spec.price_tick
    pdp = spec.price_decimals()
    return {
        "symbol": spec.venue_id,
        "bidPrice": num(last - half, pdp),
        "bidQty": "1000",
        "askPrice": num(last + half, pdp),
        "askQty": "1000",
        "time": now,
    }


def _book_ticker(venue: Venue, params: Params) -> Any:
    now = venue.now()
    rows = [_book_one(venue, s, now) for s in symbols_of(venue, params)]
    if params.get("symbol"):
        if rows[0] is None:
            raise ApiError(400, -1121, "Invalid symbol.")
        return rows[0]
    return [r for r in rows if r is not None]


def _ticker_price(venue: Venue, params: Params) -> Any:
    now = venue.now()
    rows = [
        {
            "symbol": venue.data.specs[s].venue_id,
            "price": num(venue.engine.last_price(s) or 0.0, venue.data.specs[s].price_decimals()),
            "time": now,
        }
        for s in symbols_of(venue, params)
    ]
    return rows[0] if params.get("symbol") else rows


def _depth(venue: Venue, params: Params) -> Any:
    """Return a synthetic book: levels one tick apart from the touch out (no real depth)."""
    sym = symbol_of(venue, params)
    spec = venue.data.specs[sym]
    now = venue.now()
    last = venue.engine.last_price(sym) or 0.0
    _, _, qv = venue.data.price_at(sym, now)
    qty = max(spec.qty_step, 0.01 * qv / last) if last > 0 else spec.qty_step
    levels = min(params.limit(20, 1000), 50)
    pdp, qdp = spec.price_decimals(), spec.qty_decimals()

    def side(sign: int) -> list[list[str]]:
        first = venue.half_spread_ticks  # the best level is the bookTicker's touch
        return [
            [num(last + sign * k * spec.price_tick, pdp), num(qty, qdp)]
            for k in range(first, first + levels)
        ]

    return {"lastUpdateId": now, "E": now, "T": now, "bids": side(-1), "asks": side(1)}


def _depth_weight(params: Params) -> int:
    limit = params.int_("limit", 500) or 500
    return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20


def _many(params: Params) -> int:
    return 1 if params.get("symbol") else 40


def _book_weight(params: Params) -> int:
    return 2 if params.get("symbol") else 5  # Binance's bookTicker weights


MARKET_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/fapi/v1/ping"): Route(_ping),
    ("GET", "/fapi/v1/time"): Route(_time),
    ("GET", "/fapi/v1/exchangeInfo"): Route(_exchange_info),
    ("GET", "/fapi/v1/klines"): Route(lambda v, p: _klines(v, p, Kind.OHLCV), _kline_weight),
    ("GET", "/fapi/v1/markPriceKlines"): Route(
        lambda v, p: _klines(v, p, Kind.MARK), _kline_weight
    ),
    ("GET", "/fapi/v1/fundingRate"): Route(_funding_rate),
    ("GET", "/fapi/v1/premiumIndex"): Route(_premium_index, _many),
    ("GET", "/fapi/v1/depth"): Route(_depth, _depth_weight),
    ("GET", "/fapi/v1/ticker/24hr"): Route(_ticker_24hr, _many),
    ("GET", "/fapi/v1/ticker/bookTicker"): Route(_book_ticker, _book_weight),
    ("GET", "/fapi/v1/ticker/price"): Route(_ticker_price, _many),
    ("GET", "/fapi/v2/ticker/price"): Route(_ticker_price, _many),
}
