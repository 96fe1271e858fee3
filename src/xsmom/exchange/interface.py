"""The narrow `Exchange` interface every adapter implements (ccxt, paper, breaker wrapper).

`MarketData` is the public half (no keys needed); `Exchange` adds the account and trading
half. Every method returns the frozen reports of `xsmom.exchange.reports` and raises only
errors of `xsmom.errors`:

- `RetryableError` when the call may succeed later (the adapter has already retried),
- `RejectedError` when the venue refused this request,
- `FatalError` when a human must act (keys, configuration, clock drift).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol, runtime_checkable

from xsmom.exchange.reports import (
    BalanceReport,
    Candles,
    FillReport,
    FundingEvent,
    FundingPaymentReport,
    MarginMode,
    MarketInfo,
    MarkPrice,
    OrderReport,
    OrderRequest,
    PositionReport,
    Ticker,
)


@runtime_checkable
class MarketData(Protocol):
    """Public market data of one venue."""

    @property
    def name(self) -> str:
        """Return a short name of the venue (``binanceusdm``, ``paper``, ...)."""
        ...

    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the linear perpetuals keyed by unified symbol."""
        ...

    def ticker(self, symbol: str) -> Ticker:
        """Return the latest ticker of ``symbol``."""
        ...

    def tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Return the latest tickers of ``symbols``."""
        ...

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        """Return closed candles (never the forming one) from ``since`` (ms) on."""
        ...

    def funding_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingEvent]:
        """Return settled funding events from ``since`` (ms) on, oldest first."""
        ...

    def mark_price(self, symbol: str) -> MarkPrice:
        """Return the mark price and current funding rate of ``symbol``."""
        ...

    def mark_prices(self, symbols: Sequence[str]) -> dict[str, MarkPrice]:
        """Return mark prices of ``symbols``."""
        ...


@runtime_checkable
class Exchange(MarketData, Protocol):
    """Market data plus the account and trading calls the live engine needs."""

    def balance(self) -> BalanceReport:
        """Return the USDT margin account."""
        ...

    def positions(self, symbols: Sequence[str] | None = None) -> list[PositionReport]:
        """Return the non-zero positions (of ``symbols`` if given)."""
        ...

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Return the open orders (of ``symbol`` if given)."""
        ...

    def order_by_client_id(self, symbol: str, client_id: str) -> OrderReport | None:
        """Return the order with ``client_id``, or None when the venue has none."""
        ...

    def fills(self, symbol: str, since: int | None = None) -> list[FillReport]:
        """Return our executions on ``symbol`` from ``since`` (ms) on, oldest first."""
        ...

    def funding_payments(self, since: int | None = None) -> list[FundingPaymentReport]:
        """Return the funding the exchange charged or paid from ``since`` (ms) on, oldest first.

        Every symbol of the account; each payment once (by its id). ``None``: what the
        exchange keeps of the recent past (Binance: the last 7 days).
        """
        ...

    def place_order(self, request: OrderRequest) -> OrderReport:
        """Round ``request`` to the market's precision and place it, exactly once."""
        ...

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderReport:
        """Cancel one order by client id or venue id; raise OrderNotFoundError if none."""
        ...

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage of ``symbol``."""
        ...

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set cross or isolated margin on ``symbol`` (no error if already set)."""
        ...

    def close(self) -> None:
        """Release connections and flush state."""
        ...
