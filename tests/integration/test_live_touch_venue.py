"""The default execution config (``quote_source: book``) over the real ccxt ``binanceusdm``
client against the simulated venue on loopback: the touch comes from the venue's
``/fapi/v1/ticker/bookTicker``; post-only limits join it, are re-priced when it moves and
become takers after the TTL; an empty or partial book answer is an error, never the last
price. Every expected price is recomputed here from the venue's own last price."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import ccxt
import pytest

from xsmom import errors as xe
from xsmom.config.live import ExecutionConfig, GuardsConfig
from xsmom.data.bundled import resolve_store
from xsmom.exchange.breaker import CircuitBreaker
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.guarded import GuardedExchange
from xsmom.exchange.interface import Exchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.reports import OrderRequest, OrderSide, OrderType
from xsmom.exchange.retry import RetryPolicy
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.live import CycleReport, Executor, Gate, GateInputs, IdScheme, margin_ratio
from xsmom.sim import FeeModel
from xsmom.venue.testing import RunningVenue, ccxt_config, start_venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
START_MS = 1_748_736_000_000  # 2025-06-01 00:00 UTC
MINUTE, HOUR = 60_000, 3_600_000
HALF = 3  # the venue's half spread in ticks: bid = last - 3 ticks, ask = last + 3 ticks
IDS = IdScheme("cfg-touch")
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, multiplier=2.0, max_delay=0.05)


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    fees = FeeModel(max_participation=4e-6)  # resting orders fill in small pieces
    with start_venue(
        "sample",
        start=START_MS,
        speed=0.0,
        symbols=[BTC, ETH],
        fees=fees,
        weight_limit=100_000,
        half_spread_ticks=HALF,
    ) as rv:
        yield rv


def adapter(rv: RunningVenue, url: str | None = None) -> CcxtExchange:
    client = ccxt.binanceusdm(ccxt_config(url or rv.url, rv.api_key, rv.api_secret))
    return CcxtExchange(
        CcxtConfig(retry=FAST, rate_per_s=500.0, burst=50.0),
        ApiCredentials(rv.api_key, rv.api_secret),
        client=client,
        bar_clock=rv.now,
    )


class Bot:
    """One executor over the adapter, with the gate fed as the engine feeds it."""

    def __init__(self, ex: Exchange, cfg: ExecutionConfig, bar_ms: int = HOUR) -> None:
        self.ex, self.gate, self.bar_ms = ex, Gate(GuardsConfig()), bar_ms
        self.executor = Executor(ex, self.gate, cfg, ids=IDS, bar_ms=bar_ms)

    def cycle(self, rv: RunningVenue, bar_ts: int, targets: dict[str, float]) -> CycleReport:
        now = rv.now()
        bal = self.ex.balance()
        self.gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions={p.symbol: p.qty for p in self.ex.positions()},
                last_bar_ts=bar_ts,
                bar_ms=self.bar_ms,
            )
        )
        return self.executor.cycle(bar_ts=bar_ts, now_ms=now, targets=targets)


def touch(rv: RunningVenue, symbol: str) -> tuple[float, float, float]:
    """Return (bid, ask, tick) recomputed from the venue's last price and its half spread."""
    tick = rv.venue.data.specs[symbol].price_tick
    last = rv.venue.engine.last_price(symbol)
    assert last is not None
    return round(last - HALF * tick, 8), round(last + HALF * tick, 8), tick


def test_book_ticker_is_the_touch_the_adapter_reads(venue: RunningVenue) -> None:
    ex = adapter(venue)
    ex.markets()
    before = ex.requests
    tickers = ex.tickers([BTC, ETH])
    assert ex.requests - before == 2  # 24hr tickers + one bookTicker for both symbols
    for s in (BTC, ETH):
        bid, ask, _ = touch(venue, s)
        t = tickers[s]
        assert (t.bid, t.ask) == pytest.approx((bid, ask), abs=1e-9)
        assert t.bid < t.last < t.ask and t.ts == venue.now()
    status, _, raw = venue.request("GET", "/fapi/v1/depth", {"symbol": "BTCUSDT", "limit": 5})
    assert status == 200
    bid, ask, _ = touch(venue, BTC)  # the depth's best levels are the bookTicker's touch
    assert float(raw["bids"][0][0]) == pytest.approx(bid) and float(raw["asks"][0][0]) == ask
    ex.close()


def test_post_only_that_would_take_is_refused_with_5022(venue: RunningVenue) -> None:
    ex = adapter(venue)
    bid, ask, _ = touch(venue, BTC)
    req = OrderRequest.limit(BTC, OrderSide.BUY, 0.01, ask, "xs-gtx-cross", post_only=True)
    with pytest.raises(xe.OrderRejectedError, match="-5022"):
        ex.place_order(req)
    assert venue.venue.engine.orders(BTC) == []  # not recorded, as on Binance
    ok = ex.place_order(
        OrderRequest.limit(BTC, OrderSide.BUY, 0.01, bid, "xs-gtx-rest", post_only=True)
    )
    assert ok.post_only and ok.price == pytest.approx(bid)
    (order,) = venue.venue.engine.open_orders(BTC)
    assert order.time_in_force == "GTX" and order.filled_qty == 0.0
    ex.close()


def test_default_config_joins_the_touch_then_becomes_taker_after_the_ttl(
    venue: RunningVenue,
) -> None:
    cfg = ExecutionConfig()  # quote_source book, join (0 ticks), TTL 600 s, market taker
    assert cfg.quote_source == "book" and cfg.taker_after_s == 600
    bot, bar_ts = Bot(adapter(venue), cfg), START_MS - HOUR
    bid, _, _ = touch(venue, BTC)
    _, eth_ask, _ = touch(venue, ETH)
    first = bot.cycle(venue, bar_ts, {BTC: 0.05, ETH: -2.0})  # the first order of each symbol
    by_symbol = {o.symbol: o for o in first.placed}
    assert set(by_symbol) == {BTC, ETH}
    assert by_symbol[BTC].post_only and by_symbol[BTC].price == pytest.approx(bid)
    assert by_symbol[BTC].side is OrderSide.BUY and by_symbol[BTC].qty == pytest.approx(0.05)
    assert by_symbol[ETH].post_only and by_symbol[ETH].price == pytest.approx(eth_ask)
    assert {o.time_in_force for o in venue.venue.engine.open_orders()} == {"GTX"}

    venue.advance(5 * MINUTE)  # same bar, same touch, younger than the TTL: left alone
    kept = bot.cycle(venue, bar_ts, {BTC: 0.05, ETH: -2.0})
    assert kept.placed == () and kept.cancelled == ()

    venue.advance(6 * MINUTE)  # 11 minutes > 600 s: cancel and send market orders
    late = bot.cycle(venue, bar_ts, {BTC: 0.05, ETH: -2.0})
    assert {o.symbol for o in late.cancelled} == {BTC, ETH}
    assert {(o.symbol, o.type) for o in late.placed} == {
        (BTC, OrderType.MARKET),
        (ETH, OrderType.MARKET),
    }
    assert all(not o.post_only for o in late.placed)
    fills = venue.venue.engine.fills()
    assert fills and all(not f.is_maker for f in fills)
    pos = {p.symbol: p.qty for p in venue.venue.engine.positions()}
    assert pos[BTC] == pytest.approx(0.05) and pos[ETH] == pytest.approx(-2.0)
    # each symbol: attempt 0 (maker), attempt 1 (taker); one intent, never doubled
    ids = [o.client_id for o in venue.venue.engine.orders(BTC)]
    assert ids == [IDS.trade_id(bar_ts, BTC, 0), IDS.trade_id(bar_ts, BTC, 1)]
    bot.ex.close()


def test_resting_limits_follow_the_touch_when_it_moves(venue: RunningVenue) -> None:
    # a 4h strategy cycled every venue hour: within its bar the venue's touch moves hourly
    cfg = ExecutionConfig(taker_after_s=86_400)
    bot, bar_ts = Bot(adapter(venue), cfg, bar_ms=4 * HOUR), START_MS - 4 * HOUR
    price: float | None = None
    replaced = kept = 0
    for _ in range(4):
        bid, _, tick = touch(venue, BTC)
        report = bot.cycle(venue, bar_ts, {BTC: 0.05})
        open_orders = [o for o in venue.venue.engine.open_orders(BTC) if o.remaining > 0]
        assert len(open_orders) == 1  # never two working orders for one target
        if price is None:
            assert [o.price for o in report.placed] == [pytest.approx(bid)]
        elif abs(price - bid) > cfg.reprice_ticks * tick + 1e-9:
            assert [o.price for o in report.placed] == [pytest.approx(bid)]
            assert [o.venue_order_id for o in report.cancelled] != []
            replaced += 1
        else:
            assert report.placed == ()
            kept += 1
        price = open_orders[0].price
        assert open_orders[0].post_only and price == pytest.approx(bid)
        venue.advance(HOUR)
    assert replaced >= 1  # the sample's BTC moves by more than 2 ticks in an hour
    maker = venue.venue.engine.fills(BTC)
    assert all(f.is_maker for f in maker)
    bot.ex.close()


# ---- an empty or partial bookTicker answer ----------------------------------------------------
class BookCutter:
    """A loopback proxy in front of the venue that can cut rows out of bookTicker answers."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.cut: Callable[[list[Any]], list[Any]] = lambda rows: rows
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *_args: Any) -> None:
                return

            def _forward(self) -> None:
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else None
                req = urllib.request.Request(
                    proxy.target + self.path, data=body, method=self.command
                )
                for key in ("X-MBX-APIKEY", "Content-Type"):
                    if self.headers.get(key):
                        req.add_header(key, self.headers[key])
                try:
                    with urllib.request.urlopen(req, timeout=10) as resp:  # loopback URL
                        status, raw = resp.status, resp.read()
                except urllib.error.HTTPError as err:
                    status, raw = err.code, err.read()
                if self.path.startswith("/fapi/v1/ticker/bookTicker") and status == 200:
                    rows = json.loads(raw)
                    if isinstance(rows, list):
                        raw = json.dumps(proxy.cut(rows)).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            do_GET = do_POST = do_DELETE = do_PUT = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def cutter(venue: RunningVenue) -> Iterator[BookCutter]:
    c = BookCutter(venue.url)
    yield c
    c.close()


@pytest.mark.parametrize("answer", ["partial", "empty"])
def test_an_empty_or_partial_book_answer_is_an_error_not_the_last_price(
    venue: RunningVenue, cutter: BookCutter, answer: str
) -> None:
    if answer == "partial":
        cutter.cut = lambda rows: [r for r in rows if r["symbol"] != "ETHUSDT"]
    else:
        cutter.cut = lambda rows: []
    ex = adapter(venue, cutter.url)
    tickers = ex.tickers([BTC, ETH])
    assert tickers[ETH].bid is None and tickers[ETH].ask is None and tickers[ETH].last > 0
    bot = Bot(ex, ExecutionConfig())
    first_bare = ETH if answer == "partial" else BTC  # planned in symbol order
    with pytest.raises(xe.DataError, match=f"{first_bare}: the venue gives no bid/ask"):
        bot.cycle(venue, START_MS - HOUR, {BTC: 0.05, ETH: -2.0})
    assert venue.venue.engine.orders() == []  # nothing was sent, not even for BTC
    # the same answer with quote_source: last trades on the last price, as configured
    last_bot = Bot(ex, ExecutionConfig(quote_source="last"))
    report = last_bot.cycle(venue, START_MS - HOUR, {ETH: -2.0})
    (order,) = report.placed
    tick = venue.venue.data.specs[ETH].price_tick
    assert order.price == pytest.approx(tickers[ETH].last + tick)  # join one tick off the last
    ex.close()


# ---- paper accounts: the touch of their market data ------------------------------------------
def test_paper_on_the_venues_data_joins_the_same_touch(venue: RunningVenue, tmp_path: Path) -> None:
    source = adapter(venue)
    paper = PaperExchange(source, tmp_path / "paper.json", venue.now, config=PaperConfig())
    guarded = GuardedExchange(paper, CircuitBreaker(clock=venue.now), clock=venue.now)
    bot = Bot(guarded, ExecutionConfig())  # default config: quote_source book
    bid, _, _ = touch(venue, BTC)
    report = bot.cycle(venue, START_MS - HOUR, {BTC: 0.05})
    (order,) = report.placed
    assert order.post_only and order.price == pytest.approx(bid)
    (resting,) = paper.engine.open_orders(BTC)
    assert resting.time_in_force == "GTX" and resting.price == pytest.approx(bid)
    assert venue.venue.engine.orders() == []  # paper: nothing reached the venue's account
    source.close()


def test_paper_on_a_store_has_no_book_and_says_so(tmp_path: Path) -> None:
    clock = ManualClock(START_MS)
    source = StoreMarketData(resolve_store("sample"), clock, symbols=[BTC])
    paper = PaperExchange(source, tmp_path / "paper.json", clock, config=PaperConfig())
    gate = Gate(GuardsConfig())
    executor = Executor(paper, gate, ExecutionConfig(), ids=IDS, bar_ms=HOUR)
    with pytest.raises(xe.DataError, match=r"no bid/ask .*paper on a store.*quote_source: last"):
        executor.cycle(bar_ts=START_MS - HOUR, now_ms=START_MS, targets={BTC: 0.05})
    assert paper.engine.orders() == []
    last = Executor(paper, gate, ExecutionConfig(quote_source="last"), ids=IDS, bar_ms=HOUR)
    gate.update(
        GateInputs(
            now_ms=START_MS,
            equity=10_000.0,
            margin_ratio=0.0,
            positions={},
            last_bar_ts=START_MS - HOUR,
            bar_ms=HOUR,
        )
    )
    (order,) = last.cycle(bar_ts=START_MS - HOUR, now_ms=START_MS, targets={BTC: 0.05}).placed
    tick = source.markets()[BTC].price_tick
    assert order.post_only and order.price == pytest.approx(source.ticker(BTC).last - tick)
