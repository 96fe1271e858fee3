"""The one ccxt -> xsmom error mapping, for every ccxt class it names."""

from __future__ import annotations

import ccxt
import pytest
from ccxt.base import errors as ccxt_errors_module

from xsmom import errors as xe
from xsmom.exchange.ccxt_errors import is_clock_skew, map_ccxt_error

CASES = [
    (ccxt.RequestTimeout, xe.RequestTimeoutError),
    (ccxt.RateLimitExceeded, xe.RateLimitError),
    (ccxt.DDoSProtection, xe.RateLimitError),
    (ccxt.OnMaintenance, xe.ExchangeUnavailableError),
    (ccxt.ExchangeNotAvailable, xe.ExchangeUnavailableError),
    (ccxt.InvalidNonce, xe.NetworkError),
    (ccxt.ChecksumError, xe.NetworkError),
    (ccxt.NetworkError, xe.NetworkError),
    (ccxt.BadResponse, xe.NetworkError),
    (ccxt.NullResponse, xe.NetworkError),
    (ccxt.CancelPending, xe.NetworkError),
    (ccxt.OperationFailed, xe.NetworkError),
    (ccxt.AuthenticationError, xe.AuthenticationError),
    (ccxt.PermissionDenied, xe.AuthenticationError),
    (ccxt.AccountNotEnabled, xe.AuthenticationError),
    (ccxt.AccountSuspended, xe.AuthenticationError),
    (ccxt.NotSupported, xe.ConfigError),
    (ccxt.InvalidProxySettings, xe.ConfigError),
    (ccxt.ExchangeClosedByUser, xe.ConfigError),
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
    (ccxt.MarginModeAlreadySet, xe.OrderRejectedError),
    (ccxt.MarketClosed, xe.OrderRejectedError),
    (ccxt.ExchangeError, xe.RejectedError),
    (ccxt.InvalidAddress, xe.RejectedError),
    (ccxt.AddressPending, xe.RejectedError),
    (ccxt.NoChange, xe.OrderRejectedError),
    (ccxt.ManualInteractionNeeded, xe.OrderRejectedError),
    (ccxt.RestrictedLocation, xe.OrderRejectedError),
    (ccxt.UnsubscribeError, xe.NetworkError),
    (ccxt.BaseError, xe.NetworkError),
]


@pytest.mark.parametrize(("ccxt_cls", "expected"), CASES, ids=[c[0].__name__ for c in CASES])
def test_each_ccxt_class_maps_to_its_xsmom_error(ccxt_cls: type, expected: type) -> None:
    err = map_ccxt_error(ccxt_cls("binanceusdm {}"))
    assert type(err) is expected
    assert ccxt_cls.__name__ in str(err)


def test_every_ccxt_error_class_is_covered() -> None:
    named = {c for c, _ in CASES}
    every = {
        obj
        for obj in vars(ccxt_errors_module).values()
        if isinstance(obj, type) and issubclass(obj, ccxt.BaseError)
    }
    assert every - named == set()


def test_foreign_exception_is_a_network_error() -> None:
    assert type(map_ccxt_error(ValueError("boom"))) is xe.NetworkError


def test_retry_after_header_is_honoured_case_insensitively() -> None:
    err = map_ccxt_error(ccxt.RateLimitExceeded("429"), headers={"retry-after": "7"})
    assert isinstance(err, xe.RateLimitError) and err.retry_after == 7.0
    err = map_ccxt_error(ccxt.DDoSProtection("418"), headers={"Retry-After": "120"})
    assert isinstance(err, xe.RetryableError) and err.retry_after == 120.0
    err = map_ccxt_error(ccxt.ExchangeNotAvailable("503"), headers={"Retry-After": "soon"})
    assert isinstance(err, xe.RetryableError) and err.retry_after is None


def test_message_is_redacted() -> None:
    err = map_ccxt_error(
        ccxt.AuthenticationError("bad key SECRETKEY123"),
        redact=lambda s: s.replace("SECRETKEY123", "***"),
    )
    assert "SECRETKEY123" not in str(err) and "***" in str(err)


def test_clock_skew_detection() -> None:
    assert is_clock_skew(ccxt.InvalidNonce("-1021"))
    assert not is_clock_skew(ccxt.NetworkError("x"))
    assert not is_clock_skew(None)
