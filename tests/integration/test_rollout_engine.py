"""The rollout with the real engine (`xsmom live`'s loop) trading the simulated venue over
ccxt, clock stepped: a paper candidate trades only its paper account (the venue sees the
engine's orders alone), and a promotion is traded by the engine from the next bar."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_harness import HOUR, KEYS_ENV, config, fast_config, make_engine, venue, venue_orders

from xsmom.live.home import Home
from xsmom.rollout import RolloutHook, active_version, ensure_active, submit

pytestmark = pytest.mark.slow


@pytest.fixture(autouse=True)
def _keys(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in KEYS_ENV.items():
        monkeypatch.setenv(k, v)


def test_engine_runs_the_hook_and_trades_the_promoted_version_next_bar(tmp_path: Path) -> None:
    a, _ = config(fast_config())
    b, _ = config(fast_config(strategy__selection__k=2))
    with venue() as rv:
        eng, ledger = make_engine(rv, tmp_path, a)
        eng.start()
        va = ensure_active(ledger, a, now_ms=eng.parts.clock())
        vb = submit(ledger, b, source="test", now_ms=eng.parts.clock()).version
        # the engine's own store (new bars in memory until flushed), its exchange for market data
        hook = RolloutHook(
            Home(tmp_path).path,
            ledger,
            eng.parts.exchange,
            eng.parts.clock,
            store=eng.feed.store,
        )
        eng.hooks.append(hook)
        hook.pipeline.promote(vb, eng.parts.clock())  # candidate -> paper
        for _ in range(6):
            eng.step()
            rv.advance(HOUR)
        assert not [e for e in ledger.guard_events() if e.event == "hook_failed"]
        assert len(ledger.rollout_equity(vb)) == 6, "the paper candidate ran at every bar"
        sent = {o.client_id for o in ledger.orders()}
        assert len(sent) == venue_orders(rv)  # every venue order is one the engine recorded
        assert {o.config_version for o in ledger.orders()} == {va}
        # promote to full by hand: the engine trades B from its next bar, without a restart
        hook.pipeline.promote(vb, eng.parts.clock())
        hook.pipeline.promote(vb, eng.parts.clock())
        assert active_version(ledger) == vb
        eng.step()
        last = ledger.targets()
        assert {t.config_version for t in last.values()} == {vb}
        hook.close()
        ledger.close()
