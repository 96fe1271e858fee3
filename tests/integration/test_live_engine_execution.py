"""The engine over ccxt against the venue: post-only orders filling in three or more pieces (a
few per bar, topped up at each bar) converge to the target; with 5xx, timeouts and late answers
on the order endpoints the run completes with one venue order per intent."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path

import pytest
from live_harness import HOUR, KEYS_ENV, config, fast_config, make_engine, venue

from xsmom.errors import RetryableError
from xsmom.sim import FeeModel


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in KEYS_ENV.items():
        monkeypatch.setenv(k, v)


def test_partial_fills_converge_to_the_target(tmp_path: Path) -> None:
    doc = fast_config(
        live__execution__taker_after_s=86_400,  # makers only (a day): pieces, never a taker
        live__execution__stop_orders=False,
        strategy__portfolio__rebalance_every=48,
    )
    cfg, _ = config(doc)
    fees = FeeModel(max_participation=2e-5)  # a small share of each bar's volume
    with venue(fees=fees) as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg)
        eng.start()
        for _ in range(30):
            eng.step()
            rv.advance(HOUR)
        eng.step()
        pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    pieces: dict[str, int] = defaultdict(int)
    for f in ledger.fills():
        assert f.is_maker
        pieces[f.symbol] += 1
    # an order lives one bar (the next bar's plan replaces it): a position is built over bars
    assert max(pieces.values()) >= 3  # some target was reached in three or more pieces
    last = max(r.bar_ts for r in ledger.targets_series())
    targets = {s: t.target_qty for s, t in ledger.targets(last).items() if t.target_qty != 0}
    assert targets
    for s, q in targets.items():  # converged within the drift the planner leaves alone
        assert pos.get(s, 0.0) == pytest.approx(q, rel=0.02), s
    assert {s: p.qty for s, p in ledger.positions().items()} == pytest.approx(pos)
    ledger.close()


@pytest.mark.slow
def test_faults_on_order_endpoints_one_order_per_intent(tmp_path: Path) -> None:
    cfg, _ = config(fast_config())
    plan = {
        "seed": 5,
        "endpoints": {
            "POST /fapi/v1/order": {
                "error_rate": 0.25,
                "errors": ["503", "timeout", "late", "drop", "stall"],
                "timeout_s": 0.5,
            },
            "DELETE /fapi/v1/order": {
                "error_rate": 0.3,
                "errors": ["503", "late"],
                "timeout_s": 0.5,
            },
            "POST /fapi/v1/algoOrder": {
                "error_rate": 0.3,
                "errors": ["503", "late"],
                "timeout_s": 0.5,
            },
        },
    }
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg, venue_timeout_ms=350)
        eng.start()
        rv.set_faults(plan)
        for _ in range(12):
            try:
                eng.step()
            except RetryableError:
                eng.step()  # the next look retries the bar
            rv.advance(HOUR)
        injected = sum(rv.server.faults.counts.values())
        rv.set_faults({})
        eng.step()
        venue_ids = Counter(o.client_id for o in rv.venue.engine.orders())
        pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
    assert injected >= 5
    assert max(venue_ids.values()) == 1  # one order per client id, i.e. per intent
    mine = {o.client_id for o in ledger.orders()}
    assert set(venue_ids) <= mine
    assert {s: p.qty for s, p in ledger.positions().items()} == pytest.approx(pos)
    ledger.close()
