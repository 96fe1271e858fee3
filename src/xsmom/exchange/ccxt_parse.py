"""Parse ccxt's unified structures (markets, balances, orders, ...) into frozen reports.

Quantities are converted from contracts to base units with the market's contract size (in
exact decimals, `precision.from_contracts`), so every report uses the same unit whatever the
venue.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from xsmom.errors import DataError
from xsmom.exchange.precision import from_contracts
from xsmom.exchange.reports import (
    BalanceReport,
    FillReport,
    FundingEvent,
    FundingPaymentReport,
    MarginMode,
    MarketInfo,
    MarkPrice,
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionReport,
    Ticker,
)

Raw = Mapping[str, Any]
TICK_SIZE = 4  # ccxt.TICK_SIZE; DECIMAL_PLACES (2) and SIGNIFICANT_DIGITS (3) give digits


def fnum(value: Any, default: float | None = None) -> float | None:
    """Return ``value`` as float, or ``default`` when it is None or not a number."""
    if value is None or value == "":
        return default
    try:
        return float(value)
    except (TypeError, ValueError):
        return default


def f0(value: Any) -> float:
    """Return ``value`` as float, 0.0 when missing."""
    out = fnum(value, 0.0)
    return 0.0 if out is None else out


def _step(value: Any, precision_mode: int) -> float:
    v = fnum(value)
    if v is None:
        return 0.0
    return v if precision_mode == TICK_SIZE else 10.0 ** (-int(v))


def is_linear_swap(m: Raw) -> bool:
    """Return True for an active linear perpetual."""
    return bool(m.get("swap")) and bool(m.get("linear")) and m.get("active") is not False


def parse_market(m: Raw, precision_mode: int = TICK_SIZE) -> MarketInfo:
    """Return the MarketInfo of a ccxt market dict (quantities in base units)."""
    cs = fnum(m.get("contractSize"), 1.0) or 1.0
    precision = m.get("precision") or {}
    limits = m.get("limits") or {}
    lev = fnum((limits.get("leverage") or {}).get("max"), 20.0) or 20.0
    return MarketInfo(
        symbol=str(m["symbol"]),
        venue_id=str(m["id"]),
        price_tick=_step(precision.get("price"), precision_mode),
        qty_step=from_contracts(_step(precision.get("amount"), precision_mode), cs),
        min_qty=from_contracts(f0((limits.get("amount") or {}).get("min")), cs),
        min_notional=f0((limits.get("cost") or {}).get("min")),
        contract_size=cs,
        max_leverage=int(lev),
    )


def _nested_first(info: Any, *keys: str) -> float | None:
    """Return the first of ``keys`` in ``info`` or in Bybit's ``result.list[0]``."""
    candidates = [info]
    if isinstance(info, Mapping):
        rows = (
            (info.get("result") or {}).get("list")
            if isinstance(info.get("result"), Mapping)
            else None
        )
        if isinstance(rows, list) and rows and isinstance(rows[0], Mapping):
            candidates.append(rows[0])
    for c in candidates:
        if isinstance(c, Mapping):
            for k in keys:
                v = fnum(c.get(k))
                if v is not None:
                    return v
    return None


def _bybit_coin_equity(info: Any, currency: str) -> float | None:
    """Return ``equity`` of ``currency`` in Bybit's unified wallet (ccxt's ``total`` there is
    the coin's ``walletBalance``, without the unrealized PnL), or None elsewhere."""
    result = info.get("result") if isinstance(info, Mapping) else None
    rows = result.get("list") if isinstance(result, Mapping) else None
    if not isinstance(rows, list) or not rows or not isinstance(rows[0], Mapping):
        return None
    for coin in rows[0].get("coin") or []:
        if isinstance(coin, Mapping) and coin.get("coin") == currency:
            return fnum(coin.get("equity"))
    return None


def parse_balance(b: Raw, currency: str, ts: int) -> BalanceReport:
    """Return the BalanceReport of a ccxt balance for ``currency``."""
    acct = b.get(currency) or {}
    info = b.get("info") or {}
    coin_equity = _bybit_coin_equity(info, currency)
    equity = coin_equity if coin_equity is not None else f0(acct.get("total"))
    unreal = _nested_first(info, "totalUnrealizedProfit", "totalPerpUPL") or 0.0
    wallet = _nested_first(info, "totalWalletBalance")
    return BalanceReport(
        currency=currency,
        wallet=wallet if wallet is not None else equity - unreal,
        equity=equity,
        free=f0(acct.get("free")),
        used_margin=f0(acct.get("used")),
        unrealized=unreal,
        ts=int(b.get("timestamp") or ts),
    )


def parse_position(p: Raw, market: MarketInfo, ts: int) -> PositionReport:
    """Return the PositionReport of a ccxt position (signed base-unit quantity)."""
    size = fnum(p.get("contractSize"), None) or market.contract_size
    qty = from_contracts(f0(p.get("contracts")), size)
    if p.get("side") == "short" and qty > 0:
        qty = -qty
    mode = MarginMode.ISOLATED if p.get("marginMode") == "isolated" else MarginMode.CROSS
    return PositionReport(
        symbol=market.symbol,
        qty=qty,
        entry_price=f0(p.get("entryPrice")),
        mark_price=f0(p.get("markPrice")),
        unrealized=f0(p.get("unrealizedPnl")),
        leverage=f0(p.get("leverage")),
        margin_mode=mode,
        liquidation_price=fnum(p.get("liquidationPrice")) or None,
        ts=int(p.get("timestamp") or ts),
    )


_STATUS = {
    "open": OrderStatus.NEW,
    "closed": OrderStatus.FILLED,
    "canceled": OrderStatus.CANCELED,
    "cancelled": OrderStatus.CANCELED,
    "expired": OrderStatus.EXPIRED,
    "rejected": OrderStatus.REJECTED,
}


def _order_type(o: Raw) -> OrderType:
    raw = str(o.get("type") or "").lower()
    if "stop" in raw or "trigger" in raw or fnum(o.get("triggerPrice") or o.get("stopPrice")):
        return OrderType.STOP_MARKET
    return OrderType.MARKET if raw == "market" else OrderType.LIMIT


def parse_order(o: Raw, market: MarketInfo, ts: int) -> OrderReport:
    """Return the OrderReport of a ccxt order."""
    cs = market.contract_size
    filled = from_contracts(f0(o.get("filled")), cs)
    status = _STATUS.get(str(o.get("status") or "open"), OrderStatus.NEW)
    if status is OrderStatus.NEW and filled > 0:
        status = OrderStatus.PARTIALLY_FILLED
    otype = _order_type(o)
    post_only = bool(o.get("postOnly")) or o.get("timeInForce") in ("PO", "GTX")
    return OrderReport(
        venue_order_id=str(o.get("id")),
        client_id=o.get("clientOrderId") or None,
        symbol=market.symbol,
        side=OrderSide(str(o.get("side")).lower()),
        type=otype,
        qty=from_contracts(f0(o.get("amount")), cs),
        price=None if otype is not OrderType.LIMIT else fnum(o.get("price")),
        stop_price=fnum(o.get("triggerPrice") or o.get("stopPrice")) or None,
        filled=filled,
        avg_price=fnum(o.get("average")) or None,
        status=status,
        reduce_only=bool(o.get("reduceOnly")),
        post_only=post_only,
        ts=int(o.get("lastUpdateTimestamp") or o.get("timestamp") or ts),
    )


def parse_fill(t: Raw, market: MarketInfo) -> FillReport:
    """Return the FillReport of a ccxt trade."""
    fee = t.get("fee") or {}
    info = t.get("info") or {}
    return FillReport(
        trade_id=str(t.get("id")),
        venue_order_id=str(t.get("order")),
        client_id=t.get("clientOrderId") or None,
        symbol=market.symbol,
        side=OrderSide(str(t.get("side")).lower()),
        qty=from_contracts(f0(t.get("amount")), market.contract_size),
        price=f0(t.get("price")),
        fee=f0(fee.get("cost")),
        fee_currency=str(fee.get("currency") or ""),
        is_maker=t.get("takerOrMaker") == "maker",
        realized_pnl=f0(info.get("realizedPnl") if isinstance(info, Mapping) else None),
        ts=int(t.get("timestamp") or 0),
    )


def parse_ticker(t: Raw, symbol: str, ts: int) -> Ticker:
    """Return the Ticker of a ccxt ticker."""
    last = fnum(t.get("last")) or fnum(t.get("close")) or 0.0
    return Ticker(
        symbol=symbol,
        last=last,
        bid=fnum(t.get("bid")),
        ask=fnum(t.get("ask")),
        mark=fnum(t.get("markPrice")),
        ts=int(t.get("timestamp") or ts),
    )


def with_touch(t: Ticker, book: Raw | None) -> Ticker:
    """Return ``t`` with bid, ask and their time from a ccxt bids/asks entry that has both."""
    if book is None:
        return t
    bid, ask = fnum(book.get("bid")), fnum(book.get("ask"))
    if bid is None or ask is None:
        return t
    return dataclasses.replace(t, bid=bid, ask=ask, ts=int(book.get("timestamp") or t.ts))


def parse_funding_rate(r: Raw, symbol: str, ts: int) -> MarkPrice:
    """Return the MarkPrice of a ccxt funding-rate structure (premium index)."""
    nxt = r.get("nextFundingTimestamp") or r.get("fundingTimestamp")
    return MarkPrice(
        symbol=symbol,
        mark=f0(r.get("markPrice")),
        index=fnum(r.get("indexPrice")),
        funding_rate=fnum(r.get("fundingRate")),
        next_funding_ts=int(nxt) if nxt else None,
        ts=int(r.get("timestamp") or ts),
    )


def parse_funding_event(r: Raw, symbol: str) -> FundingEvent:
    """Return the FundingEvent of a ccxt funding-rate-history entry."""
    return FundingEvent(symbol=symbol, rate=f0(r.get("fundingRate")), ts=int(r["timestamp"]))


def parse_funding_payment(r: Raw, symbol: str) -> FundingPaymentReport:
    """Return the FundingPaymentReport of a ccxt funding-history (income) entry."""
    pid = r.get("id")
    if pid in (None, ""):
        raise DataError(f"{symbol}: a funding payment without an id: {dict(r)!r}")
    return FundingPaymentReport(
        payment_id=str(pid),
        symbol=symbol,
        amount=f0(r.get("amount")),
        currency=str(r.get("code") or ""),
        ts=int(r["timestamp"]),
    )
