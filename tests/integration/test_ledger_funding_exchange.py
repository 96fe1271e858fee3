"""The ledger keeps each funding payment the exchange reported once (by its id), merged with
the rate-derived figure of the same symbol and bar, in either order (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ledger_backends import ledger_url, pg_module_db, pg_server  # noqa: F401  (fixtures)

from xsmom.ledger import Ledger, open_ledger

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
T0 = 1_767_225_600_000  # 2026-01-01T00:00Z, a funding time
HOUR = 3_600_000


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[Ledger]:  # noqa: F811
    led = open_ledger(ledger_url)
    yield led
    led.close()


def test_exchange_payment_first_then_the_derived_figure(ledger: Ledger) -> None:
    with ledger.transaction() as tx:
        row = tx.record_exchange_funding(
            symbol=BTC, venue_id="77", ts=T0 + 3, amount=-1.01, bar_ms=HOUR
        )
        assert row is not None and row.expected is None and row.rate is None
        # the same id again (a restart re-reads from the last payment on): nothing new
        assert (
            tx.record_exchange_funding(
                symbol=BTC, venue_id="77", ts=T0 + 3, amount=-1.01, bar_ms=HOUR
            )
            is None
        )
        # the other symbol's payment at the same millisecond is its own
        assert (
            tx.record_exchange_funding(
                symbol=ETH, venue_id="78", ts=T0 + 3, amount=0.5, bar_ms=HOUR
            )
            is not None
        )
    with ledger.transaction() as tx:
        merged = tx.expect_funding(
            symbol=BTC, bar_ts=T0, bar_ms=HOUR, rate=1e-4, qty=0.2, mark_price=5e4, expected=-1.0
        )
        assert merged is not None and merged.amount == -1.01 and merged.expected == -1.0
        # a bar without an exchange payment: nothing to merge with
        assert (
            tx.expect_funding(
                symbol=BTC,
                bar_ts=T0 + HOUR,
                bar_ms=HOUR,
                rate=1e-4,
                qty=0.2,
                mark_price=5e4,
                expected=-1.0,
            )
            is None
        )
    (btc,) = ledger.funding(symbol=BTC)
    assert (btc.ts, btc.venue_id, btc.qty, btc.mark_price) == (T0 + 3, "77", 0.2, 5e4)
    assert ledger.last_exchange_funding_ts() == T0 + 3


def test_derived_figure_first_then_the_exchange_payment(ledger: Ledger) -> None:
    assert ledger.last_exchange_funding_ts() is None
    with ledger.transaction() as tx:
        assert tx.record_funding(symbol=BTC, ts=T0, rate=1e-4, qty=0.2, mark_price=5e4, amount=-1.0)
    with ledger.transaction() as tx:
        row = tx.record_exchange_funding(
            symbol=BTC, venue_id="9", ts=T0 + 5, amount=-0.99, bar_ms=HOUR
        )
    assert row is not None
    (only,) = ledger.funding()
    assert (only.amount, only.expected, only.venue_id, only.ts) == (-0.99, -1.0, "9", T0 + 5)
    assert only.rate == 1e-4 and only.qty == 0.2
    # a payment of the next bar does not take this bar's derived row
    with ledger.transaction() as tx:
        tx.record_exchange_funding(symbol=BTC, venue_id="10", ts=T0 + HOUR, amount=-2, bar_ms=HOUR)
    assert [(r.venue_id, r.expected) for r in ledger.funding()] == [("9", -1.0), ("10", None)]
