"""Peer check: with fees on and slippage and funding off, the equity curve equals vectorbt's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import vectorbt as vbt

from xsmom.backtest import run_backtest
from xsmom.backtest.engine import trade_weights
from xsmom.config import config_from_dict
from xsmom.data import ParquetStore, load_panel


def test_equity_matches_vectorbt_from_orders(shared_store: Path) -> None:
    start = int(pd.Timestamp("2025-03-01", tz="UTC").timestamp() * 1000)
    end = int(pd.Timestamp("2026-03-01", tz="UTC").timestamp() * 1000)
    panel = load_panel(ParquetStore(shared_store), "1h", start_ms=start, end_ms=end)
    assert panel.n_symbols == 10 and panel.n_bars > 8000
    cfg = config_from_dict(
        {
            "strategy": {
                "exits": {"atr_stop": 0, "trail_atr": 0, "catastrophic_stop": 0},
                "portfolio": {"gross_leverage": 1.0, "rebalance_every": 4},
            },
            "costs": {"taker_fee_bps": 5.0, "slippage_bps": 0.0, "impact_coef": 0.0},
            "backtest": {"funding": False},
        }
    )
    ours = run_backtest(panel, cfg)
    assert ours.metrics["fees"] > 100  # the comparison is about a book that really trades
    w = trade_weights(ours.weights, 0, panel.n_bars)
    prev = np.vstack([np.zeros((1, w.shape[1])), w[:-1]])
    size = np.where(w != prev, w, np.nan)  # orders only where the target changes, as ours
    pf = vbt.Portfolio.from_orders(
        close=pd.DataFrame(panel.close).ffill(),
        size=pd.DataFrame(size),
        size_type="targetpercent",
        price=pd.DataFrame(panel.open),
        fees=5e-4,
        init_cash=10_000.0,
        cash_sharing=True,
        group_by=True,
        call_seq="auto",
        direction="both",
        freq="1h",
    )
    theirs = pf.value().to_numpy()
    rel = np.abs(theirs - ours.equity) / np.abs(ours.equity)
    assert rel.max() < 1e-6, f"max relative difference {rel.max():.3g} at bar {rel.argmax()}"
