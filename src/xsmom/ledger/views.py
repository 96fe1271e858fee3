"""Frozen records the ledger's reads return, and the vocabularies its writes accept.

The vocabularies are the values of ``xsmom.exchange`` (``OrderStatus``, ``OrderSide``,
``OrderType``, ``TradingState``); a test keeps them equal. The ledger does not import the
exchange layer, so opening it stays light (``xsmom status`` needs no ccxt).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from xsmom.errors import ConfigError

ORDER_STATUSES = ("new", "partially_filled", "filled", "canceled", "rejected", "expired")
OPEN_STATUSES = ("new", "partially_filled")
SIDES = ("buy", "sell")
ORDER_TYPES = ("limit", "market", "stop_market")
TRADING_STATES = ("active", "reducing", "halted")
SEVERITIES = ("info", "warning", "critical")


def check_value(value: str, allowed: tuple[str, ...], what: str) -> str:
    """Return ``value`` (as a plain str) if it is one of ``allowed``, else raise ConfigError."""
    plain = str(value)
    if plain not in allowed:
        raise ConfigError(f"{what} {plain!r} is not one of {', '.join(allowed)}")
    return plain


@dataclass(frozen=True, slots=True, kw_only=True)
class OrderView:
    """An order as the ledger knows it."""

    id: int
    client_id: str
    venue_order_id: str | None
    symbol: str
    side: str
    type: str
    qty: float
    price: float | None
    stop_price: float | None
    reduce_only: bool
    post_only: bool
    bar_ts: int | None
    reason: str
    attempt: int
    config_version: str | None
    status: str
    filled_qty: float
    avg_price: float | None
    created_ms: int
    updated_ms: int

    @property
    def is_open(self) -> bool:
        """Return True while the order can still fill."""
        return self.status in OPEN_STATUSES

    @property
    def remaining(self) -> float:
        """Return the quantity still to fill."""
        return max(self.qty - self.filled_qty, 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class TransitionView:
    """One recorded change of an order."""

    client_id: str
    ts: int
    from_status: str | None
    to_status: str
    filled_qty: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FillView:
    """One execution."""

    id: int
    symbol: str
    trade_id: str
    order_id: int | None
    venue_order_id: str | None
    client_id: str | None
    side: str
    qty: float
    price: float
    fee: float
    fee_currency: str
    realized_pnl: float
    is_maker: bool
    liquidation: bool
    ts: int

    @property
    def signed_qty(self) -> float:
        """Return the quantity, positive for a buy."""
        return self.qty if self.side == "buy" else -self.qty


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionView:
    """A position (signed quantity) and when it last changed."""

    symbol: str
    qty: float
    entry_price: float
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionChangeView:
    """One change of a position."""

    symbol: str
    ts: int
    qty: float
    entry_price: float
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class FundingView:
    """One funding settlement; ``amount`` received (negative when paid).

    ``venue_id``: the exchange's id when ``amount`` is what it reported, ``expected`` then
    the rate-derived figure; rate, qty and mark are None until the bar is processed.
    """

    symbol: str
    ts: int
    rate: float | None
    qty: float | None
    mark_price: float | None
    amount: float
    venue_id: str | None = None
    expected: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EquityView:
    """The account at one instant."""

    ts: int
    equity: float
    wallet: float
    unrealized: float
    margin_ratio: float | None


@dataclass(frozen=True, slots=True, kw_only=True)
class TargetView:
    """A target of one symbol at one bar."""

    bar_ts: int
    symbol: str
    weight: float
    target_qty: float
    config_version: str | None


@dataclass(frozen=True, slots=True, kw_only=True)
class ConfigVersionView:
    """A config version the engine has used."""

    version_id: str
    config: Mapping[str, Any]
    first_used_ms: int
    last_used_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class StateChangeView:
    """A trading-state transition."""

    ts: int
    from_state: str | None
    to_state: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardEventView:
    """Something a guard did."""

    ts: int
    guard: str
    event: str
    reason: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class GuardStateView:
    """A guard's persisted state."""

    guard: str
    state: Mapping[str, Any]
    updated_ms: int


@dataclass(frozen=True, slots=True, kw_only=True)
class EventView:
    """One line of the event timeline: a state change (``source='state'``) or guard event."""

    ts: int
    source: str
    name: str
    event: str
    from_state: str | None
    to_state: str | None
    reason: str
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutStageView:
    """Where a config version stands in the staged rollout."""

    version_id: str
    stage: str
    since_ms: int
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutTransitionView:
    """One stage change of a version."""

    ts: int
    version_id: str
    from_stage: str | None
    to_stage: str
    reason: str
