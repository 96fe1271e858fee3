"""The one mapping of ccxt exceptions to the xsmom error tree.

Order matters: ccxt's classes form a tree, so the most specific class is tested first.
Messages are passed through ``redact`` so a key or signature echoed by a venue never
leaves the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import ccxt

from xsmom import errors as xe

_TABLE: tuple[tuple[type[Exception], type[xe.XsmomError]], ...] = (
    # retry: the venue did not (or may not have) applied the request
    (ccxt.RequestTimeout, xe.RequestTimeoutError),
    (ccxt.RateLimitExceeded, xe.RateLimitError),
    (ccxt.DDoSProtection, xe.RateLimitError),
    (ccxt.OnMaintenance, xe.ExchangeUnavailableError),
    (ccxt.ExchangeNotAvailable, xe.ExchangeUnavailableError),
    (ccxt.InvalidNonce, xe.NetworkError),  # clock skew: resync, then retry
    (ccxt.NetworkError, xe.NetworkError),
    (ccxt.BadResponse, xe.NetworkError),
    (ccxt.CancelPending, xe.NetworkError),
    (ccxt.OperationFailed, xe.NetworkError),
    # stop: a human must act
    (ccxt.AuthenticationError, xe.AuthenticationError),
    (ccxt.NotSupported, xe.ConfigError),
    (ccxt.InvalidProxySettings, xe.ConfigError),
    (ccxt.ExchangeClosedByUser, xe.ConfigError),
    # reject: the venue refused this request
    (ccxt.InsufficientFunds, xe.InsufficientFundsError),
    (ccxt.OrderNotFound, xe.OrderNotFoundError),
    (ccxt.OrderNotCached, xe.OrderNotFoundError),
    (ccxt.OrderImmediatelyFillable, xe.OrderRejectedError),
    (ccxt.OrderNotFillable, xe.OrderRejectedError),
    (ccxt.DuplicateOrderId, xe.OrderRejectedError),
    (ccxt.ContractUnavailable, xe.InvalidOrderError),
    (ccxt.InvalidOrder, xe.InvalidOrderError),
    (ccxt.BadSymbol, xe.InvalidOrderError),
    (ccxt.ArgumentsRequired, xe.InvalidOrderError),
    (ccxt.BadRequest, xe.InvalidOrderError),
    (ccxt.OperationRejected, xe.OrderRejectedError),
    (ccxt.ExchangeError, xe.RejectedError),
)


def _retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Return the Retry-After delay in seconds from response headers, if any."""
    if not headers:
        return None
    for key, value in headers.items():
        if key.lower() == "retry-after":
            try:
                return max(float(value), 0.0)
            except (TypeError, ValueError):
                return None
    return None


def map_ccxt_error(
    exc: Exception,
    *,
    headers: Mapping[str, str] | None = None,
    redact: Callable[[str], str] | None = None,
) -> xe.XsmomError:
    """Return the xsmom error for a ccxt exception (the caller raises it ``from exc``).

    ``headers`` are this answer's response headers (Retry-After is read for 418/429/503
    only; the caller clears stale headers before each request); ``redact``
    scrubs secrets from the message. An exception outside ccxt's tree maps to NetworkError.
    """
    message = f"{type(exc).__name__}: {exc}"
    if redact is not None:
        message = redact(message)
    target: type[xe.XsmomError] = xe.NetworkError
    for ccxt_cls, xs_cls in _TABLE:
        if isinstance(exc, ccxt_cls):
            target = xs_cls
            break
    if issubclass(target, xe.RateLimitError | xe.ExchangeUnavailableError):
        # Retry-After belongs to the 418/429/503 answer that carried it, nothing else
        return target(message, retry_after=_retry_after(headers))
    return target(message)


def is_clock_skew(exc: BaseException | None) -> bool:
    """Return True if ``exc`` (a ccxt error) says our timestamp is outside the venue's window."""
    return isinstance(exc, ccxt.InvalidNonce)
