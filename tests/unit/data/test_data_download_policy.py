"""Downloader pieces that need no server: backoff, error mapping, exchange checks."""

from __future__ import annotations

from pathlib import Path

import ccxt
import pytest

from xsmom import errors
from xsmom.data.download import Downloader, RetryPolicy, make_exchange, map_ccxt_error
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind


def test_backoff_doubles_up_to_the_cap() -> None:
    policy = RetryPolicy(attempts=6, base_delay=1.0, max_delay=5.0)
    assert [policy.delay(i) for i in range(1, 6)] == [1.0, 2.0, 4.0, 5.0, 5.0]


@pytest.mark.parametrize(
    ("exc", "want"),
    [
        (ccxt.RateLimitExceeded("429"), errors.RateLimitError),
        (ccxt.DDoSProtection("418"), errors.RateLimitError),
        (ccxt.RequestTimeout("t"), errors.RequestTimeoutError),
        (ccxt.ExchangeNotAvailable("503"), errors.ExchangeUnavailableError),
        (ccxt.NetworkError("reset"), errors.NetworkError),
        (ccxt.AuthenticationError("key"), errors.AuthenticationError),
        (ccxt.BadSymbol("nope"), errors.DataError),
    ],
)
def test_ccxt_errors_map_to_the_error_tree(exc: Exception, want: type) -> None:
    got = map_ccxt_error(exc)
    assert type(got) is want
    assert type(exc).__name__ in str(got)


def test_unknown_exchange_id_is_a_config_error() -> None:
    with pytest.raises(errors.ConfigError, match="unknown ccxt exchange id"):
        make_exchange("no_such_exchange")


def test_kinds_the_exchange_cannot_serve_are_refused_before_any_request(tmp_path: Path) -> None:
    d = Downloader(make_exchange("kraken"), ParquetStore(tmp_path), progress=False)
    with pytest.raises(errors.ConfigError, match="cannot download mark, funding"):
        d.run(["BTC/USD:USD"], "1h", kinds=[Kind.OHLCV, Kind.MARK, Kind.FUNDING])
