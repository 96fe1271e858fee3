"""Bybit v5 JSON shapes of the venue's objects, its envelope and its error codes.

Field sets follow the recorded v5 payloads in ``shared/data/exchange_responses`` (nautilus
``bybit/test_data/http_get_*.json``). Every answer is wrapped as
``{"retCode": 0, "retMsg": "OK", "result": ..., "retExtInfo": {}, "time": ms}``; an error is
the same envelope with a non-zero ``retCode`` (HTTP 200, as Bybit answers), translated from
the engine's Binance codes by :func:`to_bybit`.
"""

from __future__ import annotations

from typing import Any

from xsmom.sim.types import Balance, Fill, MarketSpec, Order, OrderStatus, Position
from xsmom.venue.binance import ApiError, num

JSON = dict[str, Any]

PARAMS, EXPIRED, BAD_KEY, BAD_SIGN, RATE_LIMIT = 10001, 10002, 10003, 10004, 10006
NOT_FOUND, BALANCE, REDUCE_ONLY, LEVERAGE_SAME = 110001, 110007, 110017, 110043
DUPLICATE_LINK_ID, MIN_NOTIONAL = 110072, 110094

# the engine's (Binance) reject codes -> Bybit retCode; anything else is a parameter error
_FROM_BINANCE = {
    -2019: BALANCE,
    -2022: REDUCE_ONLY,
    -2013: NOT_FOUND,
    -2011: NOT_FOUND,
    -4116: DUPLICATE_LINK_ID,
    -4164: MIN_NOTIONAL,
    -1021: EXPIRED,
    -5028: EXPIRED,
    -1003: RATE_LIMIT,
    -1015: RATE_LIMIT,
    -2015: BAD_KEY,
    -1022: BAD_SIGN,
}
_STATUS = {
    OrderStatus.NEW: "New",
    OrderStatus.PARTIALLY_FILLED: "PartiallyFilled",
    OrderStatus.FILLED: "Filled",
    OrderStatus.CANCELED: "Cancelled",
    OrderStatus.REJECTED: "Rejected",
    OrderStatus.EXPIRED: "Cancelled",
}
_TYPES = {"market": "Market", "limit": "Limit", "stop_market": "Market"}
_TIF = {"GTC": "GTC", "IOC": "IOC", "FOK": "FOK", "GTX": "PostOnly"}


class BybitError(ApiError):
    """A Bybit error answer: HTTP status (200 unless the gateway fails) and ``retCode``."""

    def __init__(self, code: int, msg: str, status: int = 200) -> None:
        super().__init__(status, code, msg)

    def body(self) -> JSON:
        """Return the Bybit error envelope."""
        return {"retCode": self.code, "retMsg": self.msg, "result": {}, "retExtInfo": {}}


def to_bybit(exc: ApiError) -> ApiError:
    """Return ``exc`` as Bybit answers it; a 5xx is the proxy's plain-text answer."""
    if isinstance(exc, BybitError):
        return exc
    if exc.status >= 500:  # maintenance, 502/503/504: no Bybit envelope
        return ApiError(exc.status, 0, exc.msg, exc.headers)
    out = BybitError(_FROM_BINANCE.get(exc.code, PARAMS), exc.msg)
    out.headers = dict(exc.headers)
    return out


def envelope(result: Any, now_ms: int) -> JSON:
    """Return a successful answer around ``result``."""
    return {"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms}


def instrument_json(spec: MarketSpec, launch_ms: int) -> JSON:
    """Return one ``/v5/market/instruments-info`` entry (a linear perpetual)."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    return {
        "symbol": spec.venue_id,
        "contractType": "LinearPerpetual",
        "status": "Trading",
        "baseCoin": spec.base,
        "quoteCoin": spec.quote,
        "settleCoin": spec.quote,
        "launchTime": str(launch_ms),
        "deliveryTime": "0",
        "deliveryFeeRate": "",
        "priceScale": str(pd),
        "leverageFilter": {
            "minLeverage": "1",
            "maxLeverage": f"{spec.max_leverage}.00",
            "leverageStep": "0.01",
        },
        "priceFilter": {
            "minPrice": num(spec.price_tick, pd),
            "maxPrice": "1999999.80",
            "tickSize": num(spec.price_tick, pd),
        },
        "lotSizeFilter": {
            "maxOrderQty": "1000000",
            "minOrderQty": num(spec.min_qty, qd),
            "qtyStep": num(spec.qty_step, qd),
            "postOnlyMaxOrderQty": "1000000",
            "maxMktOrderQty": "1000000",
            "minNotionalValue": f"{spec.min_notional:g}",
        },
        "unifiedMarginTrade": True,
        "fundingInterval": 480,
        "copyTrading": "both",
        "isPreListing": False,
        "preListingInfo": None,
    }


def order_json(o: Order, spec: MarketSpec) -> JSON:
    """Return an order as ``/v5/order/realtime`` and ``/v5/order/history`` show it."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    value = o.filled_qty * o.avg_price * spec.contract_size
    leaves = o.qty - o.filled_qty if o.is_open else 0.0
    price = o.price if o.type == "limit" and o.price is not None else 0.0
    return {
        "orderId": str(o.order_id),
        "orderLinkId": o.client_id,
        "blockTradeId": "",
        "symbol": spec.venue_id,
        "price": num(price, pd),
        "qty": num(o.qty, qd),
        "side": "Buy" if o.side == "buy" else "Sell",
        "isLeverage": "",
        "positionIdx": 0,
        "orderStatus": _STATUS[o.status],
        "cancelType": "CancelByUser" if o.status is OrderStatus.CANCELED else "UNKNOWN",
        "rejectReason": "EC_NoError",
        "avgPrice": num(o.avg_price, pd) if o.filled_qty > 0 else "",
        "leavesQty": num(leaves, qd),
        "leavesValue": num(leaves * price * spec.contract_size, 8),
        "cumExecQty": num(o.filled_qty, qd),
        "cumExecValue": num(value, 8),
        "cumExecFee": "0",
        "timeInForce": _TIF[o.time_in_force],
        "orderType": _TYPES[o.type],
        "stopOrderType": "Stop" if o.type == "stop_market" else "",
        "orderIv": "",
        "triggerPrice": num(o.stop_price or 0.0, pd),
        "takeProfit": "0",
        "stopLoss": "0",
        "tpTriggerBy": "",
        "slTriggerBy": "",
        "triggerDirection": 0,
        "triggerBy": "LastPrice" if o.type == "stop_market" else "",
        "lastPriceOnCreated": "",
        "reduceOnly": o.reduce_only,
        "closeOnTrigger": False,
        "smpType": "None",
        "smpGroup": 0,
        "smpOrderId": "",
        "tpslMode": "",
        "tpLimitPrice": "0",
        "slLimitPrice": "0",
        "placeType": "",
        "createdTime": str(o.ts_created),
        "updatedTime": str(o.ts_updated),
    }


def execution_json(f: Fill, spec: MarketSpec, order: Order) -> JSON:
    """Return a fill as ``/v5/execution/list`` shows it (``execId``: the venue's trade id)."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    value = f.qty * f.price * spec.contract_size
    return {
        "symbol": spec.venue_id,
        "orderId": str(f.order_id),
        "orderLinkId": f.client_id,
        "side": "Buy" if f.side == "buy" else "Sell",
        "orderPrice": num(order.price or 0.0, pd),
        "orderQty": num(order.qty, qd),
        "leavesQty": num(max(order.qty - order.filled_qty, 0.0), qd),
        "createType": "CreateByUser",
        "orderType": _TYPES[order.type],
        "stopOrderType": "",
        "execFee": num(f.fee, 8),
        "execId": str(f.trade_id),
        "execPrice": num(f.price, max(pd, 8)),
        "execQty": num(f.qty, qd),
        "execType": "BustTrade" if f.liquidation else "Trade",
        "execValue": num(value, 8),
        "execTime": str(f.ts),
        "feeCurrency": spec.quote,
        "isMaker": f.is_maker,
        "feeRate": num(f.fee / value if value else 0.0, 8),
        "tradeIv": "",
        "markIv": "",
        "markPrice": "",
        "indexPrice": "",
        "underlyingPrice": "",
        "blockTradeId": "",
        "closedSize": "0",
        "seq": f.trade_id,
    }


def position_json(p: Position, spec: MarketSpec, ts: int) -> JSON:
    """Return a position as ``/v5/position/list`` shows it (one-way mode: ``positionIdx`` 0)."""
    qd = spec.qty_decimals()
    side = "Buy" if p.qty > 0 else "Sell" if p.qty < 0 else ""
    return {
        "positionIdx": 0,
        "riskId": 1,
        "riskLimitValue": "2000000",
        "symbol": spec.venue_id,
        "side": side,
        "size": num(abs(p.qty), qd),
        "avgPrice": num(p.entry_price, 8),
        "positionValue": num(abs(p.notional), 8),
        "tradeMode": 1 if p.margin_mode == "isolated" else 0,
        "positionStatus": "Normal",
        "autoAddMargin": 0,
        "adlRankIndicator": 0,
        "leverage": str(p.leverage),
        "positionBalance": num(p.initial_margin, 8),
        "markPrice": num(p.mark_price, 8),
        "liqPrice": "",
        "bustPrice": "",
        "positionMM": num(p.maintenance_margin, 8),
        "positionIM": num(p.initial_margin, 8),
        "tpslMode": "Full",
        "takeProfit": "0",
        "stopLoss": "0",
        "trailingStop": "0",
        "unrealisedPnl": num(p.unrealized_pnl, 8),
        "curRealisedPnl": "0",
        "cumRealisedPnl": "0",
        "seq": ts,
        "isReduceOnly": False,
        "mmrSysUpdatedTime": "",
        "leverageSysUpdatedTime": "",
        "createdTime": str(ts),
        "updatedTime": str(ts),
    }


def wallet_json(b: Balance) -> JSON:
    """Return the ``UNIFIED`` account of ``/v5/account/wallet-balance`` (USDT only)."""
    coin = {
        "coin": "USDT",
        "equity": num(b.equity),
        "usdValue": num(b.equity),
        "walletBalance": num(b.wallet),
        "unrealisedPnl": num(b.unrealized_pnl),
        "cumRealisedPnl": "0",
        "availableToWithdraw": num(b.available),
        "availableToBorrow": "",
        "borrowAmount": "0",
        "accruedInterest": "0",
        "totalOrderIM": num(b.order_margin),
        "totalPositionIM": num(b.position_margin),
        "totalPositionMM": num(b.maintenance_margin),
        "locked": "0",
        "bonus": "0",
        "collateralSwitch": True,
        "marginCollateral": True,
        "spotBorrow": "0",
    }
    return {
        "accountType": "UNIFIED",
        "totalEquity": num(b.equity),
        "totalWalletBalance": num(b.wallet),
        "totalMarginBalance": num(b.equity),
        "totalAvailableBalance": num(b.available),
        "totalPerpUPL": num(b.unrealized_pnl),
        "totalInitialMargin": num(b.position_margin + b.order_margin),
        "totalMaintenanceMargin": num(b.maintenance_margin),
        "accountIMRate": "0",
        "accountMMRate": "0",
        "accountLTV": "0",
        "coin": [coin],
    }
