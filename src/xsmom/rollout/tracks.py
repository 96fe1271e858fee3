"""Live tracks from the ledger, and the backtest of the same window on the home's store.

A *track* is what a version did live: its equity points and fills. Paper and small stages
use the version's own paper account (``rollout_equity`` / ``rollout_fills``, written by the
shadow runner): a like-for-like book of the candidate alone. The full stage uses the real
account (``equity_snapshots`` / ``fills``). :func:`pair` cuts the track into whole days from
its first bar close and re-runs ``xsmom.backtest`` over exactly those bars with the version's
config, starting from the track's first equity.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from xsmom.backtest import kernel as k
from xsmom.backtest.engine import run_backtest
from xsmom.config import Config
from xsmom.data import load_panel
from xsmom.data.panel import MarketPanel
from xsmom.data.store import ParquetStore
from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import DataError
from xsmom.ledger import LedgerReads
from xsmom.rollout.evaluator import Paired

DAY_MS = 86_400_000


@dataclass(frozen=True, kw_only=True)
class TrackFill:
    """One execution of a track (signed quantity, positive for a buy)."""

    ts: int
    symbol: str
    qty: float
    price: float
    fee: float


@dataclass(frozen=True, kw_only=True)
class Track:
    """Equity points ``(ts, equity)`` and fills of one version at one stage, by time."""

    equity: tuple[tuple[int, float], ...]
    fills: tuple[TrackFill, ...]
    source: str  # paper or account


def paper_track(reads: LedgerReads, version: str, since_ms: int) -> Track:
    """Return the version's paper account since ``since_ms`` (paper and small stages)."""
    eq = tuple((e.ts, e.equity) for e in reads.rollout_equity(version, start_ms=since_ms))
    fills = tuple(
        TrackFill(ts=f.ts, symbol=f.symbol, qty=f.signed_qty, price=f.price, fee=f.fee)
        for f in reads.rollout_fills(version, start_ms=since_ms)
    )
    return Track(equity=eq, fills=fills, source="paper")


def account_track(reads: LedgerReads, since_ms: int) -> Track:
    """Return the real account since ``since_ms`` (the full stage)."""
    eq = tuple((e.ts, e.equity) for e in reads.equity_series(start_ms=since_ms))
    fills = tuple(
        TrackFill(ts=f.ts, symbol=f.symbol, qty=f.signed_qty, price=f.price, fee=f.fee)
        for f in reads.fills(since_ms=since_ms)
        if not f.liquidation
    )
    return Track(equity=eq, fills=fills, source="account")


def day_bounds(track: Track, bar_ms: int) -> list[int]:
    """Return the day ends ``t0, t0 + 1 day, ...`` covered by the track (t0: first bar close)."""
    if not track.equity:
        return []
    t0 = track.equity[0][0] // bar_ms * bar_ms
    last = track.equity[-1][0] // bar_ms * bar_ms
    return list(range(t0, last + 1, DAY_MS))


def live_equity_at(track: Track, bounds: Sequence[int], bar_ms: int) -> np.ndarray:
    """Return the track's equity at each bound (its last point at or before that bar close)."""
    ts = np.array([t // bar_ms * bar_ms for t, _ in track.equity], dtype=np.int64)
    eq = np.array([e for _, e in track.equity])
    pos = np.searchsorted(ts, np.asarray(bounds, dtype=np.int64), side="right") - 1
    if (pos < 0).any():
        raise DataError("track has no equity point at its first day bound")
    return np.asarray(eq[pos], dtype=np.float64)


def live_daily_costs(
    track: Track, bounds: Sequence[int], panel: MarketPanel, e0: float
) -> np.ndarray:
    """Return fees plus slippage against the bar's open, per day, as a fraction of ``e0``.

    Slippage of a fill is ``(price - open) x signed qty`` where ``open`` is the open of the
    bar the fill happened in: what the backtest charges over its fill at that open.
    """
    bar_ms = timeframe_ms(panel.timeframe)
    col = {s: i for i, s in enumerate(panel.symbols)}
    out = np.zeros(max(len(bounds) - 1, 0))
    for f in track.fills:
        day = int(np.searchsorted(bounds, f.ts, side="right")) - 1
        if not 0 <= day < out.size:
            continue
        row = int((f.ts // bar_ms * bar_ms - int(panel.timestamps[0])) // bar_ms)
        ref = float(panel.open[row, col[f.symbol]]) if f.symbol in col else float("nan")
        slip = (f.price - ref) * f.qty if 0 <= row < panel.n_bars and np.isfinite(ref) else 0.0
        out[day] += f.fee + slip
    return out / e0


def backtest_days(
    store: ParquetStore, config: Config, bounds: Sequence[int], e0: float
) -> tuple[np.ndarray, np.ndarray, MarketPanel]:
    """Backtest the bars between the first and last bound; return daily equity, daily costs.

    Equity is taken at each bound (the close of the bar ending there), ``e0`` at the first;
    costs (fees + slippage) per day as a fraction of ``e0``. DataError if the store does not
    cover the window.
    """
    tf = config.data.timeframe
    bar_ms = timeframe_ms(tf)
    symbols = list(config.data.symbols) or None
    panel = load_panel(store, tf, symbols, end_ms=bounds[-1])
    ts = panel.timestamps
    first = int(np.searchsorted(ts, bounds[0]))
    stop = int(np.searchsorted(ts, bounds[-1]))
    if (
        first >= ts.size
        or ts[first] != bounds[0]
        or stop - first != (bounds[-1] - bounds[0]) // bar_ms
    ):
        raise DataError(
            f"store {store.root} does not hold every {tf} bar of the live window "
            f"({bounds[0]} .. {bounds[-1]}): run the engine's data refresh first"
        )
    if first < 1:
        raise DataError(f"store {store.root} has no bar before the live window to warm up on")
    cfg = config.model_copy(
        update={"backtest": config.backtest.model_copy(update={"initial_equity": e0})}
    )
    res = run_backtest(panel, cfg, start=first, stop=stop)
    per_day = DAY_MS // bar_ms
    equity = np.concatenate(([e0], res.equity[per_day - 1 :: per_day]))
    bar_costs = (res.bars[:, k.B_FEES] + res.bars[:, k.B_SLIP]) / e0
    days = len(bounds) - 1
    costs = bar_costs[: days * per_day].reshape(days, per_day).sum(axis=1)
    return equity[: len(bounds)], costs, panel


def pair(track: Track, store: ParquetStore, config: Config) -> Paired | None:
    """Return the paired daily series of ``track`` and its backtest (None: under 2 days)."""
    bar_ms = timeframe_ms(config.data.timeframe)
    if DAY_MS % bar_ms:
        raise DataError(f"the evaluator needs bars that divide a day, not {config.data.timeframe}")
    bounds = day_bounds(track, bar_ms)
    if len(bounds) < 3:
        return None
    live_eq = live_equity_at(track, bounds, bar_ms)
    e0 = float(live_eq[0])
    bt_eq, bt_costs, panel = backtest_days(store, config, bounds, e0)
    return Paired(
        live_returns=live_eq[1:] / live_eq[:-1] - 1.0,
        bt_returns=bt_eq[1:] / bt_eq[:-1] - 1.0,
        live_costs=live_daily_costs(track, bounds, panel, e0),
        bt_costs=bt_costs,
    )
