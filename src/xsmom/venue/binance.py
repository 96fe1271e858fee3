"""Binance USDT-M JSON shapes of the venue's objects (numbers as strings, as Binance sends them).

Field sets follow the recorded fapi payloads in ``shared/data/exchange_responses`` (nautilus
``http_futures_*.json`` and ``test_data/futures/http_json``); a test compares the key sets.
"""

from __future__ import annotations

from typing import Any

from xsmom.sim import Balance, Fill, MarketSpec, Order, OrderStatus, Position

JSON = dict[str, Any]

ORDER_TYPES = ["LIMIT", "MARKET", "STOP", "STOP_MARKET", "TAKE_PROFIT", "TAKE_PROFIT_MARKET"]
_STATUS = {
    OrderStatus.NEW: "NEW",
    OrderStatus.PARTIALLY_FILLED: "PARTIALLY_FILLED",
    OrderStatus.FILLED: "FILLED",
    OrderStatus.CANCELED: "CANCELED",
    OrderStatus.REJECTED: "REJECTED",
    OrderStatus.EXPIRED: "EXPIRED",
}
_ALGO_STATUS = {
    **_STATUS,
    OrderStatus.FILLED: "FINISHED",
    OrderStatus.PARTIALLY_FILLED: "TRIGGERED",
}
_TYPES = {"market": "MARKET", "limit": "LIMIT", "stop_market": "STOP_MARKET"}


class ApiError(Exception):
    """An error answer: HTTP status, Binance code and message."""

    def __init__(
        self, status: int, code: int, msg: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code} {msg}")
        self.status = status
        self.code = code
        self.msg = msg
        self.headers = headers or {}

    def body(self) -> JSON:
        """Return the Binance error body."""
        return {"code": self.code, "msg": self.msg}


def num(value: float, decimals: int = 8) -> str:
    """Format a number the way Binance does (fixed decimals, as a string)."""
    return f"{value:.{decimals}f}"


def exchange_info(specs: list[MarketSpec], server_time: int) -> JSON:
    """Return ``/fapi/v1/exchangeInfo``."""
    return {
        "timezone": "UTC",
        "serverTime": server_time,
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": 2400,
            },
            {"rateLimitType": "ORDERS", "interval": "MINUTE", "intervalNum": 1, "limit": 1200},
            {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": 300},
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [symbol_info(s) for s in specs],
    }


def symbol_info(spec: MarketSpec) -> JSON:
    """Return one ``symbols`` entry of exchangeInfo."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    lot = {
        "stepSize": num(spec.qty_step, qd),
        "maxQty": "10000000",
        "minQty": num(spec.min_qty, qd),
    }
    return {
        "symbol": spec.venue_id,
        "pair": spec.venue_id,
        "contractType": "PERPETUAL",
        "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000,
        "status": "TRADING",
        "maintMarginPercent": "2.5000",
        "requiredMarginPercent": "5.0000",
        "baseAsset": spec.base,
        "quoteAsset": spec.quote,
        "marginAsset": spec.quote,
        "pricePrecision": pd,
        "quantityPrecision": qd,
        "baseAssetPrecision": 8,
        "quotePrecision": 8,
        "underlyingType": "COIN",
        "underlyingSubType": [],
        "settlePlan": 0,
        "triggerProtect": "0.0500",
        "liquidationFee": "0.010000",
        "marketTakeBound": "0.30",
        "filters": [
            {
                "minPrice": num(spec.price_tick, pd),
                "maxPrice": "10000000",
                "filterType": "PRICE_FILTER",
                "tickSize": num(spec.price_tick, pd),
            },
            {**lot, "filterType": "LOT_SIZE"},
            {**lot, "filterType": "MARKET_LOT_SIZE"},
            {"limit": 200, "filterType": "MAX_NUM_ORDERS"},
            {"limit": 10, "filterType": "MAX_NUM_ALGO_ORDERS"},
            {"notional": f"{spec.min_notional:g}", "filterType": "MIN_NOTIONAL"},
            {
                "multiplierDown": "0.0500",
                "multiplierUp": "20.0000",
                "multiplierDecimal": "4",
                "filterType": "PERCENT_PRICE",
            },
        ],
        "orderTypes": ORDER_TYPES,
        "timeInForce": ["GTC", "IOC", "FOK", "GTX"],
    }


def order_json(o: Order, spec: MarketSpec) -> JSON:
    """Return an order as ``/fapi/v1/order`` shows it."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    return {
        "orderId": o.order_id,
        "symbol": spec.venue_id,
        "status": _STATUS[o.status],
        "clientOrderId": o.client_id,
        "price": num(o.price or 0.0, pd),
        "avgPrice": num(o.avg_price, 8),
        "origQty": num(o.qty, qd),
        "executedQty": num(o.filled_qty, qd),
        "cumQty": num(o.filled_qty, qd),
        "cumQuote": num(o.filled_qty * o.avg_price * spec.contract_size, 8),
        "timeInForce": o.time_in_force,
        "type": _TYPES[o.type],
        "reduceOnly": o.reduce_only,
        "closePosition": False,
        "side": o.side.upper(),
        "positionSide": "BOTH",
        "stopPrice": num(o.stop_price or 0.0, pd),
        "workingType": "CONTRACT_PRICE",
        "priceProtect": False,
        "origType": _TYPES[o.type],
        "priceMatch": "NONE",
        "selfTradePreventionMode": "NONE",
        "goodTillDate": 0,
        "time": o.ts_created,
        "updateTime": o.ts_updated,
    }


def algo_order_json(o: Order, spec: MarketSpec) -> JSON:
    """Return a stop-market order as the algo-order endpoints (``/fapi/v1/algoOrder``) show it."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    done = o.status is OrderStatus.FILLED
    return {
        "algoId": o.order_id,
        "clientAlgoId": o.client_id,
        "algoType": "CONDITIONAL",
        "orderType": "STOP_MARKET",
        "type": "STOP_MARKET",
        "symbol": spec.venue_id,
        "side": o.side.upper(),
        "positionSide": "BOTH",
        "timeInForce": "GTC",
        "quantity": num(o.qty, qd),
        "algoStatus": _ALGO_STATUS[o.status],
        "triggerPrice": num(o.stop_price or 0.0, pd),
        "price": num(0.0, pd),
        "icebergQuantity": None,
        "selfTradePreventionMode": "NONE",
        "workingType": "CONTRACT_PRICE",
        "priceMatch": "NONE",
        "closePosition": False,
        "priceProtect": False,
        "reduceOnly": o.reduce_only,
        "actualOrderId": str(o.order_id) if done else "",
        "actualPrice": num(o.avg_price, 8),
        "executedQty": num(o.filled_qty, qd),
        "createTime": o.ts_created,
        "updateTime": o.ts_updated,
        "triggerTime": o.ts_updated if done else 0,
        "goodTillDate": 0,
    }


def trade_json(f: Fill, spec: MarketSpec) -> JSON:
    """Return a fill as ``/fapi/v1/userTrades`` shows it."""
    pd, qd = spec.price_decimals(), spec.qty_decimals()
    return {
        "symbol": spec.venue_id,
        "id": f.trade_id,
        "orderId": f.order_id,
        "side": f.side.upper(),
        "price": num(f.price, max(pd, 8)),
        "qty": num(f.qty, qd),
        "realizedPnl": num(f.realized_pnl, 8),
        "marginAsset": spec.quote,
        "quoteQty": num(f.qty * f.price * spec.contract_size, 8),
        "commission": num(f.fee, 8),
        "commissionAsset": spec.quote,
        "time": f.ts,
        "positionSide": "BOTH",
        "buyer": f.side == "buy",
        "maker": f.is_maker,
    }


def position_json(p: Position, spec: MarketSpec, ts: int) -> JSON:
    """Return a position as ``/fapi/v2|v3/positionRisk`` shows it (union of both versions)."""
    qd = spec.qty_decimals()
    return {
        "symbol": spec.venue_id,
        "positionSide": "BOTH",
        "positionAmt": num(p.qty, qd),
        "entryPrice": num(p.entry_price, 8),
        "breakEvenPrice": num(p.entry_price, 8),
        "markPrice": num(p.mark_price, 8),
        "unRealizedProfit": num(p.unrealized_pnl, 8),
        "liquidationPrice": "0",
        "leverage": str(p.leverage),
        "maxNotionalValue": "250000",
        "marginType": p.margin_mode,
        "isolatedMargin": "0.00000000",
        "isAutoAddMargin": "false",
        "notional": num(p.notional, 8),
        "marginAsset": spec.quote,
        "isolatedWallet": "0",
        "initialMargin": num(p.initial_margin, 8),
        "maintMargin": num(p.maintenance_margin, 8),
        "positionInitialMargin": num(p.initial_margin, 8),
        "openOrderInitialMargin": "0",
        "adl": 0,
        "bidNotional": "0",
        "askNotional": "0",
        "updateTime": ts,
    }


def account_json(b: Balance, positions: list[JSON], ts: int) -> JSON:
    """Return ``/fapi/v2|v3/account``."""
    asset = {
        "asset": "USDT",
        "walletBalance": num(b.wallet),
        "unrealizedProfit": num(b.unrealized_pnl),
        "marginBalance": num(b.equity),
        "maintMargin": num(b.maintenance_margin),
        "initialMargin": num(b.position_margin + b.order_margin),
        "positionInitialMargin": num(b.position_margin),
        "openOrderInitialMargin": num(b.order_margin),
        "crossWalletBalance": num(b.wallet),
        "crossUnPnl": num(b.unrealized_pnl),
        "availableBalance": num(b.available),
        "maxWithdrawAmount": num(b.available),
        "marginAvailable": True,
        "updateTime": ts,
    }
    return {
        "feeTier": 0,
        "canTrade": True,
        "canDeposit": True,
        "canWithdraw": True,
        "updateTime": 0,
        "multiAssetsMargin": False,
        "tradeGroupId": -1,
        "totalInitialMargin": num(b.position_margin + b.order_margin),
        "totalMaintMargin": num(b.maintenance_margin),
        "totalWalletBalance": num(b.wallet),
        "totalUnrealizedProfit": num(b.unrealized_pnl),
        "totalMarginBalance": num(b.equity),
        "totalPositionInitialMargin": num(b.position_margin),
        "totalOpenOrderInitialMargin": num(b.order_margin),
        "totalCrossWalletBalance": num(b.wallet),
        "totalCrossUnPnl": num(b.unrealized_pnl),
        "availableBalance": num(b.available),
        "maxWithdrawAmount": num(b.available),
        "assets": [asset],
        "positions": positions,
    }


def balance_json(b: Balance, ts: int) -> list[JSON]:
    """Return ``/fapi/v2|v3/balance``."""
    return [
        {
            "accountAlias": "SgsR",
            "asset": "USDT",
            "balance": num(b.wallet),
            "crossWalletBalance": num(b.wallet),
            "crossUnPnl": num(b.unrealized_pnl),
            "availableBalance": num(b.available),
            "maxWithdrawAmount": num(b.available),
            "marginAvailable": True,
            "updateTime": ts,
        }
    ]


def account_position_json(p: JSON) -> JSON:
    """Return the ``positions`` entry of the account endpoint from a positionRisk entry."""
    keys = (
        "symbol",
        "initialMargin",
        "maintMargin",
        "positionInitialMargin",
        "openOrderInitialMargin",
        "leverage",
        "entryPrice",
        "maxNotionalValue",
        "bidNotional",
        "askNotional",
        "positionSide",
        "positionAmt",
        "updateTime",
        "notional",
        "isolatedWallet",
        "breakEvenPrice",
    )
    out = {k: p[k] for k in keys}
    out["unrealizedProfit"] = p["unRealizedProfit"]
    out["isolated"] = p["marginType"] == "isolated"
    out["maxNotional"] = p["maxNotionalValue"]
    return out
