"""The ccxt adapter's funding call goes through the one error mapping: a venue error on
``/fapi/v1/income`` is retried and then a RetryableError, never a vendor exception, and the
payments come back complete once the venue answers again."""

from __future__ import annotations

import pytest

from xsmom import errors as xe
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.reports import OrderRequest, OrderSide
from xsmom.exchange.retry import RetryPolicy
from xsmom.venue.testing import start_venue

BTC = "BTC/USDT:USDT"
START_MS = 1_748_736_000_000  # 2025-06-01 00:00 UTC, a funding time
HOUR = 3_600_000
FAST = RetryPolicy(max_attempts=3, base_delay=0.01, multiplier=2.0, max_delay=0.02)


def test_income_errors_are_mapped_and_retried() -> None:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=[BTC]) as rv:
        ex = CcxtExchange(
            CcxtConfig(retry=FAST, rate_per_s=500.0, burst=50.0),
            ApiCredentials(rv.api_key, rv.api_secret),
            client=rv.ccxt_client(),
            bar_clock=rv.now,
        )
        ex.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "fund-1"))
        rv.advance(9 * HOUR)  # the 08:00 settlement
        rv.set_faults({"endpoints": {"GET /fapi/v1/income": {"error_rate": 1.0, "errors": [503]}}})
        before = ex.requests
        with pytest.raises(xe.RetryableError) as err:
            ex.funding_payments(since=START_MS)
        assert not err.value.__class__.__module__.startswith("ccxt")
        assert ex.requests - before == FAST.max_attempts  # retried, then given up
        rv.set_faults({})
        (paid,) = ex.funding_payments(since=START_MS)
        (settled,) = rv.venue.engine.funding_payments()
        assert (paid.symbol, paid.ts) == (BTC, START_MS + 8 * HOUR)
        assert paid.amount == pytest.approx(settled.amount, abs=1e-8) and paid.amount != 0
        ex.close()
