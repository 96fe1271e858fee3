"""Normalized, typed, frozen reports returned by every `Exchange` implementation.

Units: prices in quote currency (USDT), quantities in base-asset units (contracts times
contract size are converted at the adapter boundary), timestamps int64 ms UTC, signed
quantities positive for long.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np
import numpy.typing as npt
import pandas as pd

from xsmom.errors import InvalidOrderError


class OrderSide(StrEnum):
    """Side of an order or fill."""

    BUY = "buy"
    SELL = "sell"

    @property
    def sign(self) -> int:
        """Return +1 for buy, -1 for sell."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(StrEnum):
    """The order types the interface supports."""

    LIMIT = "limit"
    MARKET = "market"
    STOP_MARKET = "stop_market"


class OrderStatus(StrEnum):
    """Lifecycle of an order, as every venue's statuses are normalized to."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill."""
        return self in (OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED)


class MarginMode(StrEnum):
    """Margin mode of a position."""

    CROSS = "cross"
    ISOLATED = "isolated"


@dataclass(frozen=True, kw_only=True)
class MarketInfo:
    """One linear perpetual: identifiers, precision and limits."""

    symbol: str
    venue_id: str
    price_tick: float
    qty_step: float
    min_qty: float
    min_notional: float
    contract_size: float = 1.0
    max_leverage: int = 20


@dataclass(frozen=True, kw_only=True)
class BalanceReport:
    """The USDT margin account."""

    currency: str
    wallet: float
    equity: float
    free: float
    used_margin: float
    unrealized: float
    ts: int


@dataclass(frozen=True, kw_only=True)
class PositionReport:
    """One open position (one-way mode); ``qty`` is signed, positive for long."""

    symbol: str
    qty: float
    entry_price: float
    mark_price: float
    unrealized: float
    leverage: float
    margin_mode: MarginMode
    liquidation_price: float | None
    ts: int


@dataclass(frozen=True, kw_only=True)
class OrderReport:
    """The venue's view of one order."""

    venue_order_id: str
    client_id: str | None
    symbol: str
    side: OrderSide
    type: OrderType
    qty: float
    price: float | None
    stop_price: float | None
    filled: float
    avg_price: float | None
    status: OrderStatus
    reduce_only: bool
    post_only: bool
    ts: int

    @property
    def remaining(self) -> float:
        """Return the quantity still to fill."""
        return max(self.qty - self.filled, 0.0)


@dataclass(frozen=True, kw_only=True)
class FillReport:
    """One execution (trade) of one of our orders."""

    trade_id: str
    venue_order_id: str
    client_id: str | None
    symbol: str
    side: OrderSide
    qty: float
    price: float
    fee: float
    fee_currency: str
    is_maker: bool
    realized_pnl: float
    ts: int


@dataclass(frozen=True, kw_only=True)
class Ticker:
    """Last traded price and best bid/ask when the venue has them."""

    symbol: str
    last: float
    bid: float | None
    ask: float | None
    mark: float | None
    ts: int


@dataclass(frozen=True, kw_only=True)
class MarkPrice:
    """Mark and index price with the current (predicted) funding rate."""

    symbol: str
    mark: float
    index: float | None
    funding_rate: float | None
    next_funding_ts: int | None
    ts: int


@dataclass(frozen=True, kw_only=True)
class FundingEvent:
    """One settled funding rate; a position pays notional x rate (longs pay if rate > 0)."""

    symbol: str
    rate: float
    ts: int


@dataclass(frozen=True, kw_only=True)
class FundingPaymentReport:
    """Funding the exchange charged or paid the account: ``amount`` received (< 0: paid)."""

    payment_id: str  # the exchange's id of the payment (Binance ``tranId``)
    symbol: str
    amount: float
    currency: str
    ts: int


@dataclass(frozen=True, kw_only=True)
class Candles:
    """Closed candles as columns (``timestamp`` int64 ms bar open time, float64 prices)."""

    symbol: str
    timeframe: str
    timestamp: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]

    def __len__(self) -> int:
        return int(self.timestamp.shape[0])

    def to_frame(self) -> pd.DataFrame:
        """Return the candles as a frame with the store's columns (``timestamp`` first)."""
        return pd.DataFrame(
            {
                "timestamp": self.timestamp,
                "open": self.open,
                "high": self.high,
                "low": self.low,
                "close": self.close,
                "volume": self.volume,
            }
        )

    @classmethod
    def from_rows(cls, symbol: str, timeframe: str, rows: list[list[float]]) -> Candles:
        """Build from ``[[ts, open, high, low, close, volume], ...]`` rows."""
        arr = np.asarray(rows, dtype=np.float64).reshape(-1, 6)
        return cls(
            symbol=symbol,
            timeframe=timeframe,
            timestamp=arr[:, 0].astype(np.int64),
            open=arr[:, 1].copy(),
            high=arr[:, 2].copy(),
            low=arr[:, 3].copy(),
            close=arr[:, 4].copy(),
            volume=arr[:, 5].copy(),
        )


@dataclass(frozen=True, kw_only=True)
class OrderRequest:
    """An intent to trade, before rounding (the adapter rounds it to the market's precision).

    Supported shapes: limit (optionally post-only), market, either of them reduce-only, and
    reduce-only stop-market. Build them with the class methods.
    """

    symbol: str
    side: OrderSide
    type: OrderType
    qty: float
    client_id: str
    price: float | None = None
    stop_price: float | None = None
    reduce_only: bool = False
    post_only: bool = False

    def __post_init__(self) -> None:
        if not self.qty > 0:
            raise InvalidOrderError(f"order qty must be > 0, got {self.qty}")
        if not self.client_id:
            raise InvalidOrderError("order needs a client id")
        if self.type is OrderType.LIMIT and (self.price is None or not self.price > 0):
            raise InvalidOrderError("limit order needs a price > 0")
        if self.type is not OrderType.LIMIT and (self.post_only or self.price is not None):
            raise InvalidOrderError(f"{self.type.value} order takes no price and no post-only")
        if self.type is OrderType.STOP_MARKET and not (
            self.reduce_only and self.stop_price is not None and self.stop_price > 0
        ):
            raise InvalidOrderError("stop-market orders must be reduce-only with a stop price > 0")
        if self.type is not OrderType.STOP_MARKET and self.stop_price is not None:
            raise InvalidOrderError("only stop-market orders take a stop price")

    @classmethod
    def limit(
        cls,
        symbol: str,
        side: OrderSide,
        qty: float,
        price: float,
        client_id: str,
        *,
        post_only: bool = True,
        reduce_only: bool = False,
    ) -> OrderRequest:
        """Return a limit order, post-only unless told otherwise."""
        return cls(
            symbol=symbol,
            side=side,
            type=OrderType.LIMIT,
            qty=qty,
            price=price,
            client_id=client_id,
            post_only=post_only,
            reduce_only=reduce_only,
        )

    @classmethod
    def market(
        cls, symbol: str, side: OrderSide, qty: float, client_id: str, *, reduce_only: bool = False
    ) -> OrderRequest:
        """Return a market order."""
        return cls(
            symbol=symbol,
            side=side,
            type=OrderType.MARKET,
            qty=qty,
            client_id=client_id,
            reduce_only=reduce_only,
        )

    @classmethod
    def stop_market(
        cls, symbol: str, side: OrderSide, qty: float, stop_price: float, client_id: str
    ) -> OrderRequest:
        """Return a reduce-only stop-market order (a protective stop)."""
        return cls(
            symbol=symbol,
            side=side,
            type=OrderType.STOP_MARKET,
            qty=qty,
            stop_price=stop_price,
            client_id=client_id,
            reduce_only=True,
        )

    def __repr__(self) -> str:
        return (
            f"OrderRequest({self.client_id} {self.side.value} {self.type.value} {self.qty} "
            f"{self.symbol} px={self.price} stop={self.stop_price} "
            f"ro={self.reduce_only} po={self.post_only})"
        )
