"""Conversion of matching-engine objects into the exchange reports (paper adapter)."""

from __future__ import annotations

from xsmom.exchange.reports import (
    FillReport,
    MarginMode,
    OrderReport,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionReport,
)
from xsmom.sim import Balance, Fill, MatchingEngine, Order, Position


def order_report(o: Order) -> OrderReport:
    """Return the OrderReport of an engine order."""
    return OrderReport(
        venue_order_id=str(o.order_id),
        client_id=o.client_id,
        symbol=o.symbol,
        side=OrderSide(o.side),
        type=OrderType(o.type),
        qty=o.qty,
        price=o.price,
        stop_price=o.stop_price,
        filled=o.filled_qty,
        avg_price=o.avg_price or None,
        status=OrderStatus(o.status.value),
        reduce_only=o.reduce_only,
        post_only=o.post_only,
        ts=o.ts_updated,
    )


def fill_report(f: Fill, currency: str) -> FillReport:
    """Return the FillReport of an engine fill."""
    return FillReport(
        trade_id=str(f.trade_id),
        venue_order_id=str(f.order_id),
        client_id=f.client_id,
        symbol=f.symbol,
        side=OrderSide(f.side),
        qty=f.qty,
        price=f.price,
        fee=f.fee,
        fee_currency=currency,
        is_maker=f.is_maker,
        realized_pnl=f.realized_pnl,
        ts=f.ts,
    )


def liquidation_price(p: Position, engine: MatchingEngine, b: Balance) -> float | None:
    """Return the mark at which cross margin liquidates ``p``, others held constant."""
    mmr = engine.markets[p.symbol].maintenance_margin_rate
    others_upnl = b.unrealized_pnl - p.unrealized_pnl
    others_maint = b.maintenance_margin - p.maintenance_margin
    cushion = b.wallet + others_upnl - others_maint
    # wallet' + q (x - entry) = |q| x mmr  =>  x = (wallet' - q entry) / (|q| mmr - q)
    denom = abs(p.qty) * mmr - p.qty
    if denom == 0:
        return None
    price = (cushion - p.qty * p.entry_price) / denom
    return price if price > 0 else None


def position_report(p: Position, engine: MatchingEngine, b: Balance, ts: int) -> PositionReport:
    """Return the PositionReport of an engine position."""
    return PositionReport(
        symbol=p.symbol,
        qty=p.qty,
        entry_price=p.entry_price,
        mark_price=p.mark_price,
        unrealized=p.unrealized_pnl,
        leverage=float(p.leverage),
        margin_mode=MarginMode(p.margin_mode),
        liquidation_price=liquidation_price(p, engine, b),
        ts=ts,
    )
