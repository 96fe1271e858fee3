"""The matching engine that paper trading and the simulated venue share, on the backtest's costs.

Public API: :class:`MatchingEngine` (see :mod:`xsmom.sim.matching` for the fill model), its value
types and errors (:mod:`xsmom.sim.types`), and :class:`MarketData`, stored candles and funding
read once from a :class:`xsmom.data.ParquetStore` (:mod:`xsmom.sim.market`). Nothing here imports
:mod:`xsmom.venue` or :mod:`xsmom.exchange`: both build on this package.
"""

from xsmom.sim.market import Candles, MarketData
from xsmom.sim.matching import ClientIdRule, MatchingEngine
from xsmom.sim.types import (
    MARGIN_MODE_SAME,
    Balance,
    Bar,
    FeeModel,
    Fill,
    FundingPayment,
    MarketSpec,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    VenueInsufficientMargin,
    VenueInvalidOrder,
    VenueOrderNotFound,
    VenueOrderRejected,
    reject_code,
)

__all__ = [
    "MARGIN_MODE_SAME",
    "Balance",
    "Bar",
    "Candles",
    "ClientIdRule",
    "FeeModel",
    "Fill",
    "FundingPayment",
    "MarketData",
    "MarketSpec",
    "MatchingEngine",
    "Order",
    "OrderStatus",
    "OrderType",
    "Position",
    "Side",
    "TimeInForce",
    "VenueInsufficientMargin",
    "VenueInvalidOrder",
    "VenueOrderNotFound",
    "VenueOrderRejected",
    "reject_code",
]
