"""Execution commands (place / cancel / replace), the touch, and our client-order-id scheme.

Client ids come from `xsmom.exchange.client_ids.client_order_id` on (config version, bar,
symbol, attempt). Protective stops hash ``symbol + "#stop"`` instead of the symbol, so an id
tells, without any memory, whether an open order is ours, of this config version, of which
bar, and a trading order or a stop.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from xsmom.errors import DataError
from xsmom.exchange.client_ids import BINANCE, MAX_ATTEMPT, ClientIdRules, client_order_id
from xsmom.exchange.reports import OrderReport, OrderRequest, OrderType, Ticker

STOP_SUFFIX = "#stop"


@dataclass(frozen=True, kw_only=True)
class Book:
    """The touch: best bid and ask (``from_last`` when both are the last price)."""

    symbol: str
    bid: float
    ask: float
    ts: int
    from_last: bool = False

    @classmethod
    def from_ticker(cls, ticker: Ticker, source: str) -> Book:
        """Return the touch of ``ticker``; ``source`` is ``book`` or ``last`` (config)."""
        if source == "last":
            return cls(
                symbol=ticker.symbol, bid=ticker.last, ask=ticker.last, ts=ticker.ts, from_last=True
            )
        if ticker.bid is None or ticker.ask is None:
            raise DataError(
                f"{ticker.symbol}: the venue gives no bid/ask (bid={ticker.bid}, "
                f"ask={ticker.ask}); on a venue without a book (paper on a store) set "
                "live.execution.quote_source: last to use the last price"
            )
        if not 0 < ticker.bid <= ticker.ask:
            raise DataError(
                f"{ticker.symbol}: the venue's book is crossed or not positive (bid="
                f"{ticker.bid:g}, ask={ticker.ask:g}); not trading on it"
            )
        return cls(symbol=ticker.symbol, bid=ticker.bid, ask=ticker.ask, ts=ticker.ts)


@dataclass(frozen=True, kw_only=True)
class PlaceOrder:
    """Send ``request``; ``intent`` is maker, taker or stop; ``attempt`` is in its id."""

    request: OrderRequest
    intent: str
    bar_ts: int
    attempt: int
    reason: str

    @property
    def symbol(self) -> str:
        """Return the order's symbol."""
        return self.request.symbol


@dataclass(frozen=True, kw_only=True)
class CancelOrder:
    """Cancel one open order; ``known_filled`` is its fill when planned (to spot a race)."""

    symbol: str
    venue_order_id: str
    client_id: str | None
    known_filled: float
    reason: str


@dataclass(frozen=True, kw_only=True)
class ReplaceOrder:
    """Cancel ``cancel`` and, if it was cancelled as planned, send ``place``."""

    cancel: CancelOrder
    place: PlaceOrder

    @property
    def symbol(self) -> str:
        """Return the symbol."""
        return self.cancel.symbol


Command = PlaceOrder | CancelOrder
Action = PlaceOrder | CancelOrder | ReplaceOrder


class OrderKind(StrEnum):
    """How an open order relates to the current bar and config version."""

    CURRENT = "current"  # ours, this version, this bar, a trading order
    STOP = "stop"  # ours, this version, a protective stop (any bar)
    STALE = "stale"  # ours, but of an earlier bar or another config version
    ORPHAN = "orphan"  # not ours: no id, another prefix, or an id we cannot read


@dataclass(frozen=True)
class IdScheme:
    """Our client ids for one config version."""

    version: str
    prefix: str = "xs"
    rules: ClientIdRules = BINANCE

    def __post_init__(self) -> None:
        client_order_id(self.version, 0, "X", 0, prefix=self.prefix, rules=self.rules)

    def trade_id(self, bar_ts: int, symbol: str, attempt: int) -> str:
        """Return the id of a trading order."""
        return client_order_id(
            self.version, bar_ts, symbol, attempt, prefix=self.prefix, rules=self.rules
        )

    def stop_id(self, bar_ts: int, symbol: str, attempt: int) -> str:
        """Return the id of a protective stop."""
        return client_order_id(
            self.version,
            bar_ts,
            symbol + STOP_SUFFIX,
            attempt,
            prefix=self.prefix,
            rules=self.rules,
        )

    def parse(self, client_id: str | None) -> tuple[int, str, int] | None:
        """Return (bar ts, hash, attempt) of one of our ids, or None if it is not ours."""
        if not client_id:
            return None
        parts = client_id.split("-")
        if len(parts) != 4 or parts[0] != self.prefix:
            return None
        try:
            bar_s, attempt = int(parts[1], 36), int(parts[3])
        except ValueError:
            return None
        if not 0 <= attempt <= MAX_ATTEMPT:
            return None
        return bar_s * 1000, parts[2], attempt

    def classify(self, order: OrderReport, bar_ts: int) -> OrderKind:
        """Return the kind of ``order`` with respect to the bar being traded."""
        parsed = self.parse(order.client_id)
        if parsed is None:
            return OrderKind.ORPHAN
        bar, _, attempt = parsed
        if order.client_id == self.stop_id(bar, order.symbol, attempt):
            return OrderKind.STOP if order.type is OrderType.STOP_MARKET else OrderKind.STALE
        if order.client_id == self.trade_id(bar, order.symbol, attempt):
            return OrderKind.CURRENT if bar == bar_ts else OrderKind.STALE
        return OrderKind.STALE  # our prefix, another config version
