"""The executor over the real ccxt client against the simulated venue on loopback: orders that
fill in pieces converge to the target, with and without faults on the order endpoints, and no
intent is ever traded twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from xsmom.config.live import ExecutionConfig, GuardsConfig
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.retry import RetryPolicy
from xsmom.live import Executor, Gate, GateInputs, IdScheme, RetryLater, margin_ratio
from xsmom.sim import FeeModel
from xsmom.venue.testing import RunningVenue, start_venue

BTC, ETH = "BTC/USDT:USDT", "ETH/USDT:USDT"
START_MS = 1_748_736_000_000  # 2025-06-01 00:00 UTC
HOUR = 3_600_000
FAST = RetryPolicy(max_attempts=6, base_delay=0.01, multiplier=2.0, max_delay=0.05)
ONCE = RetryPolicy(max_attempts=1, base_delay=0.01, multiplier=2.0, max_delay=0.05)
IDS = IdScheme("cfg-live")


@pytest.fixture
def venue() -> Iterator[RunningVenue]:
    fees = FeeModel(max_participation=4e-6)  # a tiny share of each bar: fills in pieces
    # the venue counts request weight per real minute, as Binance does; a stepped clock packs
    # many bars into seconds (~3,300 weight in ~13 s here), so the limit is lifted: these tests
    # are about fills and faults, not rate limits (tests/integration/test_exchange_venue_* are)
    with start_venue(
        "sample", start=START_MS, speed=0.0, symbols=[BTC, ETH], fees=fees, weight_limit=100_000
    ) as rv:
        yield rv


def run(
    rv: RunningVenue, targets: dict[str, float], bars: int, retry: RetryPolicy = FAST
) -> tuple[CcxtExchange, list[Any]]:
    ex = CcxtExchange(
        CcxtConfig(retry=retry, rate_per_s=500.0, burst=50.0),
        ApiCredentials(rv.api_key, rv.api_secret),
        client=rv.ccxt_client(timeout_ms=400),
        bar_clock=rv.now,
    )
    gate = Gate(GuardsConfig())
    cfg = ExecutionConfig(quote_source="last", taker_after_s=6 * 3600)
    executor = Executor(ex, gate, cfg, ids=IDS, bar_ms=HOUR)
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
    return ex, reports


def positions(rv: RunningVenue) -> dict[str, float]:
    return {p.symbol: p.qty for p in rv.venue.engine.positions()}


def test_partial_fills_converge_over_bars(venue: RunningVenue) -> None:
    ex, _ = run(venue, {BTC: 0.05, ETH: -2.0}, bars=12)
    pos = positions(venue)
    assert pos[BTC] == pytest.approx(0.05, abs=1e-5) and pos[ETH] == pytest.approx(-2.0, abs=1e-3)
    fills = venue.venue.engine.fills(BTC)
    assert len(fills) >= 3 and all(f.is_maker for f in fills)
    assert sum(f.qty for f in fills) == pytest.approx(0.05, abs=1e-9)
    orders = venue.venue.engine.orders()
    assert all(IDS.parse(o.client_id) is not None for o in orders)
    ex.close()


@pytest.mark.parametrize("retry", [FAST, ONCE], ids=["adapter-retries", "executor-retries"])
def test_faults_on_the_order_endpoints_never_double_an_intent(
    venue: RunningVenue, retry: RetryPolicy
) -> None:
    venue.set_faults(
        {
            "seed": 3,
            "endpoints": {
                "POST /fapi/v1/order": {
                    "error_rate": 0.4,
                    "errors": ["drop", "timeout", "late", "503"],
                    "timeout_s": 0.6,
                },
                "DELETE /fapi/v1/order": {"error_rate": 0.3, "errors": ["503", "late"]},
            },
        }
    )
    ex, reports = run(venue, {BTC: 0.05, ETH: -2.0}, bars=14, retry=retry)
    counts = venue.server.faults.counts
    assert sum(counts.values()) >= 3  # the faults did happen
    venue.set_faults({})
    pos = positions(venue)
    assert pos[BTC] == pytest.approx(0.05, abs=1e-5) and pos[ETH] == pytest.approx(-2.0, abs=1e-3)
    # never more than the target: no intent was sent twice under two ids
    assert sum(f.qty for f in venue.venue.engine.fills(BTC)) == pytest.approx(0.05, abs=1e-9)
    assert sum(f.qty for f in venue.venue.engine.fills(ETH)) == pytest.approx(2.0, abs=1e-9)
    ids = [o.client_id for o in venue.venue.engine.orders()]
    assert len(ids) == len(set(ids))
    if retry is ONCE:  # errors reached the executor, which retried them at the next cycle
        assert any(isinstance(e, RetryLater) for r in reports for e in r.events)
    sent = Counter(o.client_id for r in reports for o in r.placed)
    assert set(sent) == set(ids) and max(sent.values()) == 1  # each order reported once
    ex.close()
