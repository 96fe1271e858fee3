"""`GuardedExchange`: the circuit breaker wrapped around any `Exchange`.

Every call is counted. An adapter that exposes ``observe_calls`` (the ccxt adapter does)
reports each HTTP attempt, retries included, so a 30% fault rate is seen even when retries
hide it from the caller; other adapters are counted once per interface call. Rejections
(the venue answered "no") count as successes: the venue is healthy. While the breaker is
not closed, the trading state is the configured restricted state (REDUCING or HALTED) and
orders that state does not allow are refused with `TradingHaltedError` before they reach
the venue, each announced to ``on_denied`` listeners as an `OrderDenied` event with its
reason; reads and cancels always pass (they are the half-open probes). A venue's
Retry-After beyond the retry cap (`VenueBackoffError`) holds the breaker OPEN for that long,
with the reason recorded, instead of a sleep.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar, runtime_checkable

from xsmom.errors import ConfigError, RejectedError, TradingHaltedError, VenueBackoffError
from xsmom.exchange.breaker import BreakerState, BreakerStatus, CircuitBreaker
from xsmom.exchange.clock import wall_ms
from xsmom.exchange.interface import Exchange
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
from xsmom.exchange.state import TradingState

T = TypeVar("T")
log = logging.getLogger(__name__)
CallObserver = Callable[[str, bool], None]


@runtime_checkable
class ObservableCalls(Protocol):
    """An adapter that reports every raw request outcome (name, ok)."""

    def observe_calls(self, observer: CallObserver) -> None:
        """Call ``observer(name, ok)`` after each raw request."""
        ...


@dataclass(frozen=True, kw_only=True)
class OrderDenied:
    """An order (or leverage change) was refused by the trading-state gate."""

    ts_event: int
    ts_init: int
    what: str
    client_id: str | None
    symbol: str
    trading_state: TradingState
    reason: str


@dataclass(frozen=True, kw_only=True)
class GuardStatus:
    """What a status display shows about the exchange connection."""

    trading_state: TradingState
    breaker: BreakerStatus
    refused_orders: int


class GuardedExchange:
    """An `Exchange` whose calls feed a `CircuitBreaker` that gates orders."""

    def __init__(
        self,
        inner: Exchange,
        breaker: CircuitBreaker,
        *,
        open_state: TradingState = TradingState.REDUCING,
        clock: Callable[[], int] = wall_ms,
    ) -> None:
        if open_state is TradingState.ACTIVE:
            raise ConfigError("breaker open_state must be REDUCING or HALTED")
        self.inner = inner
        self.breaker = breaker
        self.open_state = open_state
        self.refused_orders = 0
        self._clock = clock
        self._denied_listeners: list[Callable[[OrderDenied], None]] = []
        self._per_attempt = isinstance(inner, ObservableCalls)
        if isinstance(inner, ObservableCalls):
            inner.observe_calls(lambda _name, ok: breaker.record(ok))

    def on_denied(self, listener: Callable[[OrderDenied], None]) -> None:
        """Call ``listener`` with an `OrderDenied` event for every refused order."""
        self._denied_listeners.append(listener)

    def _deny(self, what: str, symbol: str, client_id: str | None) -> TradingHaltedError:
        state = self.trading_state()
        reason = f"circuit breaker {self.breaker.state.value}, trading state {state.value}"
        self.refused_orders += 1
        now = self._clock()
        event = OrderDenied(
            ts_event=now,
            ts_init=now,
            what=what,
            client_id=client_id,
            symbol=symbol,
            trading_state=state,
            reason=reason,
        )
        for listener in self._denied_listeners:
            try:
                listener(event)
            except Exception:  # boundary: an alert sink must never break the gate
                log.exception("order-denied listener failed")
        label = f"{what} {client_id}" if client_id else what
        return TradingHaltedError(f"{label} on {symbol} refused: {reason}")

    @property
    def name(self) -> str:
        """Return the inner venue's name."""
        return self.inner.name

    def trading_state(self) -> TradingState:
        """Return ACTIVE while the breaker is closed, else the configured open state."""
        closed = self.breaker.state is BreakerState.CLOSED
        return TradingState.ACTIVE if closed else self.open_state

    def status(self) -> GuardStatus:
        """Return a snapshot for display."""
        return GuardStatus(
            trading_state=self.trading_state(),
            breaker=self.breaker.status(),
            refused_orders=self.refused_orders,
        )

    def _call(self, fn: Callable[[], T]) -> T:
        try:
            return self._counted(fn)
        except VenueBackoffError as err:
            # a venue's wait beyond the retry cap: a breaker state, not a sleep
            wait_ms = int((err.retry_after or 0.0) * 1000)
            self.breaker.hold(wait_ms, f"venue asked to wait {wait_ms // 1000} s: {err}")
            raise

    def _counted(self, fn: Callable[[], T]) -> T:
        if self._per_attempt:
            return fn()
        try:
            result = fn()
        except RejectedError:
            self.breaker.record(True)
            raise
        except Exception:  # counted, then re-raised unchanged
            self.breaker.record(False)
            raise
        self.breaker.record(True)
        return result

    # ---- market data -------------------------------------------------------------------------
    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the inner venue's markets."""
        return self._call(self.inner.markets)

    def ticker(self, symbol: str) -> Ticker:
        """Return a ticker."""
        return self._call(lambda: self.inner.ticker(symbol))

    def tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Return tickers."""
        return self._call(lambda: self.inner.tickers(symbols))

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        """Return closed candles."""
        return self._call(lambda: self.inner.ohlcv(symbol, timeframe, since, limit))

    def funding_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingEvent]:
        """Return funding events."""
        return self._call(lambda: self.inner.funding_history(symbol, since, limit))

    def mark_price(self, symbol: str) -> MarkPrice:
        """Return a mark price."""
        return self._call(lambda: self.inner.mark_price(symbol))

    def mark_prices(self, symbols: Sequence[str]) -> dict[str, MarkPrice]:
        """Return mark prices."""
        return self._call(lambda: self.inner.mark_prices(symbols))

    # ---- account -----------------------------------------------------------------------------
    def balance(self) -> BalanceReport:
        """Return the balance."""
        return self._call(self.inner.balance)

    def positions(self, symbols: Sequence[str] | None = None) -> list[PositionReport]:
        """Return positions."""
        return self._call(lambda: self.inner.positions(symbols))

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Return open orders."""
        return self._call(lambda: self.inner.open_orders(symbol))

    def order_by_client_id(self, symbol: str, client_id: str) -> OrderReport | None:
        """Return an order by client id, or None."""
        return self._call(lambda: self.inner.order_by_client_id(symbol, client_id))

    def fills(self, symbol: str, since: int | None = None) -> list[FillReport]:
        """Return fills."""
        return self._call(lambda: self.inner.fills(symbol, since))

    def funding_payments(self, since: int | None = None) -> list[FundingPaymentReport]:
        """Return the funding payments."""
        return self._call(lambda: self.inner.funding_payments(since))

    # ---- trading -----------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> OrderReport:
        """Place ``request`` unless the trading state forbids it (TradingHaltedError)."""
        if not self.trading_state().allows(reduce_only=request.reduce_only):
            kind = "reduce-only order" if request.reduce_only else "order"
            raise self._deny(kind, request.symbol, request.client_id)
        return self._call(lambda: self.inner.place_order(request))

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderReport:
        """Cancel an order (always allowed: it reduces risk)."""
        return self._call(
            lambda: self.inner.cancel_order(
                symbol, client_id=client_id, venue_order_id=venue_order_id
            )
        )

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set leverage (refused unless ACTIVE: it can grow exposure)."""
        self._require_active("set_leverage", symbol)
        self._call(lambda: self.inner.set_leverage(symbol, leverage))

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set margin mode (refused unless ACTIVE)."""
        self._require_active("set_margin_mode", symbol)
        self._call(lambda: self.inner.set_margin_mode(symbol, mode))

    def _require_active(self, what: str, symbol: str) -> None:
        if self.trading_state() is not TradingState.ACTIVE:
            raise self._deny(what, symbol, None)

    def close(self) -> None:
        """Close the inner adapter."""
        self.inner.close()
