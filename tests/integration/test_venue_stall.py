"""Binance's client-id rule and the `stall` fault: the hazard of issue 8 item 1, reproduced on
the venue with raw signed requests, and the recvWindow check when a request is applied."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest

from xsmom.sim import ClientIdRule
from xsmom.venue.testing import RunningVenue, start_venue

START = "2025-09-01"
ORDER = {"symbol": "BTCUSDT", "side": "BUY", "type": "MARKET", "quantity": "0.01"}


@pytest.fixture(params=["open", "ever"])
def rv(request: pytest.FixtureRequest) -> Iterator[RunningVenue]:
    rule: ClientIdRule = request.param
    with start_venue("sample", start=START, symbols=["BTC/USDT:USDT"], client_id_rule=rule) as r:
        yield r


def send_and_give_up(rv: RunningVenue, params: dict[str, str], timeout: float) -> None:
    """Send an order like a client whose timeout fires before the answer."""
    with pytest.raises(TimeoutError):
        rv.request("POST", "/fapi/v1/order", params, signed=True, timeout=timeout)


def wait_for(predicate: object, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached")


def test_a_stalled_order_applies_after_the_client_gave_up(rv: RunningVenue) -> None:
    """The venue-side hazard: an immediate lookup misses the stalled order, and the resend
    (same client id) fills; under Binance's rule the stalled one then fills as well."""
    rv.set_faults(
        {
            "endpoints": {
                "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["stall"], "timeout_s": 0.6}
            }
        }
    )
    params = {**ORDER, "newClientOrderId": "intent-1", "recvWindow": "5000"}
    send_and_give_up(rv, params, timeout=0.2)
    status, _, body = rv.request(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "intent-1"}, signed=True
    )
    assert (status, body["code"]) == (400, -2013)  # not there yet
    rv.set_faults({})
    status, _, body = rv.request("POST", "/fapi/v1/order", params, signed=True)
    assert status == 200 and body["status"] == "FILLED"
    engine = rv.venue.engine
    if rv.venue.engine.client_id_rule == "open":
        wait_for(lambda: len(engine.orders()) == 2)  # one intent, two fills: the bug's shape
        assert engine.position("BTC/USDT:USDT").qty == pytest.approx(0.02)
        newest = engine.order(client_id="intent-1")
        assert newest.order_id == max(o.order_id for o in engine.orders())
    else:
        wait_for(lambda: rv.server.faults.counts.get("stall") == 1)
        time.sleep(0.7)  # the stalled request is refused -4116 by the strict rule
        assert len(engine.orders()) == 1
        assert engine.position("BTC/USDT:USDT").qty == pytest.approx(0.01)


def test_a_request_stalled_past_its_recv_window_is_refused_when_applied(rv: RunningVenue) -> None:
    rv.set_faults(
        {
            "endpoints": {
                "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["stall"], "timeout_s": 0.5}
            }
        }
    )
    params = {**ORDER, "newClientOrderId": "intent-2", "recvWindow": "300"}
    status, _, body = rv.request("POST", "/fapi/v1/order", params, signed=True, timeout=5.0)
    # it passed the gateway (fresh on receipt) and was refused by the engine's check
    assert (status, body["code"]) == (400, -5028)
    assert "ME recvWindow" in body["msg"]
    assert rv.venue.engine.orders() == []
    _, _, admin = rv.request("GET", "/admin/faults")
    assert admin["expired_at_apply"] == 1 and admin["counts"]["stall"] == 1
    # a lookup after timestamp + recvWindow is final: the order can no longer appear
    time.sleep(0.2)
    assert rv.venue.engine.orders() == []


def test_a_stall_inside_the_recv_window_is_applied_and_answered(rv: RunningVenue) -> None:
    rv.set_faults(
        {
            "endpoints": {
                "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["stall"], "timeout_s": 0.2}
            }
        }
    )
    params = {**ORDER, "newClientOrderId": "intent-3", "recvWindow": "1000"}
    t0 = time.monotonic()
    status, _, body = rv.request("POST", "/fapi/v1/order", params, signed=True, timeout=5.0)
    assert time.monotonic() - t0 >= 0.2
    assert status == 200 and body["clientOrderId"] == "intent-3"


def test_a_filled_orders_id_can_be_reused_only_under_the_open_rule(rv: RunningVenue) -> None:
    params = {**ORDER, "newClientOrderId": "reuse-1"}
    assert rv.request("POST", "/fapi/v1/order", params, signed=True)[0] == 200
    status, _, body = rv.request("POST", "/fapi/v1/order", params, signed=True)
    if rv.venue.engine.client_id_rule == "open":
        assert status == 200 and body["orderId"] == 2
    else:
        assert (status, body["code"]) == (400, -4116)
    resting = {**ORDER, "type": "LIMIT", "price": "1000", "timeInForce": "GTC"}
    resting["newClientOrderId"] = "rest-1"
    assert rv.request("POST", "/fapi/v1/order", resting, signed=True)[0] == 200
    status, _, body = rv.request("POST", "/fapi/v1/order", resting, signed=True)
    assert (status, body["code"]) == (400, -4116)  # an open order's id: refused by both rules


def test_client_ids_outside_binances_rule_are_refused_with_1100() -> None:
    with start_venue("sample", start=START, symbols=["BTC/USDT:USDT"]) as rv:
        for bad in ("has space", "x" * 37, "ümlaut"):
            params = {**ORDER, "newClientOrderId": bad}
            status, _, body = rv.request("POST", "/fapi/v1/order", params, signed=True)
            assert (status, body["code"]) == (400, -1100), bad
            assert "newClientOrderId" in body["msg"]
        assert rv.venue.engine.orders() == []
        ok = {**ORDER, "newClientOrderId": "a.B:c/d_e-" + "9" * 25}  # 36 characters
        assert rv.request("POST", "/fapi/v1/order", ok, signed=True)[0] == 200


def test_admin_refuses_a_body_that_is_not_an_object() -> None:
    with start_venue("sample", start=START, symbols=["BTC/USDT:USDT"]) as rv:
        before = rv.now()
        req = urllib.request.Request(f"{rv.url}/admin/clock", data=b"[1, 2]", method="POST")
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)  # loopback URL
        assert err.value.code == 400
        body = json.loads(err.value.read())
        assert body["code"] == -1102 and "JSON object" in body["msg"]
        req = urllib.request.Request(
            f"{rv.url}/admin/clock", data=b'{"advance_ms": null}', method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=5)  # loopback URL
        assert err.value.code == 400
        assert rv.now() == before and rv.server.internal_errors == 0


class SteppedWall:
    """A server clock in ms that moves only when a faulted request 'sleeps'."""

    def __init__(self, start_ms: int) -> None:
        self.now = start_ms
        self.slept: list[float] = []

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += round(seconds * 1000)


def test_stalls_weights_and_timestamps_follow_an_injected_server_clock() -> None:
    wall = SteppedWall(1_900_000_000_000)  # far from the real clock: only the venue's counts
    with start_venue(
        "sample",
        start=START,
        symbols=["BTC/USDT:USDT"],
        wall=wall,
        sleep=wall.sleep,
        weight_limit=3,
    ) as rv:
        _, _, body = rv.request("GET", "/fapi/v1/time")
        assert body["serverTime"] == wall.now
        rv.set_faults(
            {
                "endpoints": {
                    "POST /fapi/v1/order": {"error_rate": 1.0, "errors": ["stall"], "timeout_s": 30}
                }
            }
        )
        params = {**ORDER, "newClientOrderId": "w-1", "recvWindow": "20000"}
        status, _, body = rv.request(
            "POST", "/fapi/v1/order", params, signed=True, timestamp=wall.now
        )
        # held 30 s of server time (no real wait), then stale at apply: deterministic -5028
        assert (status, body["code"]) == (400, -5028) and wall.slept == [30.0]
        assert rv.venue.engine.orders() == []
        rv.set_faults({})
        params = {**ORDER, "newClientOrderId": "w-2", "recvWindow": "60000"}
        status, _, body = rv.request(
            "POST", "/fapi/v1/order", params, signed=True, timestamp=wall.now
        )
        assert status == 200 and body["clientOrderId"] == "w-2"  # inside its window: applied
        status, headers, body = rv.request("GET", "/fapi/v1/time")  # weight 4 > 3 in a minute
        assert (status, body["code"]) == (429, -1003)
        wall.now += 60_000  # the weight window is a minute of the server clock
        status, headers, _ = rv.request("GET", "/fapi/v1/time")
        assert status == 200 and headers["X-MBX-USED-WEIGHT-1M"] == "1"
