"""The one error tree of xsmom, split by what the caller should do.

::

    XsmomError
    ├── RetryableError            retry with backoff
    │   ├── NetworkError
    │   ├── RequestTimeoutError   (the request may have reached the venue: look up before retry)
    │   ├── RateLimitError
    │   │   └── VenueBackoffError  asked to wait beyond the cap: hold, do not sleep
    │   ├── ExchangeUnavailableError
    │   └── LedgerUnavailableError    the ledger database is busy or unreachable
    ├── FatalError                stop: a human must act
    │   ├── AuthenticationError
    │   ├── ConfigError
    │   ├── DataError             corrupt or invalid market data
    │   ├── CorruptStateError
    │   ├── ClockDriftError       local clock too far from the venue's
    │   └── ReconcileError        the ledger and the exchange differ beyond repair
    ├── RejectedError             the venue refused this request; do not repeat it as is
    │   ├── OrderRejectedError
    │   ├── InsufficientFundsError
    │   ├── InvalidOrderError
    │   ├── OrderNotFoundError
    │   └── TradingHaltedError    refused locally: trading state is REDUCING or HALTED
    └── StrategyError             the strategy could not produce targets
"""

from __future__ import annotations


class XsmomError(Exception):
    """Base of every error raised on purpose by xsmom."""


class RetryableError(XsmomError):
    """A transient failure: the same call may succeed later."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class NetworkError(RetryableError):
    """The connection failed before a response arrived."""


class RequestTimeoutError(RetryableError):
    """No response in time; the request may or may not have been applied."""


class RateLimitError(RetryableError):
    """The venue asked us to slow down (HTTP 429/418)."""


class VenueBackoffError(RateLimitError):
    """The venue asked for a wait beyond the retry cap: hold (breaker) instead of sleeping."""


class ExchangeUnavailableError(RetryableError):
    """The venue is down or in maintenance (HTTP 5xx)."""


class LedgerUnavailableError(RetryableError):
    """The ledger database is locked beyond its timeout or unreachable; nothing was written."""


class FatalError(XsmomError):
    """A failure that retrying cannot fix: stop and tell a human."""


class AuthenticationError(FatalError):
    """Keys missing, invalid or without permission."""


class ConfigError(FatalError):
    """A configuration file or value is invalid."""


class DataError(FatalError):
    """Market data is missing, corrupt or fails validation."""


class CorruptStateError(FatalError):
    """Persisted state cannot be trusted."""


class ClockDriftError(FatalError):
    """The local clock is too far from the venue's: fix the host clock before trading."""


class ReconcileError(FatalError):
    """The ledger and the exchange differ in a way fills do not explain: trading refused."""


class RejectedError(XsmomError):
    """The venue refused the request; repeating it unchanged will fail again."""


class OrderRejectedError(RejectedError):
    """An order was refused (price filter, post-only would cross, reduce-only, ...)."""


class InsufficientFundsError(RejectedError):
    """Not enough margin or balance for the order."""


class InvalidOrderError(RejectedError):
    """The order's parameters are invalid (precision, min notional, unknown symbol)."""


class OrderNotFoundError(RejectedError):
    """No order with that id exists on the venue."""


class TradingHaltedError(RejectedError):
    """An order was refused before reaching the venue (circuit breaker, guards)."""


class StrategyError(XsmomError):
    """The strategy could not compute targets from the given data."""
