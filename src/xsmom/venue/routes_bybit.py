"""The venue's Bybit v5 dialect: the linear-perpetual endpoints ccxt ``bybit`` calls.

Same :class:`Venue` (account, matching, clock) as the Binance routes; only the request and
answer shapes differ. Bybit's rules kept here: ``orderLinkId`` is unique per account for
every order ever placed (110072), ``category`` must be ``linear`` (10001), lists are paged
with ``limit`` and an opaque ``nextPageCursor``, executions are read newest first within at
most 7 days. Signing (:func:`check_bybit_signed`): ``X-BAPI-SIGN`` = hex HMAC-SHA256 of
``timestamp + api_key + recv_window + payload`` (the query string of a GET, the JSON body of
a POST); the timestamp must lie in ``[now - recv_window, now + 1000)`` (10002).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from xsmom.data.timeframes import timeframe_ms
from xsmom.data.validate import Kind
from xsmom.errors import RejectedError
from xsmom.sim.types import Order, OrderType, TimeInForce, reject_code
from xsmom.venue import bybit as by
from xsmom.venue.auth import Credentials, sign
from xsmom.venue.binance import ApiError, num
from xsmom.venue.bybit import BybitError, to_bybit
from xsmom.venue.params import Params, Route
from xsmom.venue.routes_market import _ticker_one, _window
from xsmom.venue.service import Venue

WEEK_MS = 7 * 24 * 3_600_000
LINK_ID = re.compile(r"^[A-Za-z0-9_-]{1,36}$")
_TIF: dict[str, TimeInForce] = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "PostOnly": "GTX"}
_INTERVALS = {"1": "1m", "3": "3m", "5": "5m", "15": "15m", "30": "30m", "60": "1h"}
_INTERVALS |= {"120": "2h", "240": "4h", "360": "6h", "720": "12h", "D": "1d"}


def check_bybit_signed(
    creds: Credentials, headers: Mapping[str, str], payload: str, now_ms: int
) -> tuple[int, int]:
    """Raise :class:`BybitError` unless signed by ``creds`` and fresh; return (ts, window).

    ``headers``: the request's headers with upper-case names.
    """
    key = headers.get("X-BAPI-API-KEY")
    if not key or not hmac.compare_digest(key, creds.api_key):
        raise BybitError(by.BAD_KEY, "API key is invalid.")
    try:
        ts = int(headers.get("X-BAPI-TIMESTAMP") or "")
        window = int(headers.get("X-BAPI-RECV-WINDOW") or "5000")
    except ValueError as exc:
        raise BybitError(by.PARAMS, "invalid request, please check your timestamp") from exc
    expected = sign(f"{ts}{key}{window}{payload}", creds.secret)
    if not hmac.compare_digest(expected, (headers.get("X-BAPI-SIGN") or "").lower()):
        raise BybitError(by.BAD_SIGN, "error sign! origin_string[...]")
    check_bybit_time(ts, window, now_ms)
    return ts, window


def check_bybit_time(ts: int, window: int, now_ms: int) -> None:
    """Raise 10002 unless ``now - window <= ts < now + 1000``."""
    if not (now_ms - window <= ts < now_ms + 1000):
        raise BybitError(
            by.EXPIRED,
            "invalid request, please check your server timestamp or recv_window param. "
            f"req_timestamp[{ts}],server_timestamp[{now_ms}],recv_window[{window}]",
        )


def bybit_params(method: str, query: str, body: str) -> Params:
    """Return the parameters of a request: the query of a GET, the JSON body of a POST."""
    raw: dict[str, str] = dict(parse_qsl(query))
    if method == "POST" and body:
        try:
            data = json.loads(body)
        except ValueError as exc:
            raise BybitError(by.PARAMS, "params error: the body is not JSON") from exc
        if not isinstance(data, dict):
            raise BybitError(by.PARAMS, "params error: the body must be a JSON object")
        for k, v in data.items():
            raw[str(k)] = ("true" if v else "false") if isinstance(v, bool) else str(v)
    return Params(raw)


def _linear(params: Params) -> None:
    if params.req("category") != "linear":
        raise BybitError(by.PARAMS, "params error: only category 'linear' is served")


def _symbol(venue: Venue, params: Params) -> str:
    sym = venue.data.by_venue_id.get(params.req("symbol"))
    if sym is None:
        raise BybitError(by.PARAMS, "params error: symbol invalid")
    return sym


def _symbols(venue: Venue, params: Params) -> list[str]:
    return [_symbol(venue, params)] if params.get("symbol") else list(venue.data.symbols)


def _page(rows: list[Any], params: Params, default: int, maximum: int) -> dict[str, Any]:
    """Return ``{"list", "nextPageCursor"}`` for rows from the cursor (an offset) on."""
    cursor = params.get("cursor") or "0"
    if not cursor.isdigit():
        raise BybitError(by.PARAMS, "params error: cursor invalid")
    start = int(cursor)
    limit = params.limit(default, maximum)
    chunk = rows[start : start + limit]
    more = start + limit < len(rows)
    return {"list": chunk, "nextPageCursor": str(start + limit) if more else ""}


# ---- public ------------------------------------------------------------------------------------
def _time(venue: Venue, params: Params) -> Any:
    now = venue.server_time()
    return {"timeSecond": str(now // 1000), "timeNano": str(now * 1_000_000)}


def _instruments(venue: Venue, params: Params) -> Any:
    _linear(params)
    if params.get("status") not in (None, "Trading"):
        return {"category": "linear", "list": [], "nextPageCursor": ""}
    syms = _symbols(venue, params)
    rows = [by.instrument_json(venue.data.specs[s], venue.data.first_ts) for s in syms]
    return {"category": "linear", **_page(rows, params, 500, 1000)}


def _tickers(venue: Venue, params: Params) -> Any:
    _linear(params)
    now = venue.now()
    rows = []
    for sym in _symbols(venue, params):
        spec, t = venue.data.specs[sym], _ticker_one(venue, sym, now)
        last = venue.engine.last_price(sym)
        if last is None:
            continue
        mark = venue.engine.mark_price(sym) or last
        half, pd = venue.half_spread_ticks * spec.price_tick, spec.price_decimals()
        next_ts, rate, _ = venue.data.next_funding(sym, now)
        rows.append(
            {
                "symbol": spec.venue_id,
                "lastPrice": num(last, pd),
                "indexPrice": num(last, pd),
                "markPrice": num(mark, pd),
                "prevPrice24h": t["openPrice"],
                "price24hPcnt": num(float(t["priceChangePercent"]) / 100.0, 6),
                "highPrice24h": t["highPrice"],
                "lowPrice24h": t["lowPrice"],
                "volume24h": t["volume"],
                "turnover24h": t["quoteVolume"],
                "bid1Price": num(last - half, pd),
                "bid1Size": "1000",
                "ask1Price": num(last + half, pd),
                "ask1Size": "1000",
                "fundingRate": num(rate, 8),
                "nextFundingTime": str(next_ts),
                "openInterest": "0",
                "openInterestValue": "0",
            }
        )
    return {"category": "linear", "list": rows}


def _kline(venue: Venue, params: Params) -> Any:
    """Serve closed bars newest first (``start``/``end`` inclusive, ``limit`` <= 1000)."""
    _linear(params)
    sym = _symbol(venue, params)
    interval = _INTERVALS.get(params.req("interval"))
    if interval is None:
        raise BybitError(by.PARAMS, "params error: invalid interval")
    candles = venue.data.candles(sym, Kind.OHLCV, interval)
    spec = venue.data.specs[sym]
    rows: list[list[str]] = []
    if candles is not None:
        now, bar_ms = venue.now(), timeframe_ms(interval)
        query = {"limit": str(params.limit(200, 1000))}
        for name, alias in (("start", "startTime"), ("end", "endTime")):
            if params.get(name) is not None:
                query[alias] = params.raw[name]
        lo, hi = _window(candles, Params(query), now, bar_ms)
        for i in range(lo, hi):
            ts = int(candles.ts[i])
            if ts + bar_ms > now:
                continue  # the forming bar is left out (the venue knows only its open)
            ohlc = [float(x[i]) for x in (candles.open, candles.high, candles.low, candles.close)]
            vol = float(candles.volume[i])
            prices = [num(x, spec.price_decimals()) for x in ohlc]
            rows.append([str(ts), *prices, num(vol, 3), num(vol * ohlc[3], 8)])
    return {"category": "linear", "symbol": spec.venue_id, "list": rows[::-1]}


# ---- account -----------------------------------------------------------------------------------
def _rejected(exc: RejectedError) -> ApiError:
    return to_bybit(ApiError(200, reject_code(exc) or 0, str(exc)))


def _order_type(params: Params) -> OrderType:
    kind = params.req("orderType")
    if kind not in ("Market", "Limit"):
        raise BybitError(by.PARAMS, f"params error: orderType {kind!r} is not served")
    if params.get("triggerPrice") is not None:
        if kind != "Market":
            raise BybitError(by.PARAMS, "params error: only Market conditional orders are served")
        return "stop_market"
    return "market" if kind == "Market" else "limit"


def _link_id(venue: Venue, params: Params) -> str | None:
    """Return ``orderLinkId``; one used by any order of the account before is 110072."""
    link = params.get("orderLinkId")
    if link is None:
        return None
    if not LINK_ID.fullmatch(link):
        raise BybitError(by.PARAMS, "params error: orderLinkId invalid")
    try:
        venue.engine.order(client_id=link)
    except RejectedError:
        return link  # not used before
    raise BybitError(by.DUPLICATE_LINK_ID, "OrderLinkedID is duplicate")


def _create(venue: Venue, params: Params) -> Any:
    _linear(params)
    sym = _symbol(venue, params)
    side = params.req("side")
    if side not in ("Buy", "Sell"):
        raise BybitError(by.PARAMS, "params error: side invalid")
    otype = _order_type(params)
    tif = params.get("timeInForce") or ("IOC" if otype != "limit" else "GTC")
    if tif not in _TIF:
        raise BybitError(by.PARAMS, "params error: timeInForce invalid")
    qty = params.float_("qty")
    if qty is None:
        raise BybitError(by.PARAMS, "params error: qty is required")
    link = _link_id(venue, params)
    try:
        order = venue.engine.submit(
            symbol=sym,
            side="buy" if side == "Buy" else "sell",
            type=otype,
            qty=qty,
            price=params.float_("price") if otype == "limit" else None,
            stop_price=params.float_("triggerPrice"),
            time_in_force=_TIF[tif] if otype == "limit" else "GTC",
            reduce_only=params.bool_("reduceOnly"),
            client_id=link,
            ts=venue.now(),
        )
    except RejectedError as exc:
        raise _rejected(exc) from exc
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


def _find(venue: Venue, params: Params) -> Order:
    """Return the order named by ``orderId`` or ``orderLinkId`` on ``symbol`` (110001)."""
    oid, link = params.get("orderId"), params.get("orderLinkId")
    if oid is None and link is None:
        raise BybitError(by.PARAMS, "params error: orderId or orderLinkId is required")
    missing = BybitError(by.NOT_FOUND, "order not exists or too late to cancel")
    if oid is not None and not oid.isdigit():
        raise missing
    try:
        order = venue.engine.order(order_id=int(oid) if oid else None, client_id=link)
    except RejectedError as exc:
        raise missing from exc
    if link is not None and order.client_id != link:
        raise missing
    if params.get("symbol") is not None and order.symbol != _symbol(venue, params):
        raise missing
    return order


def _cancel(venue: Venue, params: Params) -> Any:
    _linear(params)
    _symbol(venue, params)  # mandatory on cancel
    order = _find(venue, params)
    if not order.is_open:
        raise BybitError(by.NOT_FOUND, "order not exists or too late to cancel")
    try:
        venue.engine.cancel(symbol=order.symbol, order_id=order.order_id, ts=venue.now())
    except RejectedError as exc:
        raise _rejected(exc) from exc
    return {"orderId": str(order.order_id), "orderLinkId": order.client_id}


def _orders(venue: Venue, params: Params, *, history: bool) -> Any:
    """Serve ``/v5/order/realtime`` (open orders; any status by id) and ``/history``."""
    _linear(params)
    if params.get("orderId") is not None or params.get("orderLinkId") is not None:
        try:
            rows = [_find(venue, params)]
        except BybitError:
            rows = []
    else:
        syms = set(_symbols(venue, params))
        closed = history or params.get("openOnly") not in (None, "0")
        rows = [o for o in venue.engine.orders() if o.symbol in syms and o.is_open != closed]
    if params.get("orderFilter") == "StopOrder":
        rows = [o for o in rows if o.type == "stop_market"]
    elif params.get("orderFilter") == "Order":
        rows = [o for o in rows if o.type != "stop_market"]
    out = [by.order_json(o, venue.data.specs[o.symbol]) for o in reversed(rows)]
    return {"category": "linear", **_page(out, params, 20, 50)}


def _executions(venue: Venue, params: Params) -> Any:
    """Serve ``/v5/execution/list``: newest first, a window of at most 7 days.

    Trades only: ``execType=Funding`` (ccxt's ``fetch_funding_history``) is refused (10001),
    funding settlements are not served in this dialect.
    """
    _linear(params)
    if params.get("execType") not in (None, "Trade"):
        raise BybitError(by.PARAMS, "execType other than Trade is not simulated by this venue")
    start, end = params.int_("startTime"), params.int_("endTime")
    if start is None and end is None:
        end = venue.now()
    if start is None:
        assert end is not None
        start = end - WEEK_MS
    end = start + WEEK_MS if end is None else end
    if end - start > WEEK_MS or end < start:
        raise BybitError(by.PARAMS, "params error: the time range must lie within 7 days")
    syms = set(_symbols(venue, params))
    oid, link = params.get("orderId"), params.get("orderLinkId")
    fills = [
        f
        for f in venue.engine.fills()
        if f.symbol in syms
        and start <= f.ts <= end
        and (oid is None or str(f.order_id) == oid)
        and (link is None or f.client_id == link)
    ]
    fills.sort(key=lambda f: (f.ts, f.trade_id), reverse=True)
    out = [
        by.execution_json(f, venue.data.specs[f.symbol], venue.engine.order(order_id=f.order_id))
        for f in fills
    ]
    return {"category": "linear", **_page(out, params, 50, 100)}


def _positions(venue: Venue, params: Params) -> Any:
    _linear(params)
    if params.get("symbol") is None and params.get("settleCoin") is None:
        raise BybitError(by.PARAMS, "params error: symbol or settleCoin is required")
    now = venue.now()
    rows = []
    for sym in _symbols(venue, params):
        pos = venue.engine.position(sym)
        if params.get("symbol") is None and pos.qty == 0.0:
            continue  # by settleCoin: open positions only
        rows.append(by.position_json(pos, venue.data.specs[sym], now))
    return {"category": "linear", **_page(rows, params, 20, 200)}


def _wallet(venue: Venue, params: Params) -> Any:
    if params.req("accountType") != "UNIFIED":
        raise BybitError(by.PARAMS, "accountType only support UNIFIED")
    return {"list": [by.wallet_json(venue.engine.balance())]}


def _set_leverage(venue: Venue, params: Params) -> Any:
    _linear(params)
    sym = _symbol(venue, params)
    buy, sell = params.req("buyLeverage"), params.req("sellLeverage")
    if buy != sell:
        raise BybitError(by.PARAMS, "buy leverage must equal sell leverage in one-way mode")
    try:
        lev = int(float(buy))
    except ValueError as exc:
        raise BybitError(by.PARAMS, "params error: buyLeverage invalid") from exc
    if venue.engine.position(sym).leverage == lev:
        raise BybitError(by.LEVERAGE_SAME, "leverage not modified")
    try:
        venue.engine.set_leverage(sym, lev)
    except RejectedError as exc:
        raise _rejected(exc) from exc
    return {}


def _account_info(venue: Venue, params: Params) -> Any:
    return {"unifiedMarginStatus": 6, "marginMode": "REGULAR_MARGIN", "isMasterTrader": False}


def _api_info(venue: Venue, params: Params) -> Any:
    return {"readOnly": 0, "uta": 1, "unified": 0, "permissions": {"ContractTrade": ["Order"]}}


def _coins(venue: Venue, params: Params) -> Any:
    return {"rows": [{"name": "USDT", "coin": "USDT", "remainAmount": "0", "chains": []}]}


BYBIT_ROUTES: dict[tuple[str, str], Route] = {
    ("GET", "/v5/market/time"): Route(_time),
    ("GET", "/v5/market/instruments-info"): Route(_instruments),
    ("GET", "/v5/market/tickers"): Route(_tickers),
    ("GET", "/v5/market/kline"): Route(_kline),
    ("POST", "/v5/order/create"): Route(_create, 1, True),
    ("POST", "/v5/order/cancel"): Route(_cancel, 1, True),
    ("GET", "/v5/order/realtime"): Route(lambda v, p: _orders(v, p, history=False), 1, True),
    ("GET", "/v5/order/history"): Route(lambda v, p: _orders(v, p, history=True), 1, True),
    ("GET", "/v5/execution/list"): Route(_executions, 1, True),
    ("GET", "/v5/position/list"): Route(_positions, 1, True),
    ("POST", "/v5/position/set-leverage"): Route(_set_leverage, 1, True),
    ("GET", "/v5/account/wallet-balance"): Route(_wallet, 1, True),
    ("GET", "/v5/account/info"): Route(_account_info, 1, True),
    ("GET", "/v5/user/query-api"): Route(_api_info, 1, True),
    ("GET", "/v5/asset/coin/query-info"): Route(_coins, 1, True),
}
