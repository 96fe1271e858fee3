"""The unmodified ccxt binanceusdm client trades against the venue over loopback."""

from __future__ import annotations

from collections.abc import Iterator

import ccxt
import numpy as np
import pytest

from xsmom.data.bundled import sample_store
from xsmom.data.validate import Kind
from xsmom.venue.testing import RunningVenue, start_venue

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
START = "2025-09-01"
HOUR = 3_600_000


@pytest.fixture
def rv() -> Iterator[RunningVenue]:
    with start_venue("sample", start=START) as running:
        yield running


@pytest.fixture
def ex(rv: RunningVenue) -> ccxt.binanceusdm:
    client = rv.ccxt_client()
    client.load_markets()
    return client


def test_load_markets_and_public_data(rv, ex):
    store = sample_store()
    assert set(ex.markets) == set(store.symbols(Kind.OHLCV, "1h"))
    m = ex.market(BTC)
    assert m["swap"] and m["linear"] and m["settle"] == "USDT" and m["contractSize"] == 1
    assert m["precision"]["price"] == rv.venue.data.specs[BTC].price_tick
    now = rv.now()

    rows = ex.fetch_ohlcv(BTC, "1h", limit=5)
    ref = store.read(Kind.OHLCV, BTC, "1h", end_ms=now + 1)
    *closed, forming = rows
    assert forming[0] <= now < forming[0] + HOUR  # the forming bar, as Binance serves it
    assert forming[1] == forming[2] == forming[3] == forming[4] and forming[5] == 0
    for row in closed:
        stored = ref.loc[ref["timestamp"] == row[0]].iloc[0]
        assert row[1:5] == pytest.approx(stored[["open", "high", "low", "close"]].tolist())
        assert row[0] + HOUR <= now

    mark = ex.fetch_ohlcv(BTC, "1h", limit=3, params={"price": "mark"})
    mref = store.read(Kind.MARK, BTC, "1h")
    got = mref.loc[mref["timestamp"] == mark[0][0]].iloc[0]
    assert mark[0][4] == pytest.approx(float(got["close"]))

    hist = ex.fetch_funding_rate_history(BTC, limit=5)
    fref = store.read(Kind.FUNDING, BTC)
    assert all(h["timestamp"] <= now for h in hist) and len(hist) == 5
    expect = fref.loc[fref["timestamp"] <= now].tail(5)["rate"].to_numpy()
    assert np.allclose([h["fundingRate"] for h in hist], expect)

    fr = ex.fetch_funding_rate(BTC)
    assert fr["markPrice"] > 0 and fr["fundingTimestamp"] > now
    t = ex.fetch_ticker(BTC)
    assert t["last"] == pytest.approx(forming[1])
    assert set(ex.fetch_tickers([BTC, ETH])) == {BTC, ETH}
    book = ex.fetch_order_book(BTC, 5)
    assert book["bids"][0][0] < t["last"] < book["asks"][0][0]
    assert abs(ex.fetch_time() - ex.milliseconds()) < 5_000


def test_order_lifecycle_positions_and_balance(rv, ex):
    assert ex.set_leverage(5, BTC)["leverage"] == 5
    assert ex.fetch_leverage(BTC)["longLeverage"] == 5
    last = ex.fetch_ticker(BTC)["last"]
    price = float(ex.price_to_precision(BTC, last * 0.95))
    limit = ex.create_order(BTC, "limit", "buy", 0.01, price, {"postOnly": True})
    assert limit["status"] == "open" and limit["postOnly"]
    assert ex.fetch_order(limit["id"], BTC)["status"] == "open"
    assert [o["id"] for o in ex.fetch_open_orders(BTC)] == [limit["id"]]
    assert ex.cancel_order(limit["id"], BTC)["status"] == "canceled"
    assert ex.fetch_open_orders(BTC) == []

    with pytest.raises(ccxt.InvalidOrder, match="-5022"):
        ex.create_order(
            BTC,
            "limit",
            "buy",
            0.01,
            float(ex.price_to_precision(BTC, last * 1.01)),
            {"postOnly": True},
        )

    bought = ex.create_order(BTC, "market", "buy", 0.02, None, {"clientOrderId": "mkt-1"})
    assert bought["status"] == "closed" and bought["filled"] == pytest.approx(0.02)
    assert ex.fetch_order(None, BTC, {"origClientOrderId": "mkt-1"})["id"] == bought["id"]
    trades = ex.fetch_my_trades(BTC)
    assert len(trades) == 1 and trades[0]["fee"]["currency"] == "USDT"
    assert trades[0]["fee"]["cost"] == pytest.approx(trades[0]["cost"] * 5e-4)
    (pos,) = [p for p in ex.fetch_positions([BTC]) if p["contracts"]]
    assert pos["side"] == "long" and pos["contracts"] == pytest.approx(0.02)
    assert pos["leverage"] == 5

    reduced = ex.create_order(BTC, "market", "sell", 0.01, None, {"reduceOnly": True})
    assert reduced["reduceOnly"] and reduced["filled"] == pytest.approx(0.01)
    with pytest.raises(ccxt.InvalidOrder, match="-2022"):
        ex.create_order(BTC, "market", "buy", 0.01, None, {"reduceOnly": True})

    balance = ex.fetch_balance()
    fees = sum(t["fee"]["cost"] for t in ex.fetch_my_trades(BTC))
    realized = sum(float(t["info"]["realizedPnl"]) for t in ex.fetch_my_trades(BTC))
    assert balance["USDT"]["total"] == pytest.approx(10_000 - fees + realized, abs=1.0)
    assert balance["USDT"]["used"] > 0


def test_stop_market_triggers_when_replayed_bars_reach_it(rv, ex):
    ex.create_order(BTC, "market", "buy", 0.01)
    now = rv.now()
    candles = rv.venue.data.trade[BTC]
    i = int(np.searchsorted(candles.ts, now))
    last = ex.fetch_ticker(BTC)["last"]
    low = float(candles.low[i : i + 48].min())
    assert low < last
    stop = float(ex.price_to_precision(BTC, (last + low) / 2))
    order = ex.create_order(
        BTC, "market", "sell", 0.01, None, {"stopPrice": stop, "reduceOnly": True}
    )
    assert order["status"] == "open" and order["triggerPrice"] == pytest.approx(stop)
    assert [o["id"] for o in ex.fetch_open_orders(BTC, params={"trigger": True})] == [order["id"]]
    rv.advance(48 * HOUR)
    done = ex.fetch_order(order["id"], BTC, {"trigger": True})
    assert done["status"] == "closed"
    sell = [t for t in ex.fetch_my_trades(BTC) if t["side"] == "sell"]
    assert len(sell) == 1 and sell[0]["price"] <= stop
    assert not [p for p in ex.fetch_positions([BTC]) if p["contracts"]]


def test_stop_order_can_be_canceled(rv, ex):
    ex.create_order(ETH, "market", "buy", 0.1)
    last = ex.fetch_ticker(ETH)["last"]
    stop = float(ex.price_to_precision(ETH, last * 0.5))
    order = ex.create_order(
        ETH, "market", "sell", 0.1, None, {"stopPrice": stop, "reduceOnly": True}
    )
    ex.cancel_order(order["id"], ETH, {"trigger": True})
    assert ex.fetch_order(order["id"], ETH, {"trigger": True})["status"] == "canceled"


def test_funding_is_settled_as_the_clock_passes_funding_times(rv, ex):
    ex.create_order(BTC, "market", "buy", 0.05)
    wallet0 = float(ex.fetch_balance()["info"]["totalWalletBalance"])
    rv.advance(24 * HOUR)
    payments = ex.fetch_funding_history(BTC)
    assert len(payments) == 3  # BTC funds every 8 hours
    series = rv.venue.data.funding[BTC]
    for p in payments:
        k = int(np.searchsorted(series.ts, p["timestamp"]))
        assert np.sign(p["amount"]) == -np.sign(series.rate[k])  # a long pays a positive rate
    wallet1 = float(ex.fetch_balance()["info"]["totalWalletBalance"])
    assert wallet1 - wallet0 == pytest.approx(sum(p["amount"] for p in payments))
