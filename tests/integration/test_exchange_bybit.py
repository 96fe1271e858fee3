"""The ccxt adapter with the real ccxt ``bybit`` client against a loopback stand-in that
answers with Bybit v5 payloads: recorded instruments for market parsing, and Bybit error
codes for the error mapping."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from xsmom import errors as xe
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange, make_client
from xsmom.exchange.client_ids import BYBIT, client_order_id, rules_for
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.reports import MarginMode, OrderRequest, OrderSide
from xsmom.exchange.retry import RetryPolicy

DATA = Path("/work/shared/data/exchange_responses/nautilus_trader/crates/adapters/bybit/test_data")
KEY, SECRET = "bybit-test-key", "bybit-test-secret-value"


@pytest.fixture(scope="module")
def instruments() -> dict[str, Any]:
    path = DATA / "http_get_instruments_linear.json"
    if not path.exists():
        raise FileNotFoundError(f"shared data missing: {path} (see /work/shared/data/README.md)")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


class BybitStandIn:
    """Serve recorded public payloads; answer private calls with a scripted Bybit error."""

    def __init__(self, instruments: dict[str, Any]) -> None:
        self.instruments = instruments
        self.error: tuple[int, int, str] = (200, 10003, "API key is invalid.")
        self.paths: list[str] = []
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _answer(self) -> None:
                parts = urlsplit(self.path)
                stand_in.paths.append(parts.path)
                status, body = stand_in.route(parts.path, parts.query)
                # a 5xx comes from the proxy in front of the API: plain text, as on the wire
                text = status >= 500
                raw = b"Service Unavailable" if text else json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "text/plain" if text else "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = _answer
            do_POST = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def route(self, path: str, query: str) -> tuple[int, dict[str, Any]]:
        if path == "/v5/market/instruments-info":
            if "PreLaunch" in query:
                return 200, {"retCode": 0, "retMsg": "OK", "result": {"list": []}, "time": 0}
            # the live API names the category in the result; the sanitized recording omits it
            result = {"category": "linear", **self.instruments["result"]}
            return 200, {**self.instruments, "result": result}
        if path == "/v5/market/time":
            return 200, {"retCode": 0, "retMsg": "OK", "result": {}, "time": 1_700_000_000_000}
        if path == "/v5/market/tickers":  # the recorded ticker: REST and WS share its fields
            recorded = json.loads((DATA / "ws_ticker_linear.json").read_text())
            result = {"category": "linear", "list": [recorded["data"]]}
            return 200, {"retCode": 0, "retMsg": "OK", "result": result, "time": recorded["ts"]}
        if path == "/v5/asset/coin/query-info":
            return 200, {"retCode": 0, "retMsg": "OK", "result": {"rows": []}, "time": 0}
        status, code, msg = self.error
        return status, {"retCode": code, "retMsg": msg, "result": {}, "retExtInfo": {}, "time": 0}


@pytest.fixture
def stand_in(instruments: dict[str, Any]) -> Iterator[BybitStandIn]:
    s = BybitStandIn(instruments)
    yield s
    s.server.shutdown()
    s.server.server_close()


def bybit(stand_in: BybitStandIn) -> CcxtExchange:
    creds = ApiCredentials(KEY, SECRET)
    config = CcxtConfig(
        exchange_id="bybit",
        retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        max_clock_drift_ms=None,
        options={"fetchMarkets": {"types": ["linear"]}},
    )
    client = make_client(config, creds)
    client.urls["api"] = {k: stand_in.url for k in client.urls["api"]}
    return CcxtExchange(config, creds, client=client, sleep=lambda _s: None)


def test_bybit_markets_are_parsed_from_recorded_instruments(stand_in: BybitStandIn) -> None:
    ex = bybit(stand_in)
    markets = ex.markets()
    btc = markets["BTC/USDT:USDT"]
    assert btc.venue_id == "BTCUSDT"
    assert (btc.price_tick, btc.qty_step, btc.min_qty) == (0.5, 0.001, 0.001)
    assert btc.min_notional == 5.0 and btc.max_leverage == 100 and btc.contract_size == 1.0
    assert all(m.symbol.endswith(":USDT") for m in markets.values())
    assert rules_for("bybit") is BYBIT
    assert BYBIT.pattern.match(client_order_id("v1", 1_700_000_000_000, "BTC/USDT:USDT", 7))


CASES = [
    (200, 10003, "API key is invalid.", xe.AuthenticationError),
    (200, 110007, "ab not enough for new order", xe.InsufficientFundsError),
    (200, 10006, "Too many visits!", xe.RateLimitError),
    (200, 110001, "Order does not exist.", xe.OrderNotFoundError),
    (200, 110017, "Reduce-only rule not satisfied", xe.InvalidOrderError),
    (200, 10016, "Internal server error.", xe.RejectedError),  # ccxt: plain ExchangeError
    (503, 0, "", xe.ExchangeUnavailableError),
]


@pytest.mark.parametrize(
    ("status", "code", "msg", "expected"), CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES]
)
def test_bybit_error_codes_map_into_the_tree(
    stand_in: BybitStandIn, status: int, code: int, msg: str, expected: type[Exception]
) -> None:
    ex = bybit(stand_in)
    ex.markets()
    stand_in.error = (status, code, msg)
    calls = [
        lambda: ex.balance(),
        lambda: ex.place_order(
            OrderRequest.limit("BTC/USDT:USDT", OrderSide.BUY, 0.01, 30_000.0, "c-1")
        ),
    ]
    for call in calls:
        with pytest.raises(xe.XsmomError) as info:
            call()
        assert isinstance(info.value, expected), (code, type(info.value))
        assert KEY not in str(info.value) and SECRET not in str(info.value)


def test_bybit_set_margin_mode_and_leverage_errors_are_mapped(stand_in: BybitStandIn) -> None:
    ex = bybit(stand_in)
    ex.markets()
    stand_in.error = (200, 10003, "API key is invalid.")
    with pytest.raises(xe.AuthenticationError):
        ex.set_leverage("BTC/USDT:USDT", 5)
    with pytest.raises(xe.AuthenticationError):
        ex.set_margin_mode("BTC/USDT:USDT", MarginMode.ISOLATED)


def test_bybit_tickers_carry_the_touch_without_a_book_request(stand_in: BybitStandIn) -> None:
    ex = bybit(stand_in)
    ex.markets()
    before = len(stand_in.paths)
    t = ex.tickers(["BTC/USDT:USDT"])["BTC/USDT:USDT"]
    # bid1Price / ask1Price / lastPrice / markPrice of the recorded payload
    assert (t.bid, t.ask, t.last, t.mark) == (17215.5, 17216.0, 17216.0, 17217.33)
    assert stand_in.paths[before:] == ["/v5/market/tickers"]  # no second (book) request
