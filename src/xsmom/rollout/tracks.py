"""Live tracks from the ledger, and the backtest of the same window on the home's store.

A *track* is what a version did live: its equity points and fills. Paper and small stages
use the version's own paper account (``rollout_equity`` / ``rollout_fills``, written by the
shadow runner): a like-for-like book of the candidate alone. The full stage uses the real
account (``equity_snapshots`` / ``fills``). :func:`pair` cuts the track into whole days from
its first bar close and re-runs ``xsmom.backtest`` over exactly those bars with the version's
config, starting from the track's first equity.

At the small stage the real account's fills are the blend of two versions and cannot be told
apart, but their cost per unit traded can: :func:`pair` given the ``real`` track charges the
paper track the difference between the real account's and the paper account's costs per unit
of notional, times the paper account's own notional, each day (``Paired.note`` says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

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
    costs, _ = _daily_costs(track, bounds, panel)
    return costs / e0


def _daily_costs(
    track: Track, bounds: Sequence[int], panel: MarketPanel
) -> tuple[np.ndarray, np.ndarray]:
    """Return per day the fills' costs (fees + slippage against the open) and notional."""
    bar_ms = timeframe_ms(panel.timeframe)
    col = {s: i for i, s in enumerate(panel.symbols)}
    costs = np.zeros(max(len(bounds) - 1, 0))
    notional = np.zeros_like(costs)
    for f in track.fills:
        day = int(np.searchsorted(bounds, f.ts, side="right")) - 1
        if not 0 <= day < costs.size:
            continue
        row = int((f.ts // bar_ms * bar_ms - int(panel.timestamps[0])) // bar_ms)
        ref = float(panel.open[row, col[f.symbol]]) if f.symbol in col else float("nan")
        slip = (f.price - ref) * f.qty if 0 <= row < panel.n_bars and np.isfinite(ref) else 0.0
        costs[day] += f.fee + slip
        notional[day] += abs(f.qty * f.price)
    return costs, notional


def execution_gap(
    paper: Track, real: Track, bounds: Sequence[int], panel: MarketPanel, e0: float
) -> tuple[np.ndarray, str]:
    """Return the extra daily cost (fraction of ``e0``) of real execution for the paper track.

    ``(real cost per notional - paper cost per notional) x paper notional`` per day, over the
    days both traded in; zeros (and a note saying so) when either has no fills there.
    """
    p_cost, p_notional = _daily_costs(paper, bounds, panel)
    r_cost, r_notional = _daily_costs(real, bounds, panel)
    zero = np.zeros_like(p_cost)
    if r_notional.sum() <= 0 or p_notional.sum() <= 0:
        return zero, "no real fills at small yet: real execution not compared"
    real_rate = float(r_cost.sum() / r_notional.sum())
    paper_rate = float(p_cost.sum() / p_notional.sum())
    note = (
        f"real fills at small cost {real_rate * 1e4:.3g} bps of notional, the paper account "
        f"{paper_rate * 1e4:.3g} bps: the difference is charged to the paper track"
    )
    return (real_rate - paper_rate) * p_notional / e0, note


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


def pair(
    track: Track, store: ParquetStore, config: Config, *, real: Track | None = None
) -> Paired | None:
    """Return the paired daily series of ``track`` and its backtest (None: under 2 days).

    With ``real`` (the real account at the small stage), the live series are charged the
    real account's extra execution cost (:func:`execution_gap`).
    """
    bar_ms = timeframe_ms(config.data.timeframe)
    if DAY_MS % bar_ms:
        raise DataError(f"the evaluator needs bars that divide a day, not {config.data.timeframe}")
    bounds = day_bounds(track, bar_ms)
    if len(bounds) < 3:
        return None
    live_eq = live_equity_at(track, bounds, bar_ms)
    e0 = float(live_eq[0])
    bt_eq, bt_costs, panel = backtest_days(store, config, bounds, e0)
    data = Paired(
        live_returns=live_eq[1:] / live_eq[:-1] - 1.0,
        bt_returns=bt_eq[1:] / bt_eq[:-1] - 1.0,
        live_costs=live_daily_costs(track, bounds, panel, e0),
        bt_costs=bt_costs,
    )
    if real is None:
        return data
    extra, note = execution_gap(track, real, bounds, panel, e0)
    # a cost paid at day d lowers that day's return by the same fraction of e0 (approx.)
    return replace(
        data,
        live_returns=data.live_returns - extra,
        live_costs=data.live_costs + extra,
        note=note,
    )
