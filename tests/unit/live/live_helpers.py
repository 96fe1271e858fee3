"""Shared builders of the live tests."""

from __future__ import annotations

from typing import Any

from xsmom.config.live import ExecutionConfig, GuardsConfig
from xsmom.exchange.reports import MarketInfo, OrderRequest, OrderSide
from xsmom.live import GateInputs, PlaceOrder

HOUR = 3_600_000
DAY = 86_400_000
T0 = 1_748_736_000_000  # 2025-06-01 00:00 UTC
NOON = T0 + 12 * HOUR
BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
SOL = "SOL/USDT:USDT"


def guards(**kw: Any) -> GuardsConfig:
    """Return guards config with every guard off except what ``kw`` turns on."""
    base: dict[str, Any] = {
        "daily_loss_limit": 0.0,
        "max_drawdown": 0.0,
        "margin_soft": 0.0,
        "margin_hard": 0.0,
        "max_open_positions": 0,
        "no_trade_hours": 0.0,
        "stale_bars": 3,
    }
    return GuardsConfig(**{**base, **kw})


def execution(**kw: Any) -> ExecutionConfig:
    """Return an execution config."""
    return ExecutionConfig(**kw)


def inputs(now: int = NOON, **kw: Any) -> GateInputs:
    """Return gate inputs with fresh data at ``now`` (last closed bar just closed)."""
    base: dict[str, Any] = {
        "now_ms": now,
        "equity": 1000.0,
        "margin_ratio": 0.0,
        "last_bar_ts": (now // HOUR) * HOUR - HOUR,
        "bar_ms": HOUR,
    }
    return GateInputs(**{**base, **kw})


def market(symbol: str = BTC, **kw: Any) -> MarketInfo:
    """Return a market with a 0.1 tick, 0.001 step, 0.001 min qty and 5 USDT min notional."""
    base: dict[str, Any] = {
        "symbol": symbol,
        "venue_id": symbol.split("/")[0] + "USDT",
        "price_tick": 0.1,
        "qty_step": 0.001,
        "min_qty": 0.001,
        "min_notional": 5.0,
    }
    return MarketInfo(**{**base, **kw})


def place(
    symbol: str, qty: float, *, side: OrderSide = OrderSide.BUY, ro: bool = False
) -> PlaceOrder:
    """Return a market place command."""
    req = OrderRequest.market(symbol, side, qty, f"t-{symbol[:3]}-{qty}", reduce_only=ro)
    return PlaceOrder(request=req, intent="taker", bar_ts=T0, attempt=0, reason="test")
