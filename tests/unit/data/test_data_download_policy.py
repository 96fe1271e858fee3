"""Downloader pieces that need no server: backoff and retry choice, exchange checks."""

from __future__ import annotations

from pathlib import Path

import ccxt
import pytest

from xsmom import errors
from xsmom.data.download import Downloader, RetryPolicy, make_exchange
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=5.0)
    assert [policy.delay(i) for i in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


class Flaky:
    """A callable that raises the given ccxt errors in turn, then returns "ok"."""

    def __init__(self, *failures: Exception) -> None:
        self.failures = list(failures)
        self.calls = 0
        self.__name__ = "flaky"

    def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


def _downloader(tmp_path: Path, sleeps: list[float], attempts: int = 4) -> Downloader:
    return Downloader(
        make_exchange("binanceusdm"),
        ParquetStore(tmp_path),
        retry=RetryPolicy(attempts=attempts),
        sleep=sleeps.append,
        progress=False,
    )


def test_network_errors_and_rate_limits_are_retried_with_backoff(tmp_path: Path) -> None:
    sleeps: list[float] = []
    fn = Flaky(
        ccxt.ExchangeNotAvailable("503"), ccxt.RateLimitExceeded("429"), ccxt.NetworkError("x")
    )
    assert _downloader(tmp_path, sleeps).call(fn) == "ok"
    assert fn.calls == 4 and sleeps == [1.0, 2.0, 4.0]


def test_retries_give_up_with_the_mapped_error(tmp_path: Path) -> None:
    sleeps: list[float] = []
    fn = Flaky(*[ccxt.RequestTimeout("slow")] * 5)
    with pytest.raises(errors.RequestTimeoutError, match="RequestTimeout: slow"):
        _downloader(tmp_path, sleeps, attempts=3).call(fn)
    assert fn.calls == 3 and sleeps == [1.0, 2.0]


def test_a_refused_request_is_not_retried(tmp_path: Path) -> None:
    sleeps: list[float] = []
    fn = Flaky(ccxt.BadSymbol("binanceusdm does not have market symbol X"))
    with pytest.raises(errors.RejectedError, match="BadSymbol"):
        _downloader(tmp_path, sleeps).call(fn)
    assert fn.calls == 1 and sleeps == []


def test_unknown_exchange_id_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="unknown ccxt exchange id"):
        make_exchange("no_such_exchange")


def test_kinds_the_exchange_cannot_serve_are_refused_before_any_request(tmp_path: Path) -> None:
    d = Downloader(make_exchange("kraken"), ParquetStore(tmp_path), progress=False)
    with pytest.raises(errors.ConfigError, match="cannot download mark, funding"):
        d.run(["BTC/USD:USD"], "1h", kinds=[Kind.OHLCV, Kind.MARK, Kind.FUNDING])
