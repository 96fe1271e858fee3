"""The ccxt adapter fills the touch: tickers without bid/ask (binanceusdm's 24hr ticker) get
them from one ``fetch_bids_asks`` request for all symbols, behind the one error mapping and
the retry rules; tickers that carry a book (Bybit) are left alone; a missing or crossed book
stays an error downstream (`Book.from_ticker`), never the last price."""

from __future__ import annotations

import logging
from typing import Any

import ccxt
import pytest

from xsmom import errors as xe
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.retry import RetryPolicy
from xsmom.live.orders import Book

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"


def _market(symbol: str, venue_id: str) -> dict[str, Any]:
    return {
        "id": venue_id,
        "symbol": symbol,
        "swap": True,
        "linear": True,
        "active": True,
        "settle": "USDT",
        "contractSize": 1,
        "precision": {"amount": 0.001, "price": 0.1},
        "limits": {"amount": {"min": 0.001}, "cost": {"min": 5}, "leverage": {"max": 125}},
    }


class BookClient:
    """A ccxt-shaped client whose tickers lack bid/ask and whose book ticker has them."""

    precisionMode = 4

    def __init__(self, has_book: Any = True, ticker_book: bool = False) -> None:
        self.has = {"fetchBidsAsks": has_book}
        self.ticker_book = ticker_book
        self.last_response_headers: dict[str, str] = {}
        self.calls: list[tuple[str, Any]] = []
        self.book: dict[str, dict[str, Any]] = {
            BTC: {"symbol": BTC, "bid": 29_999.5, "ask": 30_000.5, "timestamp": 1_700_000_000_123},
            ETH: {"symbol": ETH, "bid": 1_999.9, "ask": 2_000.1, "timestamp": 1_700_000_000_456},
        }
        self.failures: list[Exception] = []

    def load_markets(self) -> dict[str, Any]:
        return {BTC: _market(BTC, "BTCUSDT"), ETH: _market(ETH, "ETHUSDT")}

    def _ticker(self, s: str) -> dict[str, Any]:
        t: dict[str, Any] = {"symbol": s, "last": 30_000.0 if s == BTC else 2_000.0}
        t["timestamp"] = 1_700_000_000_000
        if self.ticker_book:  # Bybit: bid1Price/ask1Price parsed by ccxt into bid/ask
            t.update(bid=t["last"] - 0.5, ask=t["last"])
        return t

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        self.calls.append(("fetch_ticker", symbol))
        return self._ticker(symbol)

    def fetch_tickers(self, symbols: list[str]) -> dict[str, Any]:
        self.calls.append(("fetch_tickers", list(symbols)))
        return {s: self._ticker(s) for s in symbols}

    def fetch_bids_asks(self, symbols: list[str]) -> dict[str, Any]:
        self.calls.append(("fetch_bids_asks", list(symbols)))
        if self.failures:
            raise self.failures.pop(0)
        return {s: self.book[s] for s in symbols if s in self.book}


def make(client: BookClient, attempts: int = 3) -> tuple[CcxtExchange, list[float]]:
    slept: list[float] = []
    cfg = CcxtConfig(
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.01),
        max_clock_drift_ms=None,
        rate_per_s=1e6,
        burst=1e6,
    )
    ex = CcxtExchange(cfg, client=client, sleep=slept.append)
    ex.markets()
    return ex, slept


def names(client: BookClient) -> list[str]:
    return [name for name, _ in client.calls]


def test_bid_ask_and_their_time_come_from_one_book_request_for_all_symbols() -> None:
    client = BookClient()
    ex, _ = make(client)
    out = ex.tickers([BTC, ETH])
    assert client.calls == [("fetch_tickers", [BTC, ETH]), ("fetch_bids_asks", [BTC, ETH])]
    assert (out[BTC].last, out[BTC].bid, out[BTC].ask) == (30_000.0, 29_999.5, 30_000.5)
    assert (out[ETH].bid, out[ETH].ask) == (1_999.9, 2_000.1)
    assert out[BTC].ts == 1_700_000_000_123 and out[ETH].ts == 1_700_000_000_456
    book = Book.from_ticker(out[BTC], "book")
    assert (book.bid, book.ask, book.from_last) == (29_999.5, 30_000.5, False)
    one = ex.ticker(ETH)
    assert client.calls[-2:] == [("fetch_ticker", ETH), ("fetch_bids_asks", [ETH])]
    assert (one.bid, one.ask) == (1_999.9, 2_000.1)


@pytest.mark.parametrize(
    ("has_book", "ticker_book"),
    [(True, True), ("emulated", False), (False, False), (None, False)],
    ids=["tickers-carry-a-book", "emulated", "no-book-endpoint", "unknown"],
)
def test_no_book_request_when_tickers_have_a_book_or_ccxt_has_no_book_endpoint(
    has_book: Any, ticker_book: bool
) -> None:
    client = BookClient(has_book=has_book, ticker_book=ticker_book)
    ex, _ = make(client)
    out = ex.tickers([BTC, ETH])
    assert names(client) == ["fetch_tickers"]
    if ticker_book:
        assert (out[BTC].bid, out[BTC].ask) == (29_999.5, 30_000.0)
    else:  # no book: the caller that needs one fails on it (the config's choice)
        assert out[BTC].bid is None and out[BTC].ask is None
        with pytest.raises(xe.DataError, match="no bid/ask"):
            Book.from_ticker(out[BTC], "book")
        assert Book.from_ticker(out[BTC], "last").bid == 30_000.0


def test_a_symbol_missing_from_the_book_answer_keeps_no_book_and_is_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    client = BookClient()
    del client.book[ETH]
    ex, _ = make(client)
    with caplog.at_level(logging.WARNING):
        out = ex.tickers([BTC, ETH])
    assert out[BTC].bid == 29_999.5
    assert out[ETH].bid is None and out[ETH].ask is None and out[ETH].last == 2_000.0
    assert "no bid/ask for ['ETH/USDT:USDT']" in caplog.text
    with pytest.raises(xe.DataError, match="ETH/USDT:USDT: the venue gives no bid/ask"):
        Book.from_ticker(out[ETH], "book")


def test_a_crossed_book_is_an_error() -> None:
    client = BookClient()
    client.book[BTC] = {"symbol": BTC, "bid": 30_001.0, "ask": 30_000.0, "timestamp": 1}
    ex, _ = make(client)
    out = ex.tickers([BTC])
    with pytest.raises(xe.DataError, match="crossed"):
        Book.from_ticker(out[BTC], "book")


def test_a_ticker_missing_from_the_answer_is_a_data_error() -> None:
    client = BookClient()
    client.fetch_tickers = lambda symbols: {BTC: client._ticker(BTC)}  # type: ignore[method-assign]  # a venue that drops one
    ex, _ = make(client)
    with pytest.raises(xe.DataError, match=r"fetch_tickers answered without \['ETH/USDT:USDT'\]"):
        ex.tickers([BTC, ETH])


@pytest.mark.parametrize(
    ("exc", "expected", "sent"),
    [
        (ccxt.ExchangeNotAvailable("503"), xe.ExchangeUnavailableError, 3),
        (ccxt.RequestTimeout("timeout"), xe.RequestTimeoutError, 3),
        (ccxt.AuthenticationError("-2015"), xe.AuthenticationError, 1),
        (ccxt.BadSymbol("-1121 Invalid symbol."), xe.InvalidOrderError, 1),
    ],
    ids=lambda v: type(v).__name__ if isinstance(v, Exception) else str(v),
)
def test_book_errors_go_through_the_one_mapping_and_retry_rules(
    exc: Exception, expected: type[Exception], sent: int
) -> None:
    client = BookClient()
    client.failures = [exc] * 5
    ex, slept = make(client, attempts=3)
    with pytest.raises(expected):
        ex.tickers([BTC, ETH])
    assert names(client).count("fetch_bids_asks") == sent
    assert len(slept) == sent - 1


def test_a_transient_book_failure_is_retried_then_filled() -> None:
    client = BookClient()
    client.failures = [ccxt.NetworkError("reset")]
    ex, slept = make(client)
    out = ex.tickers([BTC])
    assert names(client) == ["fetch_tickers", "fetch_bids_asks", "fetch_bids_asks"]
    assert out[BTC].bid == 29_999.5 and len(slept) == 1
