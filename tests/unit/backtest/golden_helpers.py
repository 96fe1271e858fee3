"""Build tiny hand-made panels and targets for golden backtest cases."""

from __future__ import annotations

from typing import Any

import numpy as np

from xsmom.config import Config, config_from_dict
from xsmom.data import MarketPanel
from xsmom.strategy import Targets
from xsmom.strategy.exits import events_from_dense

HOUR = 3_600_000


def col(values: list[float] | list[list[float]]) -> np.ndarray:
    a = np.array(values, dtype=float)
    return a[:, None] if a.ndim == 1 else a


def make_panel(
    open_: Any,
    high: Any = None,
    low: Any = None,
    close: Any = None,
    volume: Any = None,
    funding: Any = None,
    mark_open: Any = None,
) -> MarketPanel:
    o = col(open_)
    c = col(close) if close is not None else o.copy()
    h = col(high) if high is not None else np.maximum(o, c)
    lo = col(low) if low is not None else np.minimum(o, c)
    v = col(volume) if volume is not None else np.full_like(o, 1e12)
    f = col(funding) if funding is not None else np.zeros_like(o)
    mk = col(mark_open) if mark_open is not None else np.full_like(o, np.nan)
    n, m = o.shape
    return MarketPanel(
        symbols=tuple(f"S{i}/USDT:USDT" for i in range(m)),
        timeframe="1h",
        timestamps=np.arange(n, dtype=np.int64) * HOUR,
        open=o,
        high=h,
        low=lo,
        close=c,
        volume=v,
        mark_open=mk,
        mark_close=np.full_like(o, np.nan),
        funding_rate=f,
        funding_event=f != 0,
    )


def make_targets(
    panel: MarketPanel, weights: Any, exit_price: Any = None, exit_reason: Any = None
) -> Targets:
    w = col(weights)
    ex = col(exit_price) if exit_price is not None else np.full_like(w, np.nan)
    why = col(exit_reason).astype(np.int8) if exit_reason is not None else None
    n, m = w.shape
    return Targets(
        symbols=panel.symbols,
        timestamps=panel.timestamps,
        weights=w,
        exit_events=events_from_dense(ex, why),
        stop_levels=np.empty((0, 3)),
        regime=np.zeros(n, np.int8),
        eligible=np.ones((n, m), bool),
        score=np.zeros_like(w),
    )


def cost_config(**costs: float) -> Config:
    base = {"taker_fee_bps": 10.0, "maker_fee_bps": 2.0, "slippage_bps": 0.0, "impact_coef": 0.0}
    return config_from_dict({"costs": base | costs, "backtest": {"initial_equity": 10_000.0}})
