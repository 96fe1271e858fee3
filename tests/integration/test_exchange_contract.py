"""The Exchange contract, run against the paper adapter and the ccxt adapter over the venue."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from xsmom.data.bundled import sample_store
from xsmom.exchange import CircuitBreaker, Exchange, GuardedExchange
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.paper import PaperExchange
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.exchange.testing import ExchangeContract, ExchangeHarness
from xsmom.venue.testing import start_venue

SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT"]
START_MS = 1_748_736_000_000  # 2025-06-01 00:00 UTC, inside the bundled sample


def _paper(tmp_path: Path) -> Iterator[ExchangeHarness]:
    clock = ManualClock(START_MS)
    source = StoreMarketData(sample_store(), clock, symbols=SYMBOLS)
    ex = PaperExchange(source, tmp_path / "paper.json", clock)
    yield ExchangeHarness(exchange=ex, advance=clock.advance, now=clock)
    ex.close()


def _ccxt_venue(guarded: bool = False) -> Iterator[ExchangeHarness]:
    with start_venue("sample", start=START_MS, speed=0.0, symbols=SYMBOLS) as rv:
        ex: Exchange = CcxtExchange(
            CcxtConfig(),
            ApiCredentials(rv.api_key, rv.api_secret),
            client=rv.ccxt_client(),
            bar_clock=rv.now,
        )
        if guarded:
            ex = GuardedExchange(ex, CircuitBreaker())
        yield ExchangeHarness(exchange=ex, advance=rv.advance, now=rv.now)
        ex.close()


def _paper_on_venue_data(tmp_path: Path) -> Iterator[ExchangeHarness]:
    """Paper trading on market data read over HTTP by the ccxt adapter (public calls only)."""
    with start_venue("sample", start=START_MS, speed=0.0, symbols=SYMBOLS) as rv:
        market = CcxtExchange(CcxtConfig(), client=rv.ccxt_client(), bar_clock=rv.now)
        ex = PaperExchange(market, tmp_path / "paper.json", rv.now)
        yield ExchangeHarness(exchange=ex, advance=rv.advance, now=rv.now)
        ex.close()
        market.close()


@pytest.fixture(params=["paper", "ccxt-venue", "paper-on-ccxt-data", "guarded-ccxt-venue"])
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ExchangeHarness]:
    if request.param == "paper":
        yield from _paper(tmp_path)
    elif request.param == "ccxt-venue":
        yield from _ccxt_venue()
    elif request.param == "guarded-ccxt-venue":
        yield from _ccxt_venue(guarded=True)  # the breaker wrapper changes nothing when healthy
    else:
        yield from _paper_on_venue_data(tmp_path)


class TestExchangeContract(ExchangeContract):
    """Every contract test, once per implementation."""
