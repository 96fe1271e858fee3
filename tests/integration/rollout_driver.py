"""A bar-by-bar driver shaped like the live engine, for the rollout scenarios.

Until ``xsmom live`` is merged, this stands in for it, using only what the engine will use:
each bar it reads ``capital_plan(ledger)`` (the active version and a small-stage share),
computes the targets with ``targets_at`` (``compute_targets`` on the store), trades the *real*
account (a paper adapter standing in for the exchange, with its own fee model) through the
live `Executor`, records equity, targets and fills in the ledger, then runs the rollout's
per-bar hook (`Shadow.on_bar`, `Pipeline.tick`). The clock is a `ManualClock`.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xsmom.config import Config, config_from_dict
from xsmom.data.bundled import sample_store
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.store_source import ManualClock, StoreMarketData
from xsmom.ledger import Ledger, default_url, open_ledger
from xsmom.live import Executor, Gate, GateInputs, IdScheme, margin_ratio, target_quantities
from xsmom.notify import ConsoleChannel
from xsmom.rollout import RolloutHook, blend_targets, capital_plan
from xsmom.rollout.shadow import targets_at
from xsmom.rollout.stages import config_of
from xsmom.sim import FeeModel

HOUR = 3_600_000
DAY = 24 * HOUR
T0 = 1_751_328_000_000  # 2025-07-01 00:00 UTC, two months into the sample (warm-up)
SYMBOLS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT"]
TRADING = {"place_order", "cancel_order", "set_leverage", "set_margin_mode"}
ACCOUNT = {"balance", "positions", "open_orders", "fills", "order_by_client_id"}


def config(k: int = 1, **rollout: Any) -> Config:
    """Return a small, fast config (4 symbols, rebalance every 6 bars, market orders)."""
    settings: dict[str, Any] = {
        "paper": {"min_hours": 72, "min_fills": 3},
        "small": {"min_hours": 72, "min_fills": 3, "capital_fraction": 0.25},
        "evaluator": {"min_days": 3, "bootstrap_samples": 300},
        "probation_hours": 96,
    }
    for key, value in rollout.items():
        settings[key] = {**settings.get(key, {}), **value} if isinstance(value, dict) else value
    return config_from_dict(
        {
            "data": {"symbols": SYMBOLS},
            "strategy": {
                "universe": {"max_symbols": 4},
                "selection": {"k": k},
                "portfolio": {"rebalance_every": 6},
                "exits": {"atr_stop": 0, "trail_atr": 0, "catastrophic_stop": 0},
            },
            "live": {
                "execution": {"quote_source": "last", "taker_after_s": 0, "stop_orders": False},
                "guards": {
                    "daily_loss_limit": 0,
                    "max_drawdown": 0,
                    "margin_soft": 0,
                    "margin_hard": 0,
                    "no_trade_hours": 0,
                },
            },
            "rollout": settings,
        }
    )


@dataclass(frozen=True)
class BarInfo:
    """The engine's bar context, as far as the rollout hook reads it."""

    bar_ts: int
    now_ms: int


class Spy:
    """Forward every call to ``inner`` and count the methods called."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.calls: Counter[str] = Counter()

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._inner, name)
        if callable(attr):

            def call(*a: Any, **kw: Any) -> Any:
                self.calls[name] += 1
                return attr(*a, **kw)

            return call
        return attr


class Driver:
    """The engine's loop over a ledger, a real (simulated) account and the rollout hook."""

    def __init__(
        self,
        home: Path,
        *,
        real_fees: FeeModel | None = None,
        paper_fees: FeeModel | None = None,
        start: int = T0,
    ) -> None:
        self.home = home
        self.clock = ManualClock(start)
        self.store = sample_store()
        source = StoreMarketData(self.store, self.clock, symbols=SYMBOLS)
        real = PaperExchange(
            source,
            home / "real-account.json",
            self.clock,
            config=PaperConfig(fees=real_fees or FeeModel()),
        )
        self.real = Spy(real)
        self.ledger: Ledger = open_ledger(default_url(home))
        self.channels = [ConsoleChannel(echo=lambda s: None)]
        # the shadow's market data comes from the real venue object, as in the engine
        self.hook = RolloutHook(
            home,
            self.ledger,
            self.real,
            self.clock,
            store=self.store,
            fees=paper_fees,
            channels=self.channels,
        )
        self.shadow, self.pipeline = self.hook.shadow, self.hook.pipeline
        self.executors: dict[str, Executor] = {}
        self.gate: Gate | None = None
        self.bars: list[dict[str, Any]] = []  # what the engine traded at each bar

    def _executor(self, version: str, cfg: Config) -> Executor:
        if version not in self.executors:
            old = next(iter(self.executors.values()), None)
            self.gate = self.gate or Gate(cfg.live.guards)
            ex = cfg.live.execution
            self.executors = {
                version: Executor(
                    self.real,
                    self.gate,
                    ex,
                    ids=IdScheme(version[:16], prefix=ex.client_id_prefix),
                    bar_ms=HOUR,
                    state=None if old is None else old.state,
                )
            }
        return self.executors[version]

    def step(self) -> None:
        """Process the bar that just closed, then run the rollout hook."""
        now = self.clock.advance(HOUR)
        bar = now // HOUR * HOUR - HOUR
        plan = capital_plan(self.ledger)
        assert plan.active is not None
        cfg = config_of(self.ledger, plan.active)
        weights, prices, _ = targets_at(self.store, cfg, bar)
        if plan.small is not None:
            cand, _, _ = targets_at(self.store, config_of(self.ledger, plan.small), bar)
            weights = blend_targets(weights, cand, plan.fraction)
        bal = self.real.balance()
        qty = target_quantities(weights, bal.equity, prices)
        executor = self._executor(plan.active, cfg)
        assert self.gate is not None
        self.gate.update(
            GateInputs(
                now_ms=now,
                equity=bal.equity,
                margin_ratio=margin_ratio(bal),
                positions={p.symbol: p.qty for p in self.real.positions()},
                last_bar_ts=bar,
                bar_ms=HOUR,
            )
        )
        report = executor.cycle(bar_ts=bar, now_ms=now, targets=qty)
        with self.ledger.transaction() as tx:
            tx.record_equity(
                ts=now, equity=bal.equity, wallet=bal.wallet, unrealized=bal.unrealized
            )
            tx.record_targets(
                bar, {s: (w, qty.get(s, 0.0)) for s, w in weights.items()}, plan.active
            )
            for f in report.fills:
                tx.record_fill(
                    symbol=f.symbol,
                    trade_id=f.trade_id,
                    side=f.side.value,
                    qty=f.qty,
                    price=f.price,
                    fee=f.fee,
                    fee_currency=f.fee_currency,
                    ts=f.ts,
                    client_id=f.client_id,
                )
        self.bars.append({"bar": bar, "now": now, "plan": plan, "weights": weights})
        before = Counter(self.real.calls)
        self.hook(BarInfo(bar_ts=bar, now_ms=now))  # what the engine's bar hook passes
        hook_calls = self.real.calls - before
        assert not (set(hook_calls) & (TRADING | ACCOUNT)), hook_calls

    def run(self, bars: int) -> None:
        """Process ``bars`` bars."""
        for _ in range(bars):
            self.step()

    def close(self) -> None:
        """Persist and close everything."""
        self.shadow.close()
        self.ledger.close()
