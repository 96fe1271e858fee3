"""A paper run on real data, recorded in a ledger as the live engine records it.

The strategy's targets (``compute_targets`` on the real store), the live ``Executor`` over the
paper adapter, and per cycle one ledger transaction with the bar's targets, the new fills, the
positions, the new funding settlements and an equity snapshot. Used by the daily-report tests
until the live engine writes the same rows itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xsmom.config import load_config, version_id
from xsmom.config.live import ExecutionConfig, GuardsConfig
from xsmom.data import ParquetStore, load_panel
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.ledger import Ledger, LedgerTx, default_url, open_ledger
from xsmom.live import Executor, Gate, GateInputs, IdScheme, margin_ratio, target_quantities
from xsmom.strategy import compute_targets

HOUR = 3_600_000


@dataclass(frozen=True)
class PaperRun:
    """The ledger of the run and what the test needs to check it."""

    ledger: Ledger
    start_ms: int
    end_ms: int
    symbols: tuple[str, ...]


def _record_cycle(
    tx: LedgerTx, ex: PaperExchange, report: object, bar_ts: int, now: int, seen_funding: int
) -> int:
    from xsmom.live import CycleReport

    assert isinstance(report, CycleReport)
    for f in report.fills:
        tx.record_fill(
            symbol=f.symbol,
            trade_id=f.trade_id,
            side=str(f.side.value),
            qty=f.qty,
            price=f.price,
            fee=f.fee,
            fee_currency=f.fee_currency,
            ts=f.ts,
            realized_pnl=f.realized_pnl,
            is_maker=f.is_maker,
            venue_order_id=f.venue_order_id,
            client_id=f.client_id,
        )
    held = {p.symbol: p for p in ex.positions()}
    for sym in {*held, *(p.symbol for p in tx.positions().values())}:
        p = held.get(sym)
        tx.upsert_position(
            sym,
            qty=p.qty if p else 0.0,
            entry_price=p.entry_price if p else 0.0,
            ts=now,
            reason="fills",
        )
    payments = ex.engine.funding_payments()
    for fp in payments[seen_funding:]:
        tx.record_funding(
            symbol=fp.symbol,
            ts=fp.ts,
            rate=fp.rate,
            qty=fp.position_qty,
            mark_price=fp.mark_price,
            amount=fp.amount,
        )
    bal = ex.balance()
    tx.record_equity(ts=now, equity=bal.equity, wallet=bal.wallet, unrealized=bal.unrealized)
    return len(payments)


def run_paper(
    store: Path, home: Path, *, symbols: list[str], start_ms: int, hours: int
) -> PaperRun:
    """Trade the default strategy on ``symbols`` of ``store`` for ``hours`` bars from
    ``start_ms`` with the paper adapter, and record everything in ``home``'s ledger."""
    cfg = load_config(None)
    panel = load_panel(ParquetStore(store), "1h", symbols)
    weights = compute_targets(panel, cfg.strategy).weights
    clock = ManualClock(start_ms)
    source = StoreMarketData(ParquetStore(store), clock, symbols=symbols)
    ex = PaperExchange(source, home / "paper.json", clock, config=PaperConfig())
    ids = IdScheme("xs")
    executor = Executor(
        ex,
        Gate(GuardsConfig()),
        ExecutionConfig(quote_source="last", taker_after_s=0, client_id_prefix="xs"),
        ids=ids,
        bar_ms=HOUR,
    )
    ledger = open_ledger(default_url(home))
    vid = version_id(cfg)
    seen = 0
    with ledger.transaction() as tx:
        tx.record_config_version(vid, cfg.model_dump(mode="json"), start_ms)
        bal = ex.balance()
        tx.record_equity(ts=start_ms, equity=bal.equity, wallet=bal.wallet, unrealized=0.0)
    for _ in range(hours):
        clock.advance(HOUR)
        now = clock()
        bar_ts = now - HOUR
        row = int(np.searchsorted(panel.timestamps, bar_ts))
        w = {s: float(weights[row, i]) for i, s in enumerate(panel.symbols)}
        bal = ex.balance()
        prices = {s: t.last for s, t in ex.tickers(list(panel.symbols)).items()}
        qty = target_quantities(w, bal.equity, prices)
        executor.gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions={p.symbol: p.qty for p in ex.positions()},
                last_bar_ts=bar_ts,
                bar_ms=HOUR,
            )
        )
        report = executor.cycle(bar_ts=bar_ts, now_ms=now, targets=qty)
        with ledger.transaction() as tx:
            tx.record_targets(bar_ts, {s: (w[s], qty[s]) for s in w}, vid)
            seen = _record_cycle(tx, ex, report, bar_ts, now, seen)
    ex.close()
    return PaperRun(ledger, start_ms, clock(), tuple(panel.symbols))
