"""The engine as ``xsmom live`` wires it, with the default ``quote_source: book``, against the
venue (its account, and ``--paper`` on its data): every post-only order joins the venue's
touch at the time it was sent, recomputed here from the venue's stored last price."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_harness import HOUR, KEYS_ENV, config, fast_config, make_engine, venue

from xsmom.exchange.paper import PaperExchange
from xsmom.sim import FeeModel, Order

HALF = 2  # the venue's half spread in ticks


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in KEYS_ENV.items():
        monkeypatch.setenv(k, v)


@pytest.mark.parametrize("paper", [False, True], ids=["venue-account", "paper"])
def test_the_engine_joins_the_venues_touch_with_the_default_quote_source(
    tmp_path: Path, paper: bool
) -> None:
    doc = fast_config(live__execution__taker_after_s=86_400, live__execution__stop_orders=False)
    del doc["live"]["execution"]["quote_source"]  # the default: book
    cfg, _ = config(doc)
    assert cfg.live.execution.quote_source == "book"
    with venue(fees=FeeModel(max_participation=2e-5), half_spread_ticks=HALF) as rv:
        eng, ledger = make_engine(rv, tmp_path, cfg, paper=paper)
        eng.start()
        for _ in range(10):
            eng.step()
            rv.advance(HOUR)
        inner = eng.parts.exchange.inner  # GuardedExchange -> PaperExchange | CcxtExchange
        orders: list[Order] = (
            inner.engine.orders() if isinstance(inner, PaperExchange) else rv.venue.engine.orders()
        )
        assert isinstance(inner, PaperExchange) is paper
        makers = [o for o in orders if o.post_only]
        assert len(makers) >= 3
        for o in makers:
            last, _, _ = rv.venue.data.price_at(o.symbol, o.ts_created)
            tick = rv.venue.data.specs[o.symbol].price_tick
            touch = last - HALF * tick if o.side == "buy" else last + HALF * tick
            assert o.price == pytest.approx(touch, abs=tick / 10), o
        if paper:
            assert rv.venue.engine.orders() == []
    ledger.close()
