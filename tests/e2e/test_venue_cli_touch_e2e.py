"""``xsmom venue serve --half-spread-ticks N`` in a subprocess: the real ccxt client's
``fetch_bids_asks`` (and so the adapter's touch) sits N ticks around the last price."""

from __future__ import annotations

import ccxt
import pytest
from test_venue_cli_e2e import SECRET, serve, stop

from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.venue.testing import ccxt_config

BTC = "BTC/USDT:USDT"


def test_half_spread_ticks_set_the_touch_the_adapter_reads() -> None:
    proc, url, _ = serve("--start", "2025-09-01", "--half-spread-ticks", "3")
    try:
        client = ccxt.binanceusdm(ccxt_config(url, "e2e-key", SECRET))
        ex = CcxtExchange(
            CcxtConfig(max_clock_drift_ms=None), ApiCredentials("e2e-key", SECRET), client=client
        )
        tick = ex.market(BTC).price_tick
        last = float(client.fetch_last_prices([BTC])[BTC]["price"])
        t = ex.ticker(BTC)
        assert t.last == last
        assert t.bid == pytest.approx(last - 3 * tick) and t.ask == pytest.approx(last + 3 * tick)
        ex.close()
    finally:
        stop(proc)
