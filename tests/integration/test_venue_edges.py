"""Edge cases of the venue's request handling: Binance's codes and messages for missing
parameters, and a request whose body cannot be framed."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from xsmom.venue.testing import RunningVenue, start_venue


@pytest.fixture(scope="module")
def rv() -> Iterator[RunningVenue]:
    with start_venue("sample", start="2025-09-01", symbols=["BTC/USDT:USDT"]) as running:
        yield running


MISSING = [
    ("POST", "/fapi/v1/order", {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET"}, "quantity"),
    ("POST", "/fapi/v1/leverage", {"symbol": "BTCUSDT"}, "leverage"),
    ("POST", "/fapi/v1/order", {"side": "BUY", "type": "MARKET", "quantity": "1"}, "symbol"),
]


@pytest.mark.parametrize(("method", "path", "params", "name"), MISSING)
def test_missing_parameters_answer_1102_with_binances_message(
    rv: RunningVenue, method: str, path: str, params: dict[str, str], name: str
) -> None:
    status, _, body = rv.request(method, path, params, signed=True)
    assert (status, body["code"]) == (400, -1102)
    assert body["msg"] == (
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def test_order_lookup_without_an_id_names_both_parameters(rv: RunningVenue) -> None:
    status, _, body = rv.request("GET", "/fapi/v1/order", {"symbol": "BTCUSDT"}, signed=True)
    assert (status, body["code"]) == (400, -1102)
    assert (
        body["msg"]
        == "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
    )


def test_a_malformed_content_length_is_answered_400_not_a_traceback(rv: RunningVenue) -> None:
    host, port = rv.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(b"POST /fapi/v1/order HTTP/1.1\r\nHost: x\r\nContent-Length: lots\r\n\r\n")
        chunks = []
        while chunk := sock.recv(4096):  # the venue closes the connection after answering
            chunks.append(chunk)
        answer = b"".join(chunks).decode()
    assert answer.startswith("HTTP/1.1 400") and '"code":-1100' in answer
    assert rv.server.internal_errors == 0
    assert rv.request("GET", "/fapi/v1/ping")[0] == 200  # still serving


def test_the_admin_clock_refuses_to_go_back(rv: RunningVenue) -> None:
    now = rv.now()
    for body in ({"advance_ms": -1}, {"set_ms": now - 3_600_000}):
        status, _, answer = admin_post(rv, "/admin/clock", body)
        assert (status, answer["code"]) == (400, -1102) and "only moves forward" in answer["msg"]
    assert rv.now() == now
    status, _, answer = admin_post(rv, "/admin/clock", {"set_ms": now + 3_600_000})
    assert status == 200 and answer["now"] == now + 3_600_000


def admin_post(rv: RunningVenue, path: str, body: dict[str, int]) -> tuple[int, object, Any]:
    req = urllib.request.Request(f"{rv.url}{path}", data=json.dumps(body).encode(), method="POST")
    try:
        with urllib.request.urlopen(req, timeout=5) as resp:  # loopback URL
            return resp.status, resp.headers, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, err.headers, json.loads(err.read())
