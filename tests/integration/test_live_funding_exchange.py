"""Funding from the exchange: the engine records what the venue charged (``/fapi/v1/income``
over the real ccxt client) and what the paper account settled, each payment once across a
restart between two funding times (the one settled while the engine was down included), with
the store's rates on the ledger's position beside it as the cross-check."""

from __future__ import annotations

from pathlib import Path

import pytest
from live_harness import HOUR, KEYS_ENV, START_MS, config, fast_config, make_engine, venue

from xsmom.ledger import FundingView, Ledger
from xsmom.live.funding import FUNDING_TOL_ABS

EIGHT_H = 8 * HOUR


def _exchange_rows(ledger: Ledger) -> list[FundingView]:
    return [r for r in ledger.funding() if r.venue_id is not None]


def _check(ledger: Ledger, settled: list[tuple[str, int, float]]) -> None:
    rows = _exchange_rows(ledger)
    ids = [(r.symbol, r.venue_id) for r in rows]
    assert len(ids) == len(set(ids))  # each payment once, restart or not
    assert sorted((r.symbol, r.ts) for r in rows) == sorted((s, t) for s, t, _ in settled)
    mine = {(r.symbol, r.ts): r for r in rows}
    for sym, ts, amount in settled:
        row = mine[(sym, ts)]
        assert row.amount == pytest.approx(amount, abs=1e-8)  # what the exchange charged
        # the cross-check: the store's rate x the ledger's position x the store's mark
        assert row.expected is not None and row.qty is not None and row.rate is not None
        assert row.expected == pytest.approx(amount, rel=1e-3, abs=FUNDING_TOL_ABS)
    assert not [r for r in ledger.funding() if r.venue_id is None]  # nothing left unmatched
    assert not ledger.guard_events(guard="funding")  # no mismatch


@pytest.mark.slow
def test_exchange_funding_is_recorded_once_across_a_restart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS_ENV.items():
        monkeypatch.setenv(name, value)
    cfg, _ = config(fast_config())
    with venue() as rv:
        engines = {
            "venue": make_engine(rv, tmp_path / "venue", cfg),
            "paper": make_engine(rv, tmp_path / "paper", cfg, paper=True),
        }
        for eng, _ in engines.values():
            eng.start()
        for _ in range(11):  # 00:00 .. 10:00 UTC: the 08:00 funding with the engines up
            assert all(eng.step() for eng, _ in engines.values())
            rv.advance(HOUR)
        for eng, ledger in engines.values():
            eng.stop(clean=True, reason="restart")
            ledger.close()
        assert rv.venue.engine.positions()
        rv.advance(6 * HOUR)  # 17:00: the 16:00 funding settled while they were down
        engines = {
            "venue": make_engine(rv, tmp_path / "venue", cfg),
            "paper": make_engine(rv, tmp_path / "paper", cfg, paper=True),
        }
        for eng, _ in engines.values():
            eng.start()
        for _ in range(9):  # 17:00 .. 01:00: the 00:00 funding with the engines up again
            assert all(eng.step() for eng, _ in engines.values())
            rv.advance(HOUR)
        paper = engines["paper"][0].parts.exchange
        by_account = {
            "venue": [(p.symbol, p.ts, p.amount) for p in rv.venue.engine.funding_payments()],
            "paper": [(p.symbol, p.ts, p.amount) for p in paper.funding_payments()],
        }
        for name, (eng, ledger) in engines.items():
            eng.stop(clean=True, reason="test done")
            settled = by_account[name]
            times = {ts for _, ts, _ in settled}
            assert times == {START_MS + EIGHT_H, START_MS + 2 * EIGHT_H, START_MS + 3 * EIGHT_H}
            _check(ledger, settled)
            ledger.close()
