"""`Shadow`: paper-trade every paper- and small-stage version beside the active config.

At each closed bar the engine calls ``shadow.on_bar(bar_ts)``. For each such version the
shadow loads the home's store up to that bar, runs the version's own ``compute_targets`` (the
one strategy path), and trades the result on its own `PaperExchange` (state in
``HOME/rollout/<version>/paper.json``) through the normal `Executor` and a `Gate` with the
version's guards. The paper account's equity (taken at the bar close, before trading) and
its fills land in the ledger tagged with the version, in one transaction with the executor's
and gate's memory (meta ``rollout.shadow.<version>``).

The shadow only ever holds a *market-data* source: it has no handle on the real account, so
a paper candidate cannot send an order there (a test proves it).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from xsmom.config import Config
from xsmom.config.rollout import RolloutConfig
from xsmom.data import ParquetStore, load_panel
from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import DataError
from xsmom.exchange.interface import MarketData
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.ledger import Ledger
from xsmom.live import (
    CycleReport,
    ExecutionState,
    Executor,
    Gate,
    GateInputs,
    GuardTripped,
    IdScheme,
    margin_ratio,
    target_quantities,
)
from xsmom.rollout.stages import PAPER, SMALL, active_config, config_of
from xsmom.sim import FeeModel
from xsmom.strategy import compute_targets

SHADOW_KEY = "rollout.shadow."


@dataclass
class _Book:
    """One version's paper account, executor and gate."""

    config: Config
    paper: PaperExchange
    executor: Executor
    gate: Gate
    trips: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class ShadowStep:
    """What one version did at one bar."""

    version: str
    bar_ts: int
    equity: float
    weights: dict[str, float]
    report: CycleReport


class Shadow:
    """Paper-trade the paper- and small-stage versions of a home, bar by bar."""

    def __init__(
        self,
        home: Path,
        ledger: Ledger,
        source: MarketData,
        clock: Callable[[], int],
        *,
        store: ParquetStore | None = None,
        fees: FeeModel | None = None,
        capital: float | None = None,
    ) -> None:
        self.root = Path(home) / "rollout"
        self.ledger = ledger
        self.source = source
        self.clock = clock
        self.store = store or ParquetStore(Path(home) / "store")
        self.fees = fees or FeeModel()
        self.capital = capital  # None: the active config's rollout.paper_capital
        self._books: dict[str, _Book] = {}

    def versions(self) -> list[str]:
        """Return the versions the shadow trades now (paper and small stages), oldest first."""
        stages = self.ledger.rollout_stages()
        return [v for v, s in stages.items() if s.stage in (PAPER, SMALL)]

    def on_bar(self, bar_ts: int) -> list[ShadowStep]:
        """Trade every shadow version on the bar that opened at ``bar_ts`` (now closed)."""
        steps = [self.step(v, bar_ts) for v in self.versions()]
        for gone in set(self._books) - {s.version for s in steps}:
            self._books.pop(gone).paper.close()
        return steps

    def step(self, version: str, bar_ts: int) -> ShadowStep:
        """Run one version's strategy on the closed bars up to ``bar_ts`` and trade it."""
        book = self._book(version)
        cfg = book.config
        bar_ms = timeframe_ms(cfg.data.timeframe)
        now = self.clock()
        weights, prices, stops = targets_at(self.store, cfg, bar_ts)
        bal = book.paper.balance()
        positions = {p.symbol: p.qty for p in book.paper.positions()}
        events = book.gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions=positions,
                last_bar_ts=bar_ts,
                bar_ms=bar_ms,
            )
        )
        book.trips += [
            {"ts": e.ts_event, "guard": e.guard, "reason": e.reason}
            for e in events
            if isinstance(e, GuardTripped)
        ]
        qty = target_quantities(weights, bal.equity, prices)
        report = book.executor.cycle(
            bar_ts=bar_ts,
            now_ms=now,
            targets=qty,
            stop_levels=stops if cfg.live.execution.stop_orders else None,
        )
        with self.ledger.transaction() as tx:
            tx.record_rollout_equity(
                version,
                ts=now,
                equity=bal.equity,
                wallet=bal.wallet,
                unrealized=bal.unrealized,
                margin_ratio=margin_ratio(bal) if bal.equity > 0 else None,
            )
            for f in report.fills:
                tx.record_rollout_fill(
                    version,
                    symbol=f.symbol,
                    trade_id=f.trade_id,
                    side=f.side.value,
                    qty=f.qty,
                    price=f.price,
                    fee=f.fee,
                    ts=f.ts,
                    is_maker=f.is_maker,
                    client_id=f.client_id,
                )
            tx.set_meta(SHADOW_KEY + version, self._memory(book), now)
        return ShadowStep(
            version=version, bar_ts=bar_ts, equity=bal.equity, weights=weights, report=report
        )

    def _book(self, version: str) -> _Book:
        book = self._books.get(version)
        if book is not None:
            return book
        cfg = config_of(self.ledger, version)
        folder = self.root / version
        folder.mkdir(parents=True, exist_ok=True)
        paper = PaperExchange(
            self.source,
            folder / "paper.json",
            self.clock,
            config=PaperConfig(
                initial_balance=self._capital(), fees=self.fees, timeframe=cfg.data.timeframe
            ),
        )
        saved: Mapping[str, Any] = self.ledger.get_meta(SHADOW_KEY + version) or {}
        gate = Gate(cfg.live.guards)
        if saved.get("gate"):
            gate.from_state(saved["gate"])
        ex = cfg.live.execution
        state = ExecutionState.from_state(saved["executor"]) if saved.get("executor") else None
        executor = Executor(
            paper,
            gate,
            ex,
            ids=IdScheme(version[:16], prefix=ex.client_id_prefix),
            bar_ms=timeframe_ms(cfg.data.timeframe),
            state=state,
        )
        book = _Book(cfg, paper, executor, gate, list(saved.get("trips", [])))
        self._books[version] = book
        return book

    def _capital(self) -> float:
        if self.capital is not None:
            return self.capital
        active = active_config(self.ledger)
        return (active.rollout if active is not None else RolloutConfig()).paper_capital

    @staticmethod
    def _memory(book: _Book) -> dict[str, Any]:
        return {
            "executor": book.executor.state.to_state(),
            "gate": book.gate.to_state(),
            "trips": book.trips[-100:],
        }

    def close(self) -> None:
        """Persist and drop every paper book."""
        for book in self._books.values():
            book.paper.close()
        self._books.clear()


def targets_at(
    store: ParquetStore, cfg: Config, bar_ts: int
) -> tuple[dict[str, float], dict[str, float], dict[str, float]]:
    """Return ``cfg``'s target weights, last closes and stop levels at the close of ``bar_ts``.

    The strategy runs on the store's bars up to and including ``bar_ts`` (DataError if the
    store does not reach it): the same ``compute_targets`` as the backtest.
    """
    symbols = list(cfg.data.symbols) or None
    bar_ms = timeframe_ms(cfg.data.timeframe)
    panel = load_panel(store, cfg.data.timeframe, symbols, end_ms=bar_ts + bar_ms)
    row = panel.n_bars - 1
    if int(panel.timestamps[row]) != bar_ts:
        raise DataError(
            f"store {store.root} ends at bar {int(panel.timestamps[row])}, "
            f"not at the closed bar {bar_ts}: refresh the store first"
        )
    tg = compute_targets(panel, cfg.strategy)
    weights: dict[str, float] = {}
    prices: dict[str, float] = {}
    stops: dict[str, float] = {}
    for i, s in enumerate(panel.symbols):
        w, px, stop = tg.weights[row, i], panel.close[row, i], tg.stop_price[row, i]
        weights[s] = float(w) if math.isfinite(w) else 0.0
        if np.isfinite(px):
            prices[s] = float(px)
        if np.isfinite(stop) and weights[s] != 0:
            stops[s] = float(stop)
    return weights, prices, stops


def guard_trips(ledger: Ledger, version: str, since_ms: int) -> list[dict[str, Any]]:
    """Return the shadow gate's guard trips of ``version`` from ``since_ms`` on."""
    saved = ledger.get_meta(SHADOW_KEY + version) or {}
    return [t for t in saved.get("trips", []) if int(t["ts"]) >= since_ms]
