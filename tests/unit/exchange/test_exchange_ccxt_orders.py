"""`OrderSender` on its own: the pinned stamp, the wait before a lookup, the single resend.

Hand-worked timeline (local clock 1_000_000 ms, venue 250 ms ahead, recvWindow 5000 ms,
margin 1000 ms): the first send is stamped 1_000_250 venue ms and times out, so it can apply
until 1_000_250 - 250 + 5000 + 1000 = 1_006_000 local ms. The backoff sleeps 0.5 s (base
delay, no jitter) to 1_000_500; the lookup then waits the remaining 5.5 s, finds nothing at
1_006_000 and the order is sent once more, stamped 1_006_250.
"""

from __future__ import annotations

from typing import Any

import pytest

from xsmom.errors import NetworkError
from xsmom.exchange.ccxt_client import CcxtConfig
from xsmom.exchange.ccxt_orders import OrderSender
from xsmom.exchange.clock import ClockSync
from xsmom.exchange.reports import (
    MarketInfo,
    OrderReport,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from xsmom.exchange.retry import Retrier, RetryPolicy

MARKET = MarketInfo(
    symbol="BTC/USDT:USDT",
    venue_id="BTCUSDT",
    price_tick=0.1,
    qty_step=0.001,
    min_qty=0.001,
    min_notional=5.0,
)
REQ = OrderRequest.market("BTC/USDT:USDT", OrderSide.BUY, 0.01, "c1")
FOUND = OrderReport(
    venue_order_id="9",
    client_id="c1",
    symbol="BTC/USDT:USDT",
    side=OrderSide.BUY,
    type=OrderType.MARKET,
    qty=0.01,
    price=None,
    stop_price=None,
    filled=0.01,
    avg_price=100.0,
    status=OrderStatus.FILLED,
    reduce_only=False,
    post_only=False,
    ts=1,
)


class Harness:
    """A local clock that sleeping advances, a venue 250 ms ahead, a scripted create."""

    def __init__(self, exchange_id: str, fails: int, found: OrderReport | None) -> None:
        self.now = 1_000_000
        self.sleeps: list[float] = []
        self.sent: list[dict[str, Any]] = []
        self.lookups: list[tuple[str, str]] = []
        self.fails = fails
        self.found = found
        self.ids_only = False  # Bybit's create answer: ids only
        self.read_backs: list[tuple[str, str | None, str | None]] = []
        self.full: dict[str, Any] = {}
        clock = ClockSync(lambda: self.now + 250, local_ms=lambda: self.now, samples=1)
        clock.measure()
        cfg = CcxtConfig(
            exchange_id=exchange_id,
            recv_window_ms=5_000,
            clock_margin_ms=1_000,
            retry=RetryPolicy(max_attempts=3, base_delay=0.5, jitter=0.0),
        )
        self.sender = OrderSender(
            config=cfg,
            clock=clock,
            retrier=Retrier(cfg.retry, sleep=self.sleep),
            raw=lambda _name, fn: fn(),
            create=self.create,
            lookup=self.lookup,
            read_back=self.read_back,
            local=lambda: self.now,
            sleep=self.sleep,
        )

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += round(seconds * 1000)

    def create(self, *args: Any) -> dict[str, Any]:
        _symbol, ccxt_type, side, amount, _price, params = args
        self.sent.append(dict(params))
        if len(self.sent) <= self.fails:
            raise NetworkError("read timeout")
        full = {"id": "7", "side": side, "amount": amount, "type": ccxt_type, "status": "open"}
        self.full = full
        return {"id": "7"} if self.ids_only else full

    def read_back(self, symbol: str, client_id: str | None, order_id: str | None) -> Any:
        self.read_backs.append((symbol, client_id, order_id))
        return {**self.full, "clientOrderId": client_id}

    def lookup(self, symbol: str, client_id: str) -> OrderReport | None:
        self.lookups.append((symbol, client_id))
        return self.found


def _place(h: Harness) -> OrderReport:
    return h.sender.place(REQ, MARKET)


def test_unknown_outcome_waits_until_the_send_is_dead_then_resends_once() -> None:
    h = Harness("binanceusdm", fails=1, found=None)
    report = _place(h)
    assert [p["timestamp"] for p in h.sent] == [1_000_250, 1_006_250]
    assert {p["recvWindow"] for p in h.sent} == {5_000}
    assert h.sleeps == [0.5, 5.5]
    assert h.lookups == [("BTC/USDT:USDT", "c1")]
    assert (report.venue_order_id, report.client_id) == ("7", "c1")  # id filled in from the req


def test_an_order_found_by_the_lookup_is_not_sent_again() -> None:
    h = Harness("binanceusdm", fails=1, found=FOUND)
    assert _place(h) is FOUND
    assert len(h.sent) == 1


def test_an_unstamped_venue_waits_from_the_local_send_time() -> None:
    # no timestamp pinned: the send was signed before 1_000_000, dead after 1_006_000 local
    h = Harness("bybit", fails=1, found=None)
    _place(h)
    assert all("timestamp" not in p and "recvWindow" not in p for p in h.sent)
    assert h.sleeps == [0.5, 5.5]


def test_out_of_attempts_raises_the_last_error_after_a_final_lookup() -> None:
    h = Harness("binanceusdm", fails=99, found=None)
    with pytest.raises(NetworkError, match="read timeout"):
        _place(h)
    assert len(h.sent) == 3
    assert len(h.lookups) == 3  # before the 2nd and 3rd send, and once more at the end


def test_an_answer_with_ids_only_is_read_back_once_on_bybit() -> None:
    h = Harness("bybit", fails=0, found=None)
    h.ids_only = True
    report = _place(h)
    assert h.read_backs == [("BTC/USDT:USDT", "c1", None)]
    assert (report.venue_order_id, report.client_id, report.side.value) == ("7", "c1", "buy")
    h2 = Harness("binanceusdm", fails=0, found=None)
    h2.ids_only = True  # only Bybit answers that way: elsewhere it is a parse error, not a read
    with pytest.raises(ValueError, match="OrderSide"):
        _place(h2)
    assert h2.read_backs == []
