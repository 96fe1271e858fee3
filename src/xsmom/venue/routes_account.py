"""Signed trading and account endpoints of the venue (orders, trades, positions, balance)."""

from __future__ import annotations

import re
from typing import Any

from xsmom.errors import RejectedError
from xsmom.sim import Order, OrderType, Side, TimeInForce, reject_code
from xsmom.venue import binance as bj
from xsmom.venue.binance import ApiError, num
from xsmom.venue.params import Params, Route
from xsmom.venue.routes_market import symbol_of, symbols_of
from xsmom.venue.service import Venue

_TYPES: dict[str, OrderType] = {"MARKET": "market", "LIMIT": "limit", "STOP_MARKET": "stop_market"}
_TIFS = ("GTC", "IOC", "FOK", "GTX")
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")


def _rejected(exc: RejectedError) -> ApiError:
    code = reject_code(exc) or -1000
    return ApiError(400, code, str(exc))


def _submit(venue: Venue, params: Params, *, algo: bool) -> Order:
    sym = symbol_of(venue, params)
    side = params.req("side").lower()
    raw_type = params.req("type")
    if side not in ("buy", "sell"):
        raise ApiError(400, -1117, "Invalid side.")
    if raw_type not in _TYPES or (algo and raw_type != "STOP_MARKET"):
        raise ApiError(400, -1116, "Invalid orderType.")
    tif = params.get("timeInForce") or "GTC"
    if tif not in _TIFS:
        raise ApiError(400, -1115, "Invalid timeInForce.")
    params.req("quantity")
    qty = params.float_("quantity")
    assert qty is not None  # req() refused a missing one
    stop = params.float_("triggerPrice") if algo else params.float_("stopPrice")
    client = _client_id(params, "clientAlgoId" if algo else "newClientOrderId")
    try:
        return venue.engine.submit(
            symbol=sym,
            side=_side(side),
            type=_TYPES[raw_type],
            qty=qty,
            price=params.float_("price"),
            stop_price=stop,
            time_in_force=_tif(tif),
            reduce_only=params.bool_("reduceOnly"),
            client_id=client,
            ts=venue.now(),
        )
    except RejectedError as exc:
        raise _rejected(exc) from exc


def _client_id(params: Params, name: str) -> str | None:
    """Return a client order id parameter if it matches Binance's rule (-1100 otherwise)."""
    value = params.get(name)
    if value is not None and not CLIENT_ID.fullmatch(value):
        raise ApiError(
            400,
            -1100,
            f"Illegal characters found in parameter '{name}'; legal range is "
            f"'{CLIENT_ID.pattern}'.",
        )
    return value


def _side(value: str) -> Side:
    return "buy" if value == "buy" else "sell"


def _tif(value: str) -> TimeInForce:
    return {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "GTX"}[value]  # type: ignore[return-value]  # keys are the literal values


def _find(venue: Venue, params: Params, *, algo: bool) -> Order:
    id_name, client_name = ("algoId", "clientAlgoId") if algo else ("orderId", "origClientOrderId")
    oid, cid = params.int_(id_name), params.get(client_name)
    if oid is None and cid is None:
        raise ApiError(
            400,
            -1102,
            f"Param '{client_name}' or '{id_name}' must be sent, but both were empty/null!",
        )
    try:
        order = venue.engine.order(order_id=oid, client_id=cid)
    except RejectedError as exc:
        raise _rejected(exc) from exc
    if not algo and params.get("symbol") and order.symbol != symbol_of(venue, params):
        raise ApiError(400, -2013, "Order does not exist.")
    return order


def _order_out(venue: Venue, order: Order) -> dict[str, Any]:
    spec = venue.data.specs[order.symbol]
    if order.type == "stop_market":
        return bj.algo_order_json(order, spec)
    return bj.order_json(order, spec)


def _new_order(venue: Venue, params: Params) -> Any:
    return _order_out(venue, _submit(venue, params, algo=False))


def _new_algo(venue: Venue, params: Params) -> Any:
    if (params.get("algoType") or "CONDITIONAL") != "CONDITIONAL":
        raise ApiError(400, -1116, "Invalid algoType.")
    return _order_out(venue, _submit(venue, params, algo=True))


def _get_order(venue: Venue, params: Params) -> Any:
    return _order_out(venue, _find(venue, params, algo=False))


def _get_algo(venue: Venue, params: Params) -> Any:
    return _order_out(venue, _find(venue, params, algo=True))


def _cancel(venue: Venue, params: Params, *, algo: bool) -> Order:
    order = _find(venue, params, algo=algo)
    try:
        return venue.engine.cancel(symbol=order.symbol, order_id=order.order_id, ts=venue.now())
    except RejectedError as exc:
        raise _rejected(exc) from exc


def _cancel_order(venue: Venue, params: Params) -> Any:
    return _order_out(venue, _cancel(venue, params, algo=False))


def _cancel_algo(venue: Venue, params: Params) -> Any:
    order = _cancel(venue, params, algo=True)
    return {
        "algoId": order.order_id,
        "clientAlgoId": order.client_id,
        "code": "200",
        "msg": "success",
    }


def _open_orders(venue: Venue, params: Params, *, algo: bool) -> Any:
    symbols = set(symbols_of(venue, params))
    return [
        _order_out(venue, o)
        for o in venue.engine.open_orders()
        if o.symbol in symbols and (o.type == "stop_market") == algo
    ]


def _open_order(venue: Venue, params: Params) -> Any:
    order = _find(venue, params, algo=False)
    if not order.is_open:
        raise ApiError(400, -2013, "Order does not exist.")
    return _order_out(venue, order)


def _all_orders(venue: Venue, params: Params, *, algo: bool) -> Any:
    sym = symbol_of(venue, params)
    rows = [o for o in venue.engine.orders(sym) if (o.type == "stop_market") == algo]
    start, end = params.int_("startTime"), params.int_("endTime")
    rows = [o for o in rows if (start is None or o.ts_created >= start)]
    rows = [o for o in rows if (end is None or o.ts_created <= end)]
    return [_order_out(venue, o) for o in rows[-params.limit(500, 1000) :]]


def _cancel_all(venue: Venue, params: Params) -> Any:
    sym = symbol_of(venue, params)
    venue.engine.cancel_all(sym, ts=venue.now())
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


WEEK_MS = 7 * 24 * 3_600_000  # userTrades' longest startTime..endTime span


def _trade_window(venue: Venue, params: Params) -> tuple[int, int] | None:
    """Return the (start, end) userTrades reads, None for no time filter, as Binance does.

    Neither bound: the last 7 days; one bound: 7 days from (or up to) it; both: at most 7
    days apart (-1127). ``fromId`` cannot be combined with a time (-1128); with ``orderId``
    alone every trade of that order is returned.
    """
    start, end = params.int_("startTime"), params.int_("endTime")
    if params.get("fromId") is not None:
        if start is not None or end is not None:
            raise ApiError(400, -1128, "Combination of optional parameters invalid.")
        return None
    if start is None and end is None:
        if params.get("orderId") is not None:
            return None
        now = venue.now()
        return now - WEEK_MS, now
    if start is None:
        assert end is not None
        return end - WEEK_MS, end
    if end is None:
        return start, start + WEEK_MS
    if end < start:
        raise ApiError(400, -1128, "Combination of optional parameters invalid.")
    if end - start > WEEK_MS:
        raise ApiError(400, -1127, "More than 168 hours between startTime and endTime.")
    return start, end


def _user_trades(venue: Venue, params: Params) -> Any:
    """Serve ``/fapi/v1/userTrades``: oldest first; ``limit`` default 500, at most 1000.

    With ``fromId`` or ``startTime`` the first ``limit`` trades from there; otherwise the
    most recent ``limit`` of the window.
    """
    sym = symbol_of(venue, params)
    window = _trade_window(venue, params)
    order_id, from_id = params.int_("orderId"), params.int_("fromId")
    fills = sorted(venue.engine.fills(sym), key=lambda f: f.trade_id)
    fills = [f for f in fills if order_id is None or f.order_id == order_id]
    fills = [f for f in fills if from_id is None or f.trade_id >= from_id]
    if window is not None:
        fills = [f for f in fills if window[0] <= f.ts <= window[1]]
    limit = params.limit(500, 1000)
    from_start = from_id is not None or params.get("startTime") is not None
    chosen = fills[:limit] if from_start else fills[-limit:]
    spec = venue.data.specs[sym]
    return [bj.trade_json(f, spec) for f in chosen]


def _position_rows(venue: Venue, params: Params, *, only_open: bool) -> list[dict[str, Any]]:
    now = venue.now()
    rows = []
    for sym in symbols_of(venue, params):
        pos = venue.engine.position(sym)
        if only_open and pos.qty == 0.0 and not venue.engine.open_orders(sym):
            continue
        rows.append(bj.position_json(pos, venue.data.specs[sym], now))
    return rows


def _account(venue: Venue, params: Params) -> Any:
    rows = _position_rows(venue, Params({}), only_open=False)
    positions = [bj.account_position_json(r) for r in rows]
    return bj.account_json(venue.engine.balance(), positions, venue.now())


def _balance(venue: Venue, params: Params) -> Any:
    return bj.balance_json(venue.engine.balance(), venue.now())


def _leverage(venue: Venue, params: Params) -> Any:
    sym = symbol_of(venue, params)
    params.req("leverage")
    lev = params.int_("leverage")
    assert lev is not None  # req() refused a missing one
    try:
        venue.engine.set_leverage(sym, lev)
    except RejectedError as exc:
        raise _rejected(exc) from exc
    return {
        "leverage": lev,
        "maxNotionalValue": "1000000",
        "symbol": venue.data.specs[sym].venue_id,
    }


def _margin_type(venue: Venue, params: Params) -> Any:
    sym = symbol_of(venue, params)
    mode = params.req("marginType").upper()
    if mode not in ("ISOLATED", "CROSSED"):
        raise ApiError(400, -1102, "marginType must be ISOLATED or CROSSED.")
    try:
        venue.engine.set_margin_mode(sym, "isolated" if mode == "ISOLATED" else "cross")
    except RejectedError as exc:
        raise _rejected(exc) from exc
    return {"code": 200, "msg": "success"}


def _brackets(venue: Venue, params: Params) -> Any:
    out = []
    for sym in symbols_of(venue, params):
        spec = venue.data.specs[sym]
        bracket = {
            "bracket": 1,
            "initialLeverage": spec.max_leverage,
            "notionalCap": 10_000_000,
            "notionalFloor": 0,
            "maintMarginRatio": spec.maintenance_margin_rate,
            "cum": 0.0,
        }
        out.append({"symbol": spec.venue_id, "brackets": [bracket]})
    return out


def _symbol_config(venue: Venue, params: Params) -> Any:
    out = []
    for sym in symbols_of(venue, params):
        pos = venue.engine.position(sym)
        out.append(
            {
                "symbol": venue.data.specs[sym].venue_id,
                "marginType": "ISOLATED" if pos.margin_mode == "isolated" else "CROSSED",
                "isAutoAddMargin": False,
                "leverage": pos.leverage,
                "maxNotionalValue": "1000000",
            }
        )
    return out


def _income(venue: Venue, params: Params) -> Any:
    """Serve ``/fapi/v1/income`` from the venue's funding settlements (``FUNDING_FEE``).

    Oldest first; ``startTime``/``endTime`` inclusive; with ``startTime`` the first ``limit``
    (default 100, at most 1000) from there, otherwise the most recent ``limit`` of the last 7
    days (before ``endTime`` if given). ``tranId``: the settlement's sequence number, unique
    and stable across restarts. Other income types are not simulated (empty).
    """
    kind = params.get("incomeType")
    start, end = params.int_("startTime"), params.int_("endTime")
    if start is None:
        start = (end if end is not None else venue.now()) - WEEK_MS
    sid = venue.data.specs[symbol_of(venue, params)].venue_id if params.get("symbol") else None
    rows = []
    if kind in (None, "FUNDING_FEE"):
        for seq, p in enumerate(venue.engine.funding_payments(), start=1):
            vid = venue.data.specs[p.symbol].venue_id
            if p.ts < start or (end is not None and p.ts > end) or sid not in (None, vid):
                continue
            rows.append(
                {
                    "symbol": vid,
                    "incomeType": "FUNDING_FEE",
                    "income": num(p.amount, 8),
                    "asset": "USDT",
                    "info": "FUNDING_FEE",
                    "time": p.ts,
                    "tranId": seq,
                    "tradeId": "",
                }
            )
    limit = params.limit(100, 1000)
    return rows[:limit] if params.get("startTime") is not None else rows[-limit:]


def _commission(venue: Venue, params: Params) -> Any:
    spec = venue.data.specs[symbol_of(venue, params)]
    fees = venue.engine.fees
    return {
        "symbol": spec.venue_id,
        "makerCommissionRate": f"{fees.maker_fee_bps * 1e-4:.6f}",
        "takerCommissionRate": f"{fees.taker_fee_bps * 1e-4:.6f}",
    }


def _many(params: Params) -> int:
    return 1 if params.get("symbol") else 40


ACCOUNT_ROUTES: dict[tuple[str, str], Route] = {
    ("POST", "/fapi/v1/order"): Route(_new_order, 1, True),
    ("GET", "/fapi/v1/order"): Route(_get_order, 1, True),
    ("DELETE", "/fapi/v1/order"): Route(_cancel_order, 1, True),
    ("GET", "/fapi/v1/openOrder"): Route(_open_order, 1, True),
    ("GET", "/fapi/v1/openOrders"): Route(lambda v, p: _open_orders(v, p, algo=False), _many, True),
    ("GET", "/fapi/v1/allOrders"): Route(lambda v, p: _all_orders(v, p, algo=False), 5, True),
    ("DELETE", "/fapi/v1/allOpenOrders"): Route(_cancel_all, 1, True),
    ("POST", "/fapi/v1/algoOrder"): Route(_new_algo, 1, True),
    ("GET", "/fapi/v1/algoOrder"): Route(_get_algo, 1, True),
    ("DELETE", "/fapi/v1/algoOrder"): Route(_cancel_algo, 1, True),
    ("GET", "/fapi/v1/openAlgoOrders"): Route(
        lambda v, p: _open_orders(v, p, algo=True), _many, True
    ),
    ("GET", "/fapi/v1/allAlgoOrders"): Route(lambda v, p: _all_orders(v, p, algo=True), 5, True),
    ("GET", "/fapi/v1/userTrades"): Route(_user_trades, 5, True),
    ("GET", "/fapi/v2/positionRisk"): Route(
        lambda v, p: _position_rows(v, p, only_open=False), 5, True
    ),
    ("GET", "/fapi/v3/positionRisk"): Route(
        lambda v, p: _position_rows(v, p, only_open=True), 5, True
    ),
    ("GET", "/fapi/v2/account"): Route(_account, 5, True),
    ("GET", "/fapi/v3/account"): Route(_account, 5, True),
    ("GET", "/fapi/v2/balance"): Route(_balance, 5, True),
    ("GET", "/fapi/v3/balance"): Route(_balance, 5, True),
    ("POST", "/fapi/v1/leverage"): Route(_leverage, 1, True),
    ("POST", "/fapi/v1/marginType"): Route(_margin_type, 1, True),
    ("GET", "/fapi/v1/leverageBracket"): Route(_brackets, 1, True),
    ("GET", "/fapi/v1/symbolConfig"): Route(_symbol_config, 5, True),
    ("GET", "/fapi/v1/positionSide/dual"): Route(
        lambda v, p: {"dualSidePosition": False}, 30, True
    ),
    ("GET", "/fapi/v1/income"): Route(_income, 30, True),
    ("GET", "/fapi/v1/commissionRate"): Route(_commission, 20, True),
}
