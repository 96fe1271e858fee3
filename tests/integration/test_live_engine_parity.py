"""Parity: the engine, trading the simulated venue over the real ccxt client and paper trading
beside it, records at every bar exactly the target weights the backtest computes on the
engine's own store, pays the backtest's price on the trades both make (default costs, market
impact included), and its equity stays within the tolerance docs/operations.md states."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from live_harness import HOUR, KEYS_ENV, config, fast_config, make_engine, replay_targets, venue

from xsmom.backtest import BacktestResult, run_backtest
from xsmom.backtest import kernel as k
from xsmom.data import load_panel
from xsmom.data.store import ParquetStore
from xsmom.ledger import Ledger
from xsmom.sim import FeeModel

# one week in CI (about 4 minutes with both engines); XSMOM_PARITY_BARS=336 for two weeks
BARS = int(os.environ.get("XSMOM_PARITY_BARS", str(7 * 24)))
EQUITY_TOL = 0.005  # docs/operations.md "Parity"


def _check_targets(ledger: Ledger, home: Path, cfg_doc: dict) -> int:  # type: ignore[type-arg]
    cfg, vid = config(cfg_doc)
    ts, w, syms = replay_targets(home, cfg)
    row = {int(t): i for i, t in enumerate(ts)}
    rows = ledger.targets_series()
    bars = {r.bar_ts for r in rows}
    assert len(bars) == BARS + 1
    for r in rows:  # every symbol of every bar, bit for bit
        assert r.weight == w[row[r.bar_ts], syms.index(r.symbol)], (r.bar_ts, r.symbol)
        assert r.config_version == vid
    return sum(r.weight != 0 for r in rows)


def _backtest(ledger: Ledger, home: Path, cfg_doc: dict) -> BacktestResult:  # type: ignore[type-arg]
    cfg, _ = config(cfg_doc)
    panel = load_panel(ParquetStore(home / "store"), "1h", cfg.data.symbols)
    first_bar = min(r.bar_ts for r in ledger.targets_series())
    start = int(np.searchsorted(panel.timestamps, first_bar)) + 1
    return run_backtest(panel, cfg, start=start)


def _same_trade_prices(ledger: Ledger, res: BacktestResult) -> int:
    """Check that each backtest trade the engine made too (same bar, symbol and size within
    its rounding, however many orders) cost the same; return how many were compared."""
    got: dict[tuple[int, str], list[tuple[float, float]]] = {}
    for f in ledger.fills():
        got.setdefault((f.ts, f.symbol), []).append(
            (f.qty * (1 if f.side == "buy" else -1), f.price)
        )
    compared = 0
    for row in res.trade_log:
        key = (int(res.timestamps[int(row[k.T_BAR])]), res.symbols[int(row[k.T_SYM])])
        fills, qty = got.get(key, []), float(row[k.T_QTY])
        total = sum(q for q, _ in fills)
        if not fills or abs(total - qty) > 0.01 * abs(qty):
            continue  # the engine traded otherwise here (drift, rounding, a stop)
        vwap = sum(abs(q) * p for q, p in fills) / sum(abs(q) for q, _ in fills)
        assert vwap == pytest.approx(float(row[k.T_PRICE]), rel=2e-6), key
        compared += 1
    return compared


def _equity_gap(ledger: Ledger, res: BacktestResult) -> float:
    bt = {int(t): float(e) for t, e in zip(res.timestamps, res.equity, strict=True)}
    gaps = [
        abs(e.equity / bt[bar] - 1)
        for e in ledger.equity_series()
        if (bar := (e.ts // HOUR - 1) * HOUR) in bt
    ]
    assert len(gaps) >= BARS - 1
    return max(gaps)


@pytest.mark.slow
def test_venue_and_paper_record_the_backtests_weights_and_equity(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in KEYS_ENV.items():
        monkeypatch.setenv(name, value)
    doc = fast_config()  # the default costs: 5 bps taker, 2 bps slippage, impact_coef 0.1
    cfg, _ = config(doc)
    c = cfg.costs
    assert c.impact_coef == 0.1
    fees = FeeModel(
        taker_fee_bps=c.taker_fee_bps,
        maker_fee_bps=c.maker_fee_bps,
        slippage_bps=c.slippage_bps,
        impact_coef=c.impact_coef,
        unknown_volume_bps=c.unknown_volume_bps or 0.0,
    )
    with venue(fees=fees) as rv:
        live, live_ledger = make_engine(rv, tmp_path / "venue", cfg)
        paper, paper_ledger = make_engine(rv, tmp_path / "paper", cfg, paper=True)
        live.start()
        paper.start()
        assert live.step() and paper.step()
        for _ in range(BARS):
            rv.advance(HOUR)
            assert live.step() and paper.step()
        live.stop(clean=True, reason="test done")  # writes the store's pending bars
        paper.stop(clean=True, reason="test done")
        venue_pos = {p.symbol: p.qty for p in rv.venue.engine.positions()}
        paper_pos = {p.symbol: p.qty for p in paper.parts.exchange.positions()}
        # every fill of both accounts had a reference volume (no unknown-volume fallback)
        assert rv.venue.engine.unknown_volume_fills == 0
        assert paper.parts.exchange.inner.engine.unknown_volume_fills == 0  # type: ignore[attr-defined]
    for ledger, home, pos in (
        (live_ledger, tmp_path / "venue", venue_pos),
        (paper_ledger, tmp_path / "paper", paper_pos),
    ):
        traded = _check_targets(ledger, home, doc)
        assert traded > BARS // 2  # the strategy did hold positions
        mine = {s: p.qty for s, p in ledger.positions().items()}
        assert mine.keys() == pos.keys()
        for s, q in pos.items():
            assert mine[s] == pytest.approx(q, abs=1e-9)
        assert len(ledger.fills()) > 20
        res = _backtest(ledger, home, doc)
        assert res.metrics["unknown_volume_fills"] == 0.0
        compared = _same_trade_prices(ledger, res)
        assert compared >= len(res.trade_log) // 2  # most of the backtest's trades
        gap = _equity_gap(ledger, res)
        print(f"{home.name}: {compared} trades at the backtest's price; max equity gap {gap:.4%}")
        assert gap < EQUITY_TOL
        ledger.close()
