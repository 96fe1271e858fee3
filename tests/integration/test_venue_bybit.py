"""The order flow on Bybit: the real ccxt ``bybit`` client, through the engine's adapter
(`CcxtExchange`), against the simulated venue's Bybit v5 dialect on loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import ccxt
import pytest

from xsmom import errors as xe
from xsmom.config.live import ExecutionConfig, GuardsConfig
from xsmom.data.bundled import sample_store
from xsmom.data.validate import Kind
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.ccxt_client import bybit_venue_client
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderStatus, OrderType
from xsmom.exchange.retry import RetryPolicy
from xsmom.live import Executor, Gate, GateInputs, IdScheme, margin_ratio
from xsmom.sim import FeeModel
from xsmom.venue.auth import sign
from xsmom.venue.testing import RunningVenue, start_venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
START = "2025-09-01"
HOUR = 3_600_000
FEES = FeeModel(taker_fee_bps=5.5, maker_fee_bps=2.0, slippage_bps=0.0, impact_coef=0.0)


@pytest.fixture
def rv() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START, symbols=[BTC, ETH], fees=FEES) as running:
        yield running


def bybit(rv: RunningVenue) -> CcxtExchange:
    creds = ApiCredentials(rv.api_key, rv.api_secret)
    config = CcxtConfig(
        exchange_id="bybit",
        retry=RetryPolicy(max_attempts=2, base_delay=0.0),
        conditional_params=None,  # Bybit lists conditional orders with the plain ones
        rate_per_s=500.0,
        burst=50.0,
    )
    client = bybit_venue_client(rv.url, creds, timeout_ms=5000)
    return CcxtExchange(config, creds, client=client, bar_clock=rv.now)


def order(cid: str, side: OrderSide, qty: float, price: float | None = None, **kw: Any) -> Any:
    kind = OrderType.LIMIT if price is not None else OrderType.MARKET
    return OrderRequest(symbol=BTC, side=side, type=kind, qty=qty, price=price, client_id=cid, **kw)


def test_markets_and_market_data_come_from_the_store(rv: RunningVenue) -> None:
    ex = bybit(rv)
    markets = ex.markets()
    assert set(markets) == {BTC, ETH}
    spec = rv.venue.data.specs[BTC]
    m = markets[BTC]
    assert (m.price_tick, m.qty_step, m.min_qty) == (spec.price_tick, spec.qty_step, spec.min_qty)
    assert m.max_leverage == spec.max_leverage
    # venue time over Bybit's /v5/market/time
    assert abs(ex.server_ms() - int(time.time() * 1000)) < 5_000
    # the ticker's touch: half a spread of one tick around the venue's last price
    last = rv.venue.engine.last_price(BTC)
    t = ex.ticker(BTC)
    assert t.bid == pytest.approx(last - spec.price_tick) and t.ask == pytest.approx(
        last + spec.price_tick
    )
    # closed hourly bars equal the stored ones
    now = rv.now()
    bars = ex.client.fetch_ohlcv(BTC, "1h", limit=3)
    ref = sample_store().read(Kind.OHLCV, BTC, "1h", end_ms=now)
    for row in bars:
        stored = ref.loc[ref["timestamp"] == row[0]].iloc[0]
        assert row[1:5] == pytest.approx(stored[["open", "high", "low", "close"]].tolist())
        assert row[0] + HOUR <= now


def test_post_only_order_is_found_by_order_link_id_and_canceled(rv: RunningVenue) -> None:
    ex = bybit(rv)
    last = rv.venue.engine.last_price(BTC)
    assert last is not None
    price = round(last * 0.9, 1)
    placed = ex.place_order(order("bb-po-1", OrderSide.BUY, 0.01, price, post_only=True))
    assert placed.status is OrderStatus.NEW and placed.client_id == "bb-po-1"
    assert placed.side is OrderSide.BUY and placed.qty == pytest.approx(0.01)
    assert placed.price == pytest.approx(price) and placed.post_only
    venue_order = rv.venue.engine.order(client_id="bb-po-1")
    assert venue_order.time_in_force == "GTX" and placed.venue_order_id == str(venue_order.order_id)

    found = ex.order_by_client_id(BTC, "bb-po-1")
    assert found is not None and found.venue_order_id == placed.venue_order_id
    assert [o.client_id for o in ex.open_orders(BTC)] == ["bb-po-1"]
    assert ex.order_by_client_id(BTC, "bb-never-sent") is None

    canceled = ex.cancel_order(BTC, client_id="bb-po-1")
    assert canceled.venue_order_id == placed.venue_order_id
    assert rv.venue.engine.order(client_id="bb-po-1").status.value == "canceled"
    assert ex.open_orders(BTC) == []
    after = ex.order_by_client_id(BTC, "bb-po-1")  # the closed list keeps it
    assert after is not None and after.status is OrderStatus.CANCELED
    with pytest.raises(xe.OrderNotFoundError):
        ex.cancel_order(BTC, client_id="bb-po-1")


def test_market_order_fills_and_position_balance_fills_agree(rv: RunningVenue) -> None:
    ex = bybit(rv)
    wallet0 = ex.balance().wallet
    placed = ex.place_order(order("bb-mkt-1", OrderSide.BUY, 0.02))
    assert placed.status is OrderStatus.FILLED and placed.filled == pytest.approx(0.02)

    fills = ex.fills(BTC)
    assert len(fills) == 1  # ccxt's trades carry no client id: join on the venue order id
    fill = fills[0]
    assert fill.venue_order_id == placed.venue_order_id and not fill.is_maker
    # the fee, recomputed: taker 5.5 bps of the notional
    assert fill.fee == pytest.approx(fill.qty * fill.price * 5.5e-4, rel=1e-6)
    assert fill.fee_currency == "USDT"

    # a second, reducing fill; the position is the signed sum of the fills
    ex.place_order(order("bb-mkt-2", OrderSide.SELL, 0.005, reduce_only=True))
    fills = ex.fills(BTC)
    ids = [rv.venue.engine.order(client_id=c).order_id for c in ("bb-mkt-1", "bb-mkt-2")]
    assert [f.venue_order_id for f in fills] == [str(i) for i in ids]
    signed = sum(f.qty if f.side is OrderSide.BUY else -f.qty for f in fills)
    (pos,) = ex.positions()
    assert pos.symbol == BTC and pos.qty == pytest.approx(signed) == pytest.approx(0.015)
    assert pos.entry_price == pytest.approx(fills[0].price)  # a reduce keeps the entry

    rv.advance(HOUR)  # the mark moves: the unrealized PnL is not zero
    # wallet: the start minus both fees plus the realized PnL of the reduced 0.005
    realized = 0.005 * (fills[1].price - fills[0].price)
    fees = sum(f.fee for f in fills)
    bal = ex.balance()
    assert bal.wallet == pytest.approx(wallet0 - fees + realized, abs=1e-6)
    mark = rv.venue.engine.mark_price(BTC)
    assert mark is not None
    assert abs(mark - fills[0].price) > 1.0
    assert bal.unrealized == pytest.approx(0.015 * (mark - fills[0].price), abs=1e-6)
    assert bal.equity == pytest.approx(bal.wallet + bal.unrealized, abs=1e-6)
    margin = 0.015 * mark / rv.venue.engine.position(BTC).leverage
    assert bal.free == pytest.approx(bal.equity - margin, abs=1e-6)


def test_order_link_id_is_unique_per_account_even_after_the_order_closed(
    rv: RunningVenue,
) -> None:
    ex = bybit(rv)
    ex.place_order(order("bb-dup-1", OrderSide.BUY, 0.01))  # filled: no longer open
    with pytest.raises(xe.InvalidOrderError, match="110072"):
        ex.place_order(order("bb-dup-1", OrderSide.BUY, 0.01))
    assert len(rv.venue.engine.fills(BTC)) == 1  # the duplicate never reached the book


def test_bybit_error_codes(rv: RunningVenue) -> None:
    ex = bybit(rv)
    last = rv.venue.engine.last_price(BTC)
    assert last is not None
    with pytest.raises(xe.InvalidOrderError, match="110017"):  # reduce-only without a position
        ex.place_order(order("bb-ro-1", OrderSide.SELL, 0.01, reduce_only=True))
    with pytest.raises(xe.InsufficientFundsError, match="110007"):
        ex.place_order(order("bb-big-1", OrderSide.BUY, 50.0))
    ex.set_leverage(BTC, 5)
    assert rv.venue.engine.position(BTC).leverage == 5
    with pytest.raises(xe.RejectedError, match="110043"):  # Bybit: leverage not modified
        ex.set_leverage(BTC, 5)


def _signed_get(rv: RunningVenue, query: str, *, secret: str, stamp: int) -> dict[str, Any]:
    payload = f"{stamp}{rv.api_key}5000{query}"
    req = urllib.request.Request(f"{rv.url}/v5/position/list?{query}")
    req.add_header("X-BAPI-API-KEY", rv.api_key)
    req.add_header("X-BAPI-TIMESTAMP", str(stamp))
    req.add_header("X-BAPI-RECV-WINDOW", "5000")
    req.add_header("X-BAPI-SIGN", sign(payload, secret))
    with urllib.request.urlopen(req, timeout=5) as resp:  # loopback URL
        return json.loads(resp.read())  # type: ignore[no-any-return]


def test_signature_and_timestamp_are_checked(rv: RunningVenue) -> None:
    query = "category=linear&settleCoin=USDT"
    now = int(time.time() * 1000)
    ok = _signed_get(rv, query, secret=rv.api_secret, stamp=now)
    assert ok["retCode"] == 0 and ok["result"]["list"] == []
    assert _signed_get(rv, query, secret="wrong", stamp=now)["retCode"] == 10004
    assert _signed_get(rv, query, secret=rv.api_secret, stamp=now - 6_000)["retCode"] == 10002
    assert _signed_get(rv, query, secret=rv.api_secret, stamp=now + 2_000)["retCode"] == 10002


# ---- the executor on Bybit ---------------------------------------------------------------------
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, multiplier=2.0, max_delay=0.05)
IDS = IdScheme("cfg-bybit")
START_MS = 1_748_736_000_000  # 2025-06-01 00:00 UTC


@pytest.fixture
def slow_fills() -> Iterator[RunningVenue]:
    fees = FeeModel(max_participation=4e-6)  # a tiny share of each bar: fills in pieces
    with start_venue(
        "sample", start=START_MS, symbols=[BTC, ETH], fees=fees, weight_limit=100_000
    ) as running:
        yield running


def run_executor(rv: RunningVenue, targets: dict[str, float], bars: int) -> list[Any]:
    creds = ApiCredentials(rv.api_key, rv.api_secret)
    config = CcxtConfig(
        exchange_id="bybit",
        retry=FAST,
        conditional_params=None,
        rate_per_s=500.0,
        burst=50.0,
        recv_window_ms=1_000,  # an unknown send is looked up after 1 s + the margin
        clock_margin_ms=200,
    )
    client = bybit_venue_client(rv.url, creds, timeout_ms=400, recv_window_ms=1_000)
    ex = CcxtExchange(config, creds, client=client, bar_clock=rv.now)
    gate = Gate(GuardsConfig())
    executor = Executor(
        ex, gate, ExecutionConfig(quote_source="last", taker_after_s=6 * 3600), ids=IDS, bar_ms=HOUR
    )
    reports = []
    for _ in range(bars):
        now = rv.now()
        bal = ex.balance()
        gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions={p.symbol: p.qty for p in ex.positions()},
                last_bar_ts=now - HOUR,
                bar_ms=HOUR,
            )
        )
        reports.append(executor.cycle(bar_ts=now - HOUR, now_ms=now, targets=targets))
        rv.advance(HOUR)
    ex.close()
    return reports


def test_executor_moves_positions_to_targets_on_bybit(slow_fills: RunningVenue) -> None:
    rv = slow_fills
    run_executor(rv, {BTC: 0.05, ETH: -2.0}, bars=12)
    pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    assert pos[BTC] == pytest.approx(0.05, abs=1e-5) and pos[ETH] == pytest.approx(-2.0, abs=1e-3)
    fills = rv.venue.engine.fills(BTC)
    assert len(fills) >= 3 and all(f.is_maker for f in fills)  # post-only pieces
    assert sum(f.qty for f in fills) == pytest.approx(0.05, abs=1e-9)
    assert all(IDS.parse(o.client_id) is not None for o in rv.venue.engine.orders())


def test_faults_on_bybit_order_endpoints_never_double_an_intent(slow_fills: RunningVenue) -> None:
    rv = slow_fills
    rv.set_faults(
        {
            "seed": 3,
            "endpoints": {
                "POST /v5/order/create": {
                    "error_rate": 0.4,
                    "errors": ["drop", "timeout", "late", "503"],
                    "timeout_s": 0.6,
                },
                "POST /v5/order/cancel": {"error_rate": 0.3, "errors": ["503", "late"]},
            },
        }
    )
    reports = run_executor(rv, {BTC: 0.05, ETH: -2.0}, bars=14)
    counts = rv.server.faults.counts
    assert sum(counts.get(k, 0) for k in ("drop", "timeout", "late")) >= 3  # unknown outcomes
    rv.set_faults({})
    pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    assert pos[BTC] == pytest.approx(0.05, abs=1e-5) and pos[ETH] == pytest.approx(-2.0, abs=1e-3)
    assert sum(f.qty for f in rv.venue.engine.fills(BTC)) == pytest.approx(0.05, abs=1e-9)
    assert sum(f.qty for f in rv.venue.engine.fills(ETH)) == pytest.approx(2.0, abs=1e-9)
    ids = [o.client_id for o in rv.venue.engine.orders()]
    assert len(ids) == len(set(ids))
    sent = Counter(o.client_id for r in reports for o in r.placed)
    assert set(sent) == set(ids) and max(sent.values()) == 1


def test_exchange_check_cli_on_the_bybit_dialect(rv: RunningVenue) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("XSMOM_")}
    env = {**clean, "XSMOM_BYBIT_API_KEY": rv.api_key, "XSMOM_BYBIT_API_SECRET": rv.api_secret}
    args = ["exchange", "check", "--exchange", "bybit", "--venue-url", rv.url]
    out = subprocess.run(
        [sys.executable, "-m", "xsmom.cli.main", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert out.returncode == 0, out.stderr
    assert "markets    2 linear USDT swaps" in out.stdout
    assert "balance    equity 10000.00" in out.stdout
    assert rv.api_secret not in out.stdout + out.stderr


def test_maintenance_is_a_retryable_5xx_and_429_is_bybit_10006(rv: RunningVenue) -> None:
    ex = bybit(rv)
    ex.markets()
    rv.set_faults({"maintenance_now": True})
    with pytest.raises(xe.ExchangeUnavailableError):
        ex.balance()
    rv.set_faults(
        {"endpoints": {"GET /v5/account/wallet-balance": {"error_rate": 1.0, "errors": ["429"]}}}
    )
    with pytest.raises(xe.RateLimitError):
        ex.balance()
    rv.set_faults({})
    assert ex.balance().wallet == pytest.approx(10_000.0)


def test_funding_history_is_refused_not_answered_with_trades(rv: RunningVenue) -> None:
    ex = bybit(rv)
    ex.place_order(order("bb-fund-1", OrderSide.BUY, 0.01))  # a trade that must not pass as funding
    with pytest.raises(xe.RejectedError, match="not simulated"):
        ex.funding_payments()


RECORDED = Path(
    "/work/shared/data/exchange_responses/nautilus_trader/crates/adapters/bybit/test_data"
)


def _recorded(name: str) -> dict[str, Any]:
    path = RECORDED / name
    if not path.exists():
        pytest.fail(f"shared data missing: {path} (see /work/shared/data/README.md)")
    return json.loads(path.read_text())  # type: ignore[no-any-return]


def _same_shape(ours: dict[str, Any], theirs: dict[str, Any], what: str) -> None:
    missing = set(theirs) - set(ours)
    assert not missing, f"{what}: keys of the recorded payload not served: {sorted(missing)}"
    for k, v in theirs.items():
        if isinstance(v, str) and ours[k] is not None:
            assert isinstance(ours[k], str), f"{what}.{k}: {ours[k]!r} is not a string"


def test_answers_have_the_keys_of_recorded_bybit_payloads(rv: RunningVenue) -> None:
    ex = bybit(rv)
    last = rv.venue.engine.last_price(BTC)
    assert last is not None
    ex.place_order(order("bb-shape-1", OrderSide.BUY, 0.01))
    ex.place_order(order("bb-shape-2", OrderSide.BUY, 0.01, round(last * 0.9, 1)))
    c, sym = ex.client, {"category": "linear", "symbol": "BTCUSDT"}
    cases = [
        ("http_get_orders_realtime.json", c.privateGetV5OrderRealtime(sym)),
        ("http_get_orders_history.json", c.privateGetV5OrderHistory(sym)),
        ("http_get_positions.json", c.privateGetV5PositionList(sym)),
        ("http_get_executions.json", c.privateGetV5ExecutionList(sym)),
        (
            "http_get_wallet_balance.json",
            c.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"}),
        ),
        ("http_get_instruments_linear.json", c.publicGetV5MarketInstrumentsInfo(sym)),
    ]
    for name, answer in cases:
        recorded = _recorded(name)
        assert set(answer) >= {"retCode", "retMsg", "result", "retExtInfo", "time"}
        assert answer["retCode"] == 0 and answer["result"]["list"], name
        _same_shape(answer["result"]["list"][0], recorded["result"]["list"][0], name)
    coin = c.privateGetV5AccountWalletBalance({"accountType": "UNIFIED"})["result"]["list"][0]
    recorded_usdt = [
        x
        for x in _recorded("http_get_wallet_balance.json")["result"]["list"][0]["coin"]
        if x["coin"] == "USDT"
    ]
    _same_shape(coin["coin"][0], recorded_usdt[0], "wallet coin")


def test_stop_market_is_listed_once_and_canceled_with_default_config(rv: RunningVenue) -> None:
    creds = ApiCredentials(rv.api_key, rv.api_secret)
    config = CcxtConfig(exchange_id="bybit", rate_per_s=500.0, burst=50.0)  # trigger params on
    ex = CcxtExchange(config, creds, client=bybit_venue_client(rv.url, creds), bar_clock=rv.now)
    ex.place_order(order("bb-long-1", OrderSide.BUY, 0.02))
    last = rv.venue.engine.last_price(BTC)
    assert last is not None
    stop = OrderRequest(
        symbol=BTC,
        side=OrderSide.SELL,
        type=OrderType.STOP_MARKET,
        qty=0.02,
        stop_price=round(last * 0.8, 1),
        reduce_only=True,
        client_id="bb-stop-1",
    )
    placed = ex.place_order(stop)
    assert placed.type is OrderType.STOP_MARKET and placed.stop_price == pytest.approx(
        round(last * 0.8, 1)
    )
    venue_stop = rv.venue.engine.order(client_id="bb-stop-1")
    assert venue_stop.type == "stop_market" and venue_stop.reduce_only
    assert [o.client_id for o in ex.open_orders(BTC)] == ["bb-stop-1"]
    ex.cancel_order(BTC, client_id="bb-stop-1")
    assert ex.open_orders(BTC) == []


def test_live_runner_parts_on_the_bybit_dialect(
    rv: RunningVenue, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from xsmom.config import load_config
    from xsmom.live.home import Home
    from xsmom.live.runner import LiveOptions, build_parts

    cfg = load_config(None)
    engine = cfg.live.engine.model_copy(update={"exchange": "bybit"})
    cfg = cfg.model_copy(update={"live": cfg.live.model_copy(update={"engine": engine})})
    monkeypatch.setenv("XSMOM_BYBIT_API_KEY", rv.api_key)
    monkeypatch.setenv("XSMOM_BYBIT_API_SECRET", rv.api_secret)
    parts = build_parts(cfg, LiveOptions(home=tmp_path, venue=rv.url), Home(tmp_path))
    try:
        assert type(parts.client).__name__ == "bybit" and "bybit" in parts.name
        assert parts.clock() == rv.now()  # the venue's market clock
        placed = parts.exchange.place_order(order("bb-live-1", OrderSide.BUY, 0.01))
        assert placed.status is OrderStatus.FILLED
        (pos,) = parts.exchange.positions()
        assert pos.symbol == BTC and pos.qty == pytest.approx(0.01)
    finally:
        parts.close()


def test_lists_are_paged_by_cursor_and_a_bad_cursor_is_10001(rv: RunningVenue) -> None:
    ex = bybit(rv)
    for i in range(3):
        ex.place_order(order(f"bb-page-{i}", OrderSide.BUY, 0.01))
    c = ex.client
    seen, cursor = [], ""
    while True:
        query = {"category": "linear", "symbol": "BTCUSDT", "limit": 2, "cursor": cursor}
        result = c.privateGetV5ExecutionList(query)["result"]
        seen += [r["orderLinkId"] for r in result["list"]]
        cursor = result["nextPageCursor"]
        if not cursor:
            break
    assert seen == ["bb-page-2", "bb-page-1", "bb-page-0"]  # newest first, each once
    with pytest.raises(ccxt.BadRequest, match="10001"):
        c.privateGetV5ExecutionList({"category": "linear", "cursor": "x%3A1"})
