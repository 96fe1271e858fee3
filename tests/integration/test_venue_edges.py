"""Edge cases of the venue's request handling: Binance's codes and messages for missing
parameters, and a request whose body cannot be framed."""

from __future__ import annotations

import socket
from collections.abc import Iterator

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
