"""Value types of the matching engine: markets, fees, bars, orders, fills, positions, rejects.

Every type here is a frozen dataclass (or an error); the engine keeps its own mutable state
and hands out these immutable views.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from xsmom.backtest import costs
from xsmom.errors import (
    InsufficientFundsError,
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
    RejectedError,
)

Side = Literal["buy", "sell"]
OrderType = Literal["market", "limit", "stop_market"]
TimeInForce = Literal["GTC", "IOC", "FOK", "GTX"]
MarginMode = Literal["cross", "isolated"]

# Binance USDT-M error codes the engine raises (the server sends them verbatim).
MARGIN_INSUFFICIENT = -2019
MIN_NOTIONAL = -4164
PRICE_TICK = -4014
QTY_PRECISION = -1111
QTY_TOO_SMALL = -4003
POST_ONLY_REJECT = -5022
REDUCE_ONLY_REJECT = -2022
ORDER_NOT_FOUND = -2013
UNKNOWN_ORDER = -2011
WOULD_TRIGGER = -2021
DUPLICATE_CLIENT_ID = -4116
BAD_SYMBOL = -1121
BAD_LEVERAGE = -4028
MARGIN_MODE_SAME = -4046
MARGIN_MODE_HAS_POSITION = -4048
BAD_PARAM = -1102
NO_PRICE = -1001


class OrderStatus(StrEnum):
    """Life-cycle state of an order."""

    NEW = "new"
    PARTIALLY_FILLED = "partially_filled"
    FILLED = "filled"
    CANCELED = "canceled"
    REJECTED = "rejected"
    EXPIRED = "expired"


OPEN_STATUSES = frozenset({OrderStatus.NEW, OrderStatus.PARTIALLY_FILLED})


class _Coded:
    """Mixin: a reject that carries the Binance error code the server reports."""

    code: int


class VenueOrderRejected(OrderRejectedError, _Coded):
    """The order was refused (post-only would cross, reduce-only, would trigger, ...)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class VenueInvalidOrder(InvalidOrderError, _Coded):
    """The order's parameters break a filter (tick, step, min notional, symbol, leverage)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class VenueInsufficientMargin(InsufficientFundsError, _Coded):
    """Not enough available margin for the order."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


class VenueOrderNotFound(OrderNotFoundError, _Coded):
    """No such order (or no longer open, for cancel)."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg


VenueReject = VenueOrderRejected | VenueInvalidOrder | VenueInsufficientMargin | VenueOrderNotFound


def reject(code: int, msg: str) -> RejectedError:
    """Return the error for a Binance reject ``code`` (raise it)."""
    if code == MARGIN_INSUFFICIENT:
        return VenueInsufficientMargin(code, msg)
    if code in (ORDER_NOT_FOUND, UNKNOWN_ORDER):
        return VenueOrderNotFound(code, msg)
    if code in (
        MIN_NOTIONAL,
        PRICE_TICK,
        QTY_PRECISION,
        QTY_TOO_SMALL,
        BAD_SYMBOL,
        BAD_LEVERAGE,
        BAD_PARAM,
        DUPLICATE_CLIENT_ID,
    ):
        return VenueInvalidOrder(code, msg)
    return VenueOrderRejected(code, msg)


def reject_code(exc: BaseException) -> int | None:
    """Return the Binance code of an engine reject, or None for any other error."""
    code = getattr(exc, "code", None)
    return code if isinstance(code, int) else None


@dataclass(frozen=True, kw_only=True)
class MarketSpec:
    """One linear USDT-margined perpetual and its filters."""

    symbol: str  # ccxt unified, "BTC/USDT:USDT"
    venue_id: str  # "BTCUSDT"
    price_tick: float
    qty_step: float
    min_qty: float
    min_notional: float
    contract_size: float = 1.0
    max_leverage: int = 20
    maintenance_margin_rate: float = 0.005

    @property
    def base(self) -> str:
        """Return the base asset (``BTC``)."""
        return self.symbol.split("/")[0]

    @property
    def quote(self) -> str:
        """Return the quote asset (``USDT``)."""
        return self.symbol.split("/")[1].split(":")[0]

    def price_decimals(self) -> int:
        """Return the number of decimals of the price tick."""
        return _decimals(self.price_tick)

    def qty_decimals(self) -> int:
        """Return the number of decimals of the quantity step."""
        return _decimals(self.qty_step)


def _decimals(step: float) -> int:
    return max(0, round(-math.log10(step))) if step < 1 else 0


def on_grid(value: float, step: float) -> bool:
    """Return True if ``value`` is a multiple of ``step`` (within float noise)."""
    n = value / step
    return abs(n - round(n)) < 1e-6


@dataclass(frozen=True, kw_only=True)
class FeeModel:
    """Fees and slippage, evaluated with :mod:`xsmom.backtest.costs` (the backtest's model)."""

    taker_fee_bps: float = 5.0
    maker_fee_bps: float = 2.0
    slippage_bps: float = 2.0
    impact_coef: float = 0.1
    max_participation: float = 0.1
    liquidation_fee_bps: float = 100.0
    unknown_volume_bps: float = 10.0  # impact when no reference volume is known (counted)

    def fee(self, notional: float, *, is_maker: bool) -> float:
        """Return the fee of a fill of ``notional`` (quote currency, positive)."""
        rate = float(costs.fee_rate(self.taker_fee_bps, self.maker_fee_bps, is_maker))
        return abs(notional) * rate

    def taker_price(
        self, ref_price: float, side: Side, notional: float, ref_qv: float, *, taken: float = 0.0
    ) -> float:
        """Return the fill price of a taker order against ``ref_price`` with slippage.

        ``taken``: notional the account already took on the symbol since the last bar close.
        """
        slip = float(
            costs.fill_slippage(
                self.slippage_bps,
                self.impact_coef,
                notional,
                taken,
                ref_qv,
                self.unknown_volume_bps,
            )
        )
        return float(costs.fill_price(ref_price, 1.0 if side == "buy" else -1.0, slip))

    def passive_cap(self, bar_volume: float) -> float:
        """Return how much resting orders may fill in a bar of ``bar_volume`` (base units)."""
        return float(costs.max_fill_qty(bar_volume, self.max_participation))


@dataclass(frozen=True, kw_only=True)
class Bar:
    """One closed candle; ``mark`` is the mark price at its close (None: use ``close``)."""

    ts: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    mark: float | None = None


@dataclass(frozen=True, kw_only=True)
class Order:
    """An order as the venue knows it."""

    order_id: int
    client_id: str
    symbol: str
    side: Side
    type: OrderType
    qty: float
    price: float | None
    stop_price: float | None
    time_in_force: TimeInForce
    reduce_only: bool
    status: OrderStatus
    filled_qty: float
    avg_price: float
    ts_created: int
    ts_updated: int

    @property
    def post_only(self) -> bool:
        """Return True for a post-only (GTX) order."""
        return self.time_in_force == "GTX"

    @property
    def remaining(self) -> float:
        """Return the quantity not yet filled."""
        return max(self.qty - self.filled_qty, 0.0)

    @property
    def is_open(self) -> bool:
        """Return True while the order may still fill."""
        return self.status in OPEN_STATUSES


@dataclass(frozen=True, kw_only=True)
class Fill:
    """One execution (a trade of the account)."""

    trade_id: int
    order_id: int
    client_id: str
    symbol: str
    side: Side
    qty: float
    price: float
    fee: float
    is_maker: bool
    realized_pnl: float
    ts: int
    liquidation: bool = False

    @property
    def notional(self) -> float:
        """Return ``qty * price`` (quote currency; contract size 1 assumed by callers)."""
        return self.qty * self.price


@dataclass(frozen=True, kw_only=True)
class Position:
    """A position in one symbol; ``qty`` is signed (long > 0)."""

    symbol: str
    qty: float
    entry_price: float
    mark_price: float
    leverage: int
    margin_mode: MarginMode
    unrealized_pnl: float
    notional: float
    initial_margin: float
    maintenance_margin: float


@dataclass(frozen=True, kw_only=True)
class Balance:
    """The account in the settlement currency (USDT)."""

    wallet: float
    unrealized_pnl: float
    equity: float
    position_margin: float
    order_margin: float
    maintenance_margin: float
    available: float


@dataclass(frozen=True, kw_only=True)
class FundingPayment:
    """A funding settlement: ``amount`` > 0 was received, < 0 was paid."""

    symbol: str
    rate: float
    mark_price: float
    position_qty: float
    amount: float
    ts: int
