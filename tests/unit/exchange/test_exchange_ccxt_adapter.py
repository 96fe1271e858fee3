"""The ccxt adapter over a behaving stand-in client: the error mapping once per adapter
method, retries only where they belong, lookup before resending an order, clock checks,
and parsing of ccxt's recorded Binance structures."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ccxt
import pytest

from xsmom import errors as xe
from xsmom.exchange import ccxt_parse as cp
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.reports import (
    MarginMode,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
)
from xsmom.exchange.retry import RetryPolicy

BTC = "BTC/USDT:USDT"
MARKET = {
    "id": "BTCUSDT",
    "symbol": BTC,
    "swap": True,
    "linear": True,
    "active": True,
    "settle": "USDT",
    "contractSize": 1,
    "precision": {"amount": 0.001, "price": 0.1},
    "limits": {"amount": {"min": 0.001}, "cost": {"min": 100}, "leverage": {"max": 125}},
}
ORDER = {
    "id": "42",
    "clientOrderId": "cid-1",
    "symbol": BTC,
    "side": "buy",
    "type": "limit",
    "amount": 0.01,
    "price": 30000.0,
    "filled": 0.0,
    "status": "open",
    "timeInForce": "GTX",
    "postOnly": True,
    "reduceOnly": False,
    "timestamp": 1,
}


class StandIn:
    """A ccxt-shaped client: answers from canned data, raises what a test scripts."""

    precisionMode = 4

    def __init__(self) -> None:
        self.options: dict[str, Any] = {}
        self.last_response_headers: dict[str, str] = {}
        self.failures: dict[str, list[Exception]] = {}
        self.calls: list[str] = []
        self.server_skew_ms = 0
        self.orders: dict[str, dict[str, Any]] = {}
        self.income: list[dict[str, Any]] = []  # funding history entries

    def fail(self, name: str, *errors: Exception) -> None:
        self.failures[name] = list(errors)

    def _enter(self, name: str) -> None:
        self.calls.append(name)
        queue = self.failures.get(name)
        if queue:
            err = queue[0] if len(queue) == 1 else queue.pop(0)
            raise err

    def load_markets(self) -> dict[str, Any]:
        self._enter("load_markets")
        spot = {**MARKET, "symbol": "BTC/USDT", "swap": False, "linear": None}
        return {BTC: MARKET, "BTC/USDT": spot}

    def fetch_time(self) -> int:
        self._enter("fetch_time")
        import time

        return int(time.time() * 1000) + self.server_skew_ms

    def fetch_ticker(self, symbol: str) -> dict[str, Any]:
        self._enter("fetch_ticker")
        return {"symbol": symbol, "last": 30000.0, "bid": 29999.9, "ask": 30000.1, "timestamp": 5}

    def fetch_tickers(self, symbols: list[str]) -> dict[str, Any]:
        self._enter("fetch_tickers")
        return {s: {"symbol": s, "last": 1.0, "timestamp": 5} for s in symbols}

    def fetch_ohlcv(self, symbol: str, tf: str, since: Any, limit: Any) -> list[list[float]]:
        self._enter("fetch_ohlcv")
        return [[0, 1, 2, 0.5, 1.5, 10], [3_600_000, 1.5, 2, 1, 1.2, 5]]

    def fetch_funding_rate_history(self, symbol: str, since: Any, limit: Any) -> list[Any]:
        self._enter("fetch_funding_rate_history")
        return [{"fundingRate": 0.0002, "timestamp": 20}, {"fundingRate": 0.0001, "timestamp": 10}]

    def fetch_funding_rate(self, symbol: str) -> dict[str, Any]:
        self._enter("fetch_funding_rate")
        return {
            "markPrice": 30001.0,
            "indexPrice": 30000.5,
            "fundingRate": 1e-4,
            "nextFundingTimestamp": 28_800_000,
            "timestamp": 7,
        }

    def fetch_funding_rates(self, symbols: list[str]) -> dict[str, Any]:
        self._enter("fetch_funding_rates")
        return {s: {"markPrice": 2.0, "fundingRate": 0.0} for s in symbols}

    def fetch_balance(self) -> dict[str, Any]:
        self._enter("fetch_balance")
        return {
            "USDT": {"free": 90.0, "used": 10.0, "total": 100.0},
            "info": {"totalWalletBalance": "99", "totalUnrealizedProfit": "1"},
        }

    def fetch_positions(self, symbols: Any) -> list[dict[str, Any]]:
        self._enter("fetch_positions")
        return [
            {
                "symbol": BTC,
                "contracts": 0.5,
                "side": "short",
                "entryPrice": 30000,
                "markPrice": 29000,
                "unrealizedPnl": 500,
                "leverage": 3,
                "marginMode": "cross",
                "liquidationPrice": 45000,
            },
            {"symbol": BTC, "contracts": 0, "side": None},
        ]

    def fetch_open_orders(self, symbol: Any, since: Any, limit: Any, params: Any) -> list[Any]:
        self._enter("fetch_open_orders")
        return [] if params else [ORDER]

    def fetch_order(self, oid: Any, symbol: str, params: dict[str, Any]) -> dict[str, Any]:
        self._enter("fetch_order")
        cid = params.get("clientOrderId")
        if cid in self.orders and not params.get("trigger"):
            return self.orders[cid]
        raise ccxt.OrderNotFound('binanceusdm {"code":-2013,"msg":"Order does not exist."}')

    def fetch_my_trades(self, symbol: str, since: Any, limit: Any, params: Any) -> list[Any]:
        self._enter("fetch_my_trades")
        return []

    def fetch_funding_history(self, symbol: Any, since: Any, limit: Any) -> list[Any]:
        self._enter("fetch_funding_history")
        return [r for r in self.income if since is None or r["timestamp"] >= since][:limit]

    def create_order(
        self, symbol: str, type_: str, side: str, amount: float, price: Any, params: dict[str, Any]
    ) -> dict[str, Any]:
        self._enter("create_order")
        cid = params["clientOrderId"]
        order = {
            **ORDER,
            "clientOrderId": cid,
            "type": type_,
            "side": side,
            "amount": amount,
            "price": price,
            "postOnly": params.get("postOnly", False),
            "reduceOnly": params.get("reduceOnly", False),
            "triggerPrice": params.get("stopLossPrice"),
        }
        self.orders[cid] = order
        return order

    def cancel_order(self, oid: Any, symbol: str, params: dict[str, Any]) -> dict[str, Any]:
        self._enter("cancel_order")
        return {**ORDER, "status": "canceled"}

    def set_leverage(self, leverage: int, symbol: str) -> dict[str, Any]:
        self._enter("set_leverage")
        return {}

    def set_margin_mode(self, mode: str, symbol: str) -> dict[str, Any]:
        self._enter("set_margin_mode")
        return {}


def make(
    attempts: int = 3, drift: int | None = None
) -> tuple[CcxtExchange, StandIn, list[float], list[tuple[str, bool]]]:
    client, slept, seen = StandIn(), [], []
    cfg = CcxtConfig(
        retry=RetryPolicy(max_attempts=attempts, base_delay=0.01),
        max_clock_drift_ms=drift,
        rate_per_s=1e6,
        burst=1e6,
    )
    ex = CcxtExchange(cfg, client=client, sleep=slept.append)
    ex.observe_calls(lambda n, ok: seen.append((n, ok)))
    ex.markets()
    return ex, client, slept, seen


LIMIT = OrderRequest.limit(BTC, OrderSide.BUY, 0.01, 30000.0, "cid-1")
METHODS: dict[str, tuple[str, Callable[[CcxtExchange], object]]] = {
    "ticker": ("fetch_ticker", lambda ex: ex.ticker(BTC)),
    "tickers": ("fetch_tickers", lambda ex: ex.tickers([BTC])),
    "ohlcv": ("fetch_ohlcv", lambda ex: ex.ohlcv(BTC, "1h")),
    "funding_history": ("fetch_funding_rate_history", lambda ex: ex.funding_history(BTC)),
    "mark_price": ("fetch_funding_rate", lambda ex: ex.mark_price(BTC)),
    "mark_prices": ("fetch_funding_rates", lambda ex: ex.mark_prices([BTC])),
    "balance": ("fetch_balance", lambda ex: ex.balance()),
    "positions": ("fetch_positions", lambda ex: ex.positions()),
    "open_orders": ("fetch_open_orders", lambda ex: ex.open_orders(BTC)),
    "order_by_client_id": ("fetch_order", lambda ex: ex.order_by_client_id(BTC, "x")),
    "fills": ("fetch_my_trades", lambda ex: ex.fills(BTC)),
    "funding_payments": ("fetch_funding_history", lambda ex: ex.funding_payments(0)),
    "place_order": ("create_order", lambda ex: ex.place_order(LIMIT)),
    "cancel_order": ("cancel_order", lambda ex: ex.cancel_order(BTC, client_id="x")),
    "set_leverage": ("set_leverage", lambda ex: ex.set_leverage(BTC, 5)),
    "set_margin_mode": ("set_margin_mode", lambda ex: ex.set_margin_mode(BTC, MarginMode.CROSS)),
}
ERRORS = [
    (ccxt.AuthenticationError("-2015"), xe.AuthenticationError, False),
    (ccxt.InsufficientFunds("-2019"), xe.InsufficientFundsError, False),
    (ccxt.ExchangeNotAvailable("503"), xe.ExchangeUnavailableError, True),
]


@pytest.mark.parametrize("method", sorted(METHODS))
@pytest.mark.parametrize(("exc", "expected", "retried"), ERRORS, ids=lambda e: type(e).__name__)
def test_every_method_maps_errors_and_retries_only_retryable(
    method: str, exc: Exception, expected: type[Exception], retried: bool
) -> None:
    ex, client, slept, seen = make(attempts=3)
    ccxt_name, call = METHODS[method]
    client.fail(ccxt_name, exc)
    with pytest.raises(expected):
        call(ex)
    sent = client.calls.count(ccxt_name)
    if retried:
        # order_by_client_id/cancel try plain then conditional orders: up to 2 x attempts
        assert sent in (3, 6) and len(slept) >= 2
    else:
        assert sent == 1 and slept == []
    # the breaker's view: a venue that answered "no" is healthy, anything else is a failure
    healthy = issubclass(expected, xe.RejectedError)
    assert (ccxt_name, healthy) in seen


def test_rate_limit_resends_without_lookup_and_honours_retry_after() -> None:
    ex, client, slept, _ = make()
    real = client.create_order
    calls = {"n": 0}

    def limited_once(*a: Any, **k: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            client.last_response_headers = {"Retry-After": "3"}  # this answer's header
            raise ccxt.RateLimitExceeded("429")
        return real(*a, **k)

    client.create_order = limited_once  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1"
    assert calls["n"] == 2 and "fetch_order" not in client.calls
    assert slept and slept[0] >= 3.0


def test_timeout_then_found_is_returned_without_resending() -> None:
    ex, client, _, _ = make()
    real = client.create_order

    def accepted_but_lost(*a: Any, **k: Any) -> dict[str, Any]:
        real(*a, **k)
        raise ccxt.RequestTimeout("read timed out")

    client.create_order = accepted_but_lost  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1" and report.status is OrderStatus.NEW
    assert len(client.orders) == 1
    assert client.calls.count("fetch_order") == 1


def test_timeout_not_found_is_resent_and_a_duplicate_reject_resolves_to_the_order() -> None:
    ex, client, _, _ = make()
    real = client.create_order
    state = {"n": 0}

    def lost_then_duplicate(*a: Any, **k: Any) -> dict[str, Any]:
        state["n"] += 1
        if state["n"] == 1:
            raise ccxt.NetworkError("connection reset")  # not applied, lookup finds nothing
        if state["n"] == 2:
            real(*a, **k)  # applied, but the venue's answer is a late duplicate reject
            raise ccxt.InvalidOrder('{"code":-4116,"msg":"ClientOrderId is duplicated."}')
        raise AssertionError("sent a third time")

    client.create_order = lost_then_duplicate  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1" and state["n"] == 2


def test_clock_drift_refuses_orders_and_clock_skew_resyncs() -> None:
    ex, client, _, _ = make(drift=1_000)
    client.server_skew_ms = 5_000
    with pytest.raises(xe.ClockDriftError):
        ex.place_order(LIMIT)
    assert "create_order" not in client.calls
    assert client.options["timeDifference"] == pytest.approx(-5_000, abs=200)
    ex2, client2, _, _ = make(drift=None)
    client2.fail("fetch_balance", ccxt.InvalidNonce("-1021"))
    with pytest.raises(xe.NetworkError):
        ex2.balance()
    assert "fetch_time" in client2.calls and "timeDifference" in client2.options


def test_results_are_parsed() -> None:
    ex, _, _, _ = make()
    assert list(ex.markets()) == [BTC]  # the spot market is dropped
    m = ex.markets()[BTC]
    assert (m.price_tick, m.qty_step, m.min_notional, m.max_leverage) == (0.1, 0.001, 100, 125)
    (pos,) = ex.positions()
    assert (
        pos.qty == -0.5 and pos.liquidation_price == 45000 and pos.margin_mode is MarginMode.CROSS
    )
    b = ex.balance()
    assert (b.wallet, b.equity, b.free, b.used_margin, b.unrealized) == (99, 100, 90, 10, 1)
    assert [e.ts for e in ex.funding_history(BTC)] == [10, 20]
    mp = ex.mark_price(BTC)
    assert (mp.mark, mp.index, mp.next_funding_ts) == (30001.0, 30000.5, 28_800_000)
    (o,) = ex.open_orders(BTC)
    assert o.post_only and o.type is OrderType.LIMIT and o.status is OrderStatus.NEW
    stop = ex.place_order(OrderRequest.stop_market(BTC, OrderSide.SELL, 0.01, 25_000.04, "s-1"))
    assert stop.type is OrderType.STOP_MARKET and stop.stop_price == 25_000.0 and stop.reduce_only
    with pytest.raises(xe.InvalidOrderError):
        ex.ticker("DOGE/USDT:USDT")
    with pytest.raises(xe.InvalidOrderError):
        ex.cancel_order(BTC)
    with pytest.raises(xe.InvalidOrderError):
        ex.set_leverage(BTC, 500)


STATIC = Path("/work/shared/data/exchange_responses/ccxt_static/binance_usdm_swap_subset.json")


@pytest.fixture(scope="module")
def recorded() -> dict[str, Any]:
    if not STATIC.exists():
        raise FileNotFoundError(f"shared data missing: {STATIC}")
    return json.loads(STATIC.read_text())["methods"]  # type: ignore[no-any-return]


def _btc_info() -> Any:
    return cp.parse_market(MARKET)


def test_recorded_binance_structures_parse(recorded: dict[str, Any]) -> None:
    (order,) = recorded["createOrders"][0]["parsedResponse"]
    rep = cp.parse_order(order, _btc_info(), 0)
    assert rep.status is OrderStatus.NEW and rep.side is OrderSide.SELL
    assert rep.qty == pytest.approx(0.2) and rep.price == pytest.approx(110001.0)
    assert rep.client_id == "x-xcKtGhcu04075babaeb34c55af79ba"
    po = recorded["fetchOpenOrder"][0]["parsedResponse"]
    ltc = cp.parse_order(po, _btc_info(), 0)
    assert ltc.post_only and ltc.type is OrderType.LIMIT
    (pos,) = [p for p in recorded["fetchPositions"][0]["parsedResponse"] if p["contracts"]]
    prep = cp.parse_position(pos, _btc_info(), 0)
    assert prep.qty == pytest.approx(0.009) and prep.liquidation_price == pytest.approx(
        64846.9875379
    )
    (trade,) = recorded["fetchMyTrades"][0]["parsedResponse"]
    fill = cp.parse_fill(trade, _btc_info())
    assert (
        fill.fee == pytest.approx(0.1462684) and not fill.is_maker and fill.fee_currency == "USDT"
    )
    bal = cp.parse_balance(recorded["fetchBalance"][0]["parsedResponse"], "USDT", 0)
    assert bal.wallet == pytest.approx(31.022612) and bal.unrealized == 0.0


def test_adapter_never_exceeds_its_configured_rate() -> None:
    now = {"ms": 1_000_000_000_000}

    def sleep(seconds: float) -> None:
        now["ms"] += round(seconds * 1000)

    client = StandIn()
    cfg = CcxtConfig(rate_per_s=4.0, burst=2.0, max_clock_drift_ms=None)
    ex = CcxtExchange(cfg, client=client, sleep=sleep, clock=lambda: now["ms"])
    stamps: list[int] = []
    ex.observe_calls(lambda _n, _ok: stamps.append(now["ms"]))
    start = now["ms"]
    ex.markets()
    for _ in range(21):
        ex.ticker(BTC)
    # 22 requests: 2 from the burst, then 20 at 4/s -> at least 5 s of (fake) waiting
    assert len(stamps) == 22 and now["ms"] - start >= 4_999
    for i in range(len(stamps) - 4):
        assert stamps[i + 4] - stamps[i] >= 749  # never more than burst + rate in any second


def test_out_of_attempts_after_unknown_outcomes_looks_once_more() -> None:
    ex, client, _, _ = make(attempts=2)
    real = client.create_order
    state = {"n": 0}

    def slow_venue(*a: Any, **k: Any) -> dict[str, Any]:
        state["n"] += 1
        if state["n"] == 2:  # the second send is applied but its answer lost
            real(*a, **k)
        raise ccxt.RequestTimeout("timed out")

    client.create_order = slow_venue  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1" and state["n"] == 2 and len(client.orders) == 1


def test_out_of_attempts_with_nothing_found_raises_the_last_error() -> None:
    ex, client, _, _ = make(attempts=2)
    client.fail("create_order", ccxt.RequestTimeout("timed out"))
    with pytest.raises(xe.RequestTimeoutError):
        ex.place_order(LIMIT)
    assert client.calls.count("create_order") == 2


class SteppedClock:
    """Local clock in ms that only the adapter's sleeps move."""

    def __init__(self) -> None:
        self.now = 1_700_000_000_000

    def __call__(self) -> int:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += round(seconds * 1000)


def test_lookup_after_unknown_outcome_waits_until_the_send_can_no_longer_apply() -> None:
    client, clock = StandIn(), SteppedClock()
    cfg = CcxtConfig(
        retry=RetryPolicy(max_attempts=3, base_delay=0.01, jitter=0.0),
        max_clock_drift_ms=None,
        rate_per_s=1e6,
        burst=1e6,
        recv_window_ms=2_000,
        clock_margin_ms=300,
    )
    ex = CcxtExchange(cfg, client=client, sleep=clock.sleep, clock=clock)
    ex.markets()
    sent: list[dict[str, Any]] = []
    looked_at: list[int] = []
    real_create, real_fetch = client.create_order, client.fetch_order

    def slow_create(*a: Any, **k: Any) -> dict[str, Any]:
        sent.append(dict(a[5]))
        clock.now += 150  # the client's timeout
        if len(sent) == 1:
            raise ccxt.RequestTimeout("timed out")
        return real_create(*a, **k)

    def fetch(*a: Any, **k: Any) -> dict[str, Any]:
        looked_at.append(clock.now)
        return real_fetch(*a, **k)

    client.create_order = slow_create  # type: ignore[method-assign]
    client.fetch_order = fetch  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1" and len(sent) == 2
    # the timestamp and recvWindow are pinned, so the adapter knows the send's deadline
    stamp = sent[0]["timestamp"]
    assert sent[0]["recvWindow"] == 2_000 and stamp == 1_700_000_000_000
    # no lookup before stamp + recvWindow + margin; one right after (plain, then trigger)
    assert looked_at and min(looked_at) == stamp + 2_000 + 300
    assert sent[1]["timestamp"] >= stamp + 2_300


def test_without_a_pinned_stamp_the_deadline_counts_from_the_failure() -> None:
    client, clock = StandIn(), SteppedClock()
    cfg = CcxtConfig(
        exchange_id="okx",  # any venue whose signer takes no timestamp parameter
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, jitter=0.0),
        max_clock_drift_ms=None,
        rate_per_s=1e6,
        burst=1e6,
        recv_window_ms=5_000,
        clock_margin_ms=1_000,
    )
    ex = CcxtExchange(cfg, client=client, sleep=clock.sleep, clock=clock)
    ex.markets()
    failed_at: list[int] = []
    looked_at: list[int] = []
    real_fetch = client.fetch_order

    def lost(*a: Any, **k: Any) -> dict[str, Any]:
        assert "timestamp" not in a[5]  # only Binance's signer takes it
        clock.now += 10_000
        failed_at.append(clock.now)
        raise ccxt.RequestTimeout("timed out")

    def fetch(*a: Any, **k: Any) -> dict[str, Any]:
        looked_at.append(clock.now)
        return real_fetch(*a, **k)

    client.create_order = lost  # type: ignore[method-assign]
    client.fetch_order = fetch  # type: ignore[method-assign]
    with pytest.raises(xe.RequestTimeoutError):
        ex.place_order(LIMIT)
    assert min(looked_at) >= failed_at[0] + 6_000


def test_bad_recv_window_is_a_config_error() -> None:
    with pytest.raises(xe.ConfigError, match="recv_window_ms"):
        CcxtConfig(recv_window_ms=70_000)
    with pytest.raises(xe.ConfigError, match="clock_margin_ms"):
        CcxtConfig(clock_margin_ms=-1)


def test_an_order_refused_as_stale_by_the_matching_engine_is_resent_without_lookup() -> None:
    ex, client, slept, _ = make()
    real = client.create_order
    calls = {"n": 0}

    def stale_once(*a: Any, **k: Any) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:  # Binance: not applied, its timestamp had expired on arrival
            raise ccxt.BadRequest(
                'binanceusdm {"code":-5028,"msg":"Timestamp for this request is outside of '
                'the ME recvWindow."}'
            )
        return real(*a, **k)

    client.create_order = stale_once  # type: ignore[method-assign]
    report = ex.place_order(LIMIT)
    assert report.client_id == "cid-1" and calls["n"] == 2 and len(client.orders) == 1
    assert "fetch_order" not in client.calls and len(slept) == 1  # one backoff, no 6 s wait


def test_funding_payments_parse_and_skip_markets_not_traded(
    caplog: pytest.LogCaptureFixture,
) -> None:
    ex, client, _, _ = make()
    t = 1_700_000_000_000
    client.income = [
        {"id": "5", "symbol": BTC, "code": "USDT", "amount": -0.25, "timestamp": t},
        {"id": "6", "symbol": "DOGE/USDC:USDC", "code": "USDC", "amount": 1.0, "timestamp": t},
    ]
    (paid,) = ex.funding_payments(since=t)
    assert (paid.payment_id, paid.symbol, paid.amount, paid.currency, paid.ts) == (
        "5",
        BTC,
        -0.25,
        "USDT",
        t,
    )
    assert "DOGE/USDC:USDC" in caplog.text  # said, not recorded in silence
    client.income = [{"id": None, "symbol": BTC, "amount": -0.25, "timestamp": t}]
    with pytest.raises(xe.DataError, match="without an id"):
        ex.funding_payments(since=t)
