"""Funding in the ledger: the exchange's payments paged and kept once, the rate-derived figure
on the position held into the bar, and a loud warning when the two disagree."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from live_helpers import BTC, ETH, HOUR, T0

from xsmom.data.panel import MarketPanel
from xsmom.errors import DataError
from xsmom.exchange.ccxt_funding import all_payments
from xsmom.exchange.reports import FundingPaymentReport
from xsmom.ledger import Ledger, open_ledger
from xsmom.live.funding import funding_cycle, record_funding, sync_funding


def panel(rate: float = 1e-4) -> MarketPanel:
    """Two hourly bars of BTC, a funding event in the second (mark open 50,000)."""
    one = np.ones((2, 1))
    return MarketPanel(
        symbols=(BTC,),
        timeframe="1h",
        timestamps=np.array([T0 - HOUR, T0], dtype=np.int64),
        open=49_000 * one,
        high=49_000 * one,
        low=49_000 * one,
        close=49_000 * one,
        volume=one,
        mark_open=50_000 * one,
        mark_close=50_000 * one,
        funding_rate=np.array([[0.0], [rate]]),
        funding_event=np.array([[False], [True]]),
    )


@pytest.fixture
def ledger(tmp_path: Path) -> Any:
    led = open_ledger(f"sqlite:///{tmp_path / 'l.sqlite'}")
    yield led
    led.close()


def _fill(led: Ledger, trade_id: str, side: str, qty: float, ts: int) -> None:
    with led.transaction() as tx:
        tx.record_fill(
            symbol=BTC,
            trade_id=trade_id,
            side=side,
            qty=qty,
            price=50_000.0,
            fee=0.0,
            fee_currency="USDT",
            ts=ts,
        )


def test_pages_start_at_the_last_time_seen_and_keep_each_id_once() -> None:
    # three symbols settle at each 8-hour mark: a page of 4 ends inside a millisecond
    rows = [{"id": f"{t}-{s}", "timestamp": t * 8 * HOUR} for t in range(3) for s in "abc"]
    asked: list[int | None] = []

    def page(since: int | None) -> list[dict[str, Any]]:
        asked.append(since)
        return [r for r in rows if since is None or r["timestamp"] >= since][:4]

    got = all_payments(page, None, 4)
    assert [r["id"] for r in got] == [r["id"] for r in rows]  # all nine, once, oldest first
    assert asked == [None, 8 * HOUR, 16 * HOUR]
    with pytest.raises(DataError, match="cannot be paged"):
        all_payments(page, None, 2)  # two of the three at one ms fill a page: stuck


def test_derived_funding_is_on_the_position_held_into_the_bar(ledger: Ledger) -> None:
    # long 0.3 before the bar; at its open (the funding time) the engine sold 0.1
    _fill(ledger, "1", "buy", 0.3, T0 - 2 * HOUR)
    _fill(ledger, "2", "sell", 0.1, T0)
    with ledger.transaction() as tx:
        assert record_funding(tx, panel(), T0 - HOUR, {BTC: 0.2}, T0 + HOUR) == 1
    (row,) = ledger.funding()
    # 0.3 x 50,000 x 1e-4 = 1.5 paid, not 0.2 x ... = 1.0 (the position after the trade)
    assert (row.qty, row.amount) == (pytest.approx(0.3), pytest.approx(-1.5))
    assert (row.mark_price, row.ts, row.rate) == (5e4, T0, 1e-4)
    assert row.venue_id is None


class Payments:
    """The one method `sync_funding` calls, answering what the exchange settled."""

    def __init__(self, *payments: FundingPaymentReport) -> None:
        self.payments = list(payments)
        self.asked: list[int | None] = []

    def funding_payments(self, since: int | None = None) -> list[FundingPaymentReport]:
        self.asked.append(since)
        return [p for p in self.payments if since is None or p.ts >= since]


def _pay(pid: str, amount: float, symbol: str = BTC, ts: int = T0) -> FundingPaymentReport:
    return FundingPaymentReport(
        payment_id=pid, symbol=symbol, amount=amount, currency="USDT", ts=ts
    )


def test_exchange_payments_are_kept_once_and_checked(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(ledger, "1", "buy", 0.3, T0 - 2 * HOUR)
    ex = Payments(_pay("7", -1.5), _pay("8", 0.4, ETH))
    with ledger.transaction() as tx:
        n = sync_funding(tx, ex, since_default=T0 - 5 * HOUR, bar_ms=HOUR, now_ms=T0)  # type: ignore[arg-type]
        assert n == 2
    with ledger.transaction() as tx:  # a restart: asks from the last payment on, adds nothing
        assert sync_funding(tx, ex, since_default=0, bar_ms=HOUR, now_ms=T0) == 0  # type: ignore[arg-type]
    assert ex.asked == [T0 - 5 * HOUR, T0]
    with caplog.at_level(logging.WARNING), ledger.transaction() as tx:
        record_funding(tx, panel(), T0 - HOUR, {BTC: 0.3}, T0 + HOUR)
    btc = ledger.funding(symbol=BTC)[0]
    assert (btc.amount, btc.venue_id) == (-1.5, "7")
    assert btc.expected == pytest.approx(-1.5)
    assert "FUNDING MISMATCH" not in caplog.text
    assert not ledger.guard_events(guard="funding")


def test_a_payment_the_rates_do_not_explain_is_a_loud_warning(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(ledger, "1", "buy", 0.3, T0 - 2 * HOUR)
    with caplog.at_level(logging.WARNING), ledger.transaction() as tx:
        # the derived figure first (-1.5), then the exchange's: twice that
        record_funding(tx, panel(), T0 - HOUR, {BTC: 0.3}, T0 + HOUR)
        sync_funding(
            tx, Payments(_pay("7", -3.0, ts=T0 + 2)), since_default=0, bar_ms=HOUR, now_ms=T0 + HOUR
        )  # type: ignore[arg-type]
    assert "FUNDING MISMATCH" in caplog.text
    (event,) = ledger.guard_events(guard="funding")
    assert event.event == "mismatch" and "-3.000000" in event.reason and "-1.500000" in event.reason
    (row,) = ledger.funding()
    assert (row.amount, row.ts) == (-3.0, T0 + 2)  # the exchange's figure
    assert row.expected == pytest.approx(-1.5)
    # within the tolerance (0.01 USDT or 2 %): no event
    with ledger.transaction() as tx:
        tx.record_funding(symbol=ETH, ts=T0, rate=1e-4, qty=1.0, mark_price=100.0, amount=-0.01)
        sync_funding(tx, Payments(_pay("9", -0.015, ETH)), since_default=0, bar_ms=HOUR, now_ms=T0)  # type: ignore[arg-type]
    assert len(ledger.guard_events(guard="funding")) == 1


def test_a_derived_payment_the_exchange_did_not_report_is_flagged(
    ledger: Ledger, caplog: pytest.LogCaptureFixture
) -> None:
    _fill(ledger, "1", "buy", 0.3, T0 - 2 * HOUR)
    with caplog.at_level(logging.WARNING), ledger.transaction() as tx:
        funding_cycle(
            tx, Payments(), panel(), T0 - HOUR, {BTC: 0.3}, since_default=T0, now_ms=T0 + HOUR
        )
    (event,) = ledger.guard_events(guard="funding")
    assert event.event == "missing" and "reported no payment" in event.reason
    (row,) = ledger.funding()
    assert row.venue_id is None and row.amount == pytest.approx(-1.5)  # kept, marked derived


def test_the_exchange_is_asked_only_for_bars_with_a_funding_event(ledger: Ledger) -> None:
    ex = Payments(_pay("7", -1.5, ts=T0 - 40))  # stamped 40 ms before the bar's open
    with ledger.transaction() as tx:  # no new bar with an event: not asked
        funding_cycle(tx, ex, panel(), T0, {BTC: 0.3}, since_default=0, now_ms=T0)
        assert ex.asked == []
    _fill(ledger, "1", "buy", 0.3, T0 - 2 * HOUR)
    with ledger.transaction() as tx:
        funding_cycle(tx, ex, panel(), T0 - HOUR, {BTC: 0.3}, since_default=0, now_ms=T0)
    assert ex.asked == [0]
    (row,) = ledger.funding()  # the early stamp belongs to the settlement at the bar's open
    assert (row.venue_id, row.ts) == ("7", T0 - 40) and row.expected == pytest.approx(-1.5)
    assert not ledger.guard_events(guard="funding")
