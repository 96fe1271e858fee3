"""Simulated exchange: matching engine (shared with the paper adapter), market replay, HTTP server.

Public API: :class:`MatchingEngine` and its value types (see :mod:`xsmom.venue.matching` for the
fill model). The server and the test helper live in :mod:`xsmom.venue.server` and
:mod:`xsmom.venue.testing`.
"""

from xsmom.venue.matching import MatchingEngine
from xsmom.venue.types import (
    Balance,
    Bar,
    FeeModel,
    Fill,
    FundingPayment,
    MarketSpec,
    Order,
    OrderStatus,
    Position,
    VenueInsufficientMargin,
    VenueInvalidOrder,
    VenueOrderNotFound,
    VenueOrderRejected,
    reject_code,
)

__all__ = [
    "Balance",
    "Bar",
    "FeeModel",
    "Fill",
    "FundingPayment",
    "MarketSpec",
    "MatchingEngine",
    "Order",
    "OrderStatus",
    "Position",
    "VenueInsufficientMargin",
    "VenueInvalidOrder",
    "VenueOrderNotFound",
    "VenueOrderRejected",
    "reject_code",
]
