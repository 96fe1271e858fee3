"""Signature, timestamp and weight checks, and injected faults, seen through ccxt and raw HTTP."""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Iterator

import ccxt
import pytest

from xsmom.venue.faults import load_plan
from xsmom.venue.testing import RunningVenue, start_venue

BTC = "BTC/USDT:USDT"
START = "2025-09-01"


@pytest.fixture
def rv() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START) as running:
        yield running


def test_bad_signature_and_unknown_key_are_refused(rv):
    status, _, body = rv.request("GET", "/fapi/v2/balance", signed=True, secret="wrong")
    assert (status, body["code"]) == (400, -1022)
    assert body["msg"] == "Signature for this request is not valid."
    ex = ccxt.binanceusdm({**rv.ccxt_config(), "secret": "wrong"})
    with pytest.raises(ccxt.AuthenticationError, match="-1022"):
        ex.fetch_balance()
    ex2 = ccxt.binanceusdm({**rv.ccxt_config(), "apiKey": "someone-else"})
    with pytest.raises(ccxt.AuthenticationError, match="-2015"):
        ex2.fetch_balance()


def test_stale_or_future_timestamp_is_refused_with_1021(rv):
    now = int(time.time() * 1000)
    for ts in (now - 60_000, now + 5_000):
        status, _, body = rv.request("GET", "/fapi/v2/balance", signed=True, timestamp=ts)
        assert (status, body["code"]) == (400, -1021)
    status, _, body = rv.request(
        "GET", "/fapi/v2/balance", {"recvWindow": "60000"}, signed=True, timestamp=now - 30_000
    )
    assert status == 200, body


def test_weight_headers_and_429_over_the_limit():
    with start_venue("sample", start=START, weight_limit=12) as rv:
        status, headers, _ = rv.request("GET", "/fapi/v1/time")
        assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "1"
        used = [rv.request("GET", "/fapi/v2/balance", signed=True)[1] for _ in range(2)]
        assert used[-1]["X-MBX-USED-WEIGHT-1M"] == "11"
        status, headers, body = rv.request("GET", "/fapi/v2/balance", signed=True)
        assert (status, body["code"]) == (429, -1003)
        assert int(headers["Retry-After"]) >= 1
        ex = rv.ccxt_client()
        with pytest.raises(ccxt.DDoSProtection):
            ex.fetch_balance()


def test_fault_file_produces_the_configured_errors(tmp_path):
    plan = tmp_path / "faults.yaml"
    plan.write_text(
        "seed: 3\n"
        "endpoints:\n"
        "  GET /fapi/v1/ticker/24hr: {error_rate: 1.0, errors: [503]}\n"
        "  GET /fapi/v1/premiumIndex: {error_rate: 1.0, errors: [429], retry_after: 7}\n"
        "  POST /fapi/v1/order: {reject_rate: 1.0, reject: min_notional}\n"
        "  GET /fapi/v1/klines: {error_rate: 0.5, errors: [500, 418]}\n"
    )
    with start_venue("sample", start=START) as rv:
        rv.server.faults.replace(load_plan(plan))
        ex = rv.ccxt_client()
        ex.load_markets()
        with pytest.raises(ccxt.ExchangeNotAvailable):
            ex.fetch_ticker(BTC)
        status, headers, body = rv.request("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"})
        assert (status, body["code"], headers["Retry-After"]) == (429, -1003, "7")
        with pytest.raises(ccxt.InvalidOrder, match="-4164"):
            ex.create_order(BTC, "market", "buy", 0.01)
        assert rv.venue.engine.orders() == []
        outcomes = [
            rv.request("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h"})[0]
            for _ in range(40)
        ]
        assert 10 < sum(s != 200 for s in outcomes) < 30
        assert set(outcomes) <= {200, 500, 418}
    # the same seed and the same requests give the same faults
    with start_venue("sample", start=START) as rv2:
        rv2.server.faults.replace(load_plan(plan))
        again = [
            rv2.request("GET", "/fapi/v1/klines", {"symbol": "BTCUSDT", "interval": "1h"})[0]
            for _ in range(40)
        ]
        assert again == outcomes


def test_dropped_response_leaves_exactly_one_order(rv):
    ex = rv.ccxt_client()
    ex.load_markets()
    rv.set_faults({"endpoints": {"POST /fapi/v1/order": {"drop_response_rate": 1.0}}})
    with pytest.raises(ccxt.NetworkError):
        ex.create_order(BTC, "limit", "buy", 0.01, 90_000.0, {"clientOrderId": "intent-1"})
    rv.set_faults({})
    found = ex.fetch_order(None, BTC, {"origClientOrderId": "intent-1"})
    assert found["clientOrderId"] == "intent-1" and found["status"] == "open"
    assert len(ex.fetch_open_orders(BTC)) == 1
    with pytest.raises(ccxt.InvalidOrder, match="-4116"):  # a blind retry is refused
        ex.create_order(BTC, "limit", "buy", 0.01, 90_000.0, {"clientOrderId": "intent-1"})
    assert len(ex.fetch_open_orders(BTC)) == 1


def test_timeout_fault_stalls_past_the_client_timeout_without_placing(rv):
    ex = rv.ccxt_client(timeout_ms=500)
    ex.load_markets()
    rv.set_faults(
        {
            "endpoints": {
                "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["timeout"], "timeout_s": 1.0}
            }
        }
    )
    with pytest.raises(ccxt.RequestTimeout):
        ex.create_order(BTC, "limit", "buy", 0.01, 90_000.0, {"clientOrderId": "t-1"})
    rv.set_faults({})
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order(None, BTC, {"origClientOrderId": "t-1"})


def test_maintenance_from_the_admin_endpoint(rv):
    ex = rv.ccxt_client()
    ex.load_markets()
    status, _, body = rv.request("POST", "/admin/faults")  # empty plan: reset
    assert status == 200
    req = json.dumps({"maintenance_now": True})
    r = urllib.request.Request(f"{rv.url}/admin/faults", data=req.encode(), method="POST")
    with urllib.request.urlopen(r, timeout=5) as resp:  # loopback URL
        assert resp.status == 200
    with pytest.raises(ccxt.OnMaintenance):
        ex.fetch_ticker(BTC)
    status, _, body = rv.request("GET", "/fapi/v1/time")
    assert (status, body["code"]) == (503, -1001)
    rv.set_faults({})
    assert ex.fetch_ticker(BTC)["last"] > 0


def test_admin_clock_steps_the_replay(rv):
    before = rv.now()
    r = urllib.request.Request(
        f"{rv.url}/admin/clock", data=json.dumps({"advance_ms": 7_200_000}).encode(), method="POST"
    )
    with urllib.request.urlopen(r, timeout=5) as resp:  # loopback URL
        assert json.loads(resp.read())["now"] == before + 7_200_000


def test_late_response_times_out_but_the_order_exists(rv):
    ex = rv.ccxt_client(timeout_ms=500)
    ex.load_markets()
    rv.set_faults(
        {
            "endpoints": {
                "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["late"], "timeout_s": 1.0}
            }
        }
    )
    with pytest.raises(ccxt.RequestTimeout):
        ex.create_order(BTC, "limit", "buy", 0.01, 90_000.0, {"clientOrderId": "late-1"})
    rv.set_faults({})
    assert ex.fetch_order(None, BTC, {"origClientOrderId": "late-1"})["status"] == "open"


def test_concurrent_clients_get_distinct_orders(rv):
    clients = [rv.ccxt_client() for _ in range(4)]
    for c in clients:
        c.load_markets()
    errors: list[BaseException] = []

    def place(c, n):
        try:
            for i in range(10):
                c.create_order(BTC, "limit", "buy", 0.01, 90_000.0, {"clientOrderId": f"c{n}-{i}"})
        except ccxt.BaseError as exc:  # collected and asserted on below
            errors.append(exc)

    threads = [threading.Thread(target=place, args=(c, n)) for n, c in enumerate(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    orders = clients[0].fetch_open_orders(BTC)
    assert len(orders) == 40 and len({o["id"] for o in orders}) == 40


def test_order_rate_limit_answers_1015():
    with start_venue("sample", start=START, order_limit_10s=3) as rv:
        order = {
            "symbol": "BTCUSDT",
            "side": "BUY",
            "type": "LIMIT",
            "quantity": "0.01",
            "price": "90000",
            "timeInForce": "GTC",
        }
        counts = [rv.request("POST", "/fapi/v1/order", order, signed=True)[1] for _ in range(3)]
        assert [h["X-MBX-ORDER-COUNT-10S"] for h in counts] == ["1", "2", "3"]
        status, headers, body = rv.request("POST", "/fapi/v1/order", order, signed=True)
        assert (status, body["code"]) == (429, -1015) and "Retry-After" in headers
        assert len(rv.venue.engine.orders()) == 3
        ex = rv.ccxt_client()
        ex.load_markets()
        with pytest.raises(ccxt.DDoSProtection, match="-1015"):  # ccxt's class for any 429
            ex.create_order(BTC, "limit", "buy", 0.01, 90_000.0)
