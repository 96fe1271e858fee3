"""The fast exits pass (ATR computed inside it, only the symbols with a target or position
visited, stop levels recorded sparsely) equals a plain-Python replay of the exit rules, bit for
bit, on real data with a gap, a late listing and a symbol that stops trading."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from xsmom.config.schema import ExitConfig
from xsmom.data import MarketPanel, ParquetStore, load_panel
from xsmom.strategy.exits import (
    EV_BAR,
    SL_BAR,
    STOP_BREAKEVEN,
    STOP_CATASTROPHIC,
    STOP_INITIAL,
    STOP_TRAIL,
    TIME_EXIT,
    apply_exits_rows,
)
from xsmom.strategy.rolling import average_true_range
from xsmom.strategy.weights import rebalance_rows

F64 = npt.NDArray[np.float64]


def reference_atr(high: F64, low: F64, close: F64, period: int) -> F64:
    """Return the ATR as a running sum per symbol: add the new true range, drop the one
    ``period`` bars back (NaN ranges skipped), mean once the window holds ``period``."""
    n, m = close.shape
    out = np.full((n, m), np.nan)
    for j in range(m):
        s, c = 0.0, 0
        tr: list[float] = []
        for t in range(n):
            h, lo = float(high[t, j]), float(low[t, j])
            r = h - lo
            if t > 0 and not math.isnan(close[t - 1, j]):
                pc = float(close[t - 1, j])
                r = max(r, abs(h - pc), abs(lo - pc)) if not math.isnan(r) else r
            tr.append(r)
            if not math.isnan(r):
                s += r
                c += 1
            if t >= period and not math.isnan(tr[t - period]):
                s -= tr[t - period]
                c -= 1
            if c >= period:
                out[t, j] = s * (1.0 / period)
    return out


def _effective(side: int, stop: float, kind: int, entry: float, cat: float) -> tuple[float, int]:
    if cat > 0.0:
        cs = entry * (1.0 - side * cat)
        if math.isnan(stop) or side * (cs - stop) > 0.0:
            return cs, STOP_CATASTROPHIC
    return stop, kind


class _Pos:
    """One symbol's exit state."""

    def __init__(self) -> None:
        self.side, self.new, self.cool_until = 0, False, -1
        self.entry = self.r_unit = self.stop = self.extreme = math.nan
        self.kind = self.held = 0


def _blocked(t: int, cur: int, rows: list[int], n: int, cfg: ExitConfig) -> int:
    if cfg.reenter != "next_rebalance":
        return t + cfg.cooldown_bars
    if cur >= 0 and rows[cur] == t:
        return t
    return rows[cur + 1] if cur + 1 < len(rows) else n


def reference_exits(
    w_rows: F64, rows: list[int], p: MarketPanel, atr: F64, cfg: ExitConfig
) -> tuple[F64, F64, list[tuple[int, int, float, int]]]:
    """Replay the exit rules symbol by symbol, bar by bar; return (weights, dense stop
    levels, events (bar, symbol, fill price or NaN, reason) in bar and symbol order)."""
    n, m = p.close.shape
    w = np.zeros((n, m))
    stops = np.full((n, m), np.nan)
    events: list[tuple[int, int, float, int]] = []
    pos = [_Pos() for _ in range(m)]
    cur = -1
    for t in range(n):
        while cur + 1 < len(rows) and rows[cur + 1] <= t:
            cur += 1
        for j, q in enumerate(pos):
            w[t, j] = float(w_rows[cur, j]) if cur >= 0 else 0.0
            if q.side == 0 and w[t, j] == 0.0:
                continue
            o = float(p.open[t, j])
            if q.side != 0 and not math.isnan(o):
                s = q.side
                if q.new:
                    a = float(atr[t - 1, j]) if t > 0 else math.nan
                    has = cfg.atr_stop > 0 and not math.isnan(a)
                    q.entry, q.extreme, q.kind, q.held, q.new = o, o, STOP_INITIAL, 0, False
                    q.r_unit = cfg.atr_stop * a if has else math.nan
                    q.stop = o - s * cfg.atr_stop * a if has else math.nan
                level, kind = _effective(s, q.stop, q.kind, q.entry, cfg.catastrophic_stop)
                hit = math.nan
                if s > 0 and p.low[t, j] <= level:
                    hit = min(o, level)
                elif s < 0 and p.high[t, j] >= level:
                    hit = max(o, level)
                if not math.isnan(hit):
                    events.append((t, j, hit, kind))
                    q.side, q.cool_until = 0, _blocked(t, cur, rows, n, cfg)
                else:
                    q.held += 1
                    ext = p.high[t, j] if s > 0 else p.low[t, j]
                    q.extreme = max(q.extreme, ext) if s > 0 else min(q.extreme, ext)
                    if cfg.trail_atr > 0 and not math.isnan(atr[t, j]):
                        ts = q.extreme - s * cfg.trail_atr * atr[t, j]
                        if math.isnan(q.stop) or s * (ts - q.stop) > 0.0:
                            q.stop, q.kind = ts, STOP_TRAIL
                    if (
                        cfg.breakeven_r > 0
                        and not math.isnan(q.r_unit)
                        and s * (p.close[t, j] - q.entry) >= cfg.breakeven_r * q.r_unit
                        and (math.isnan(q.stop) or s * (q.entry - q.stop) > 0.0)
                    ):
                        q.stop, q.kind = q.entry, STOP_BREAKEVEN
                    if 0 < cfg.max_bars_held <= q.held:
                        w[t, j] = 0.0
                        events.append((t, j, math.nan, TIME_EXIT))
                        q.cool_until = _blocked(t, cur, rows, n, cfg)
            if t < q.cool_until:
                w[t, j] = 0.0
            target = int(np.sign(w[t, j]))
            if target != q.side:
                q.side, q.new = target, target != 0
            if q.side != 0 and not q.new:
                stops[t, j] = _effective(q.side, q.stop, q.kind, q.entry, cfg.catastrophic_stop)[0]
    return w, stops, events


@pytest.fixture(scope="module")
def real_panel(shared_store: Path) -> MarketPanel:
    """Return 3,000 real hourly bars of 10 symbols with a gap, a late listing and a symbol
    whose data ends early."""
    p = load_panel(ParquetStore(shared_store)).slice(2000, 5000)
    for a in (p.open, p.high, p.low, p.close):
        a[700:760, 1] = np.nan  # a gap
        a[:1200, 2] = np.nan  # listed late
        a[2500:, 3] = np.nan  # stops trading
    return p


def test_atr_equals_a_running_sum_replay(real_panel: MarketPanel) -> None:
    p = real_panel
    for period in (1, 24, 168):
        got = average_true_range(p.high, p.low, p.close, period)
        np.testing.assert_array_equal(got, reference_atr(p.high, p.low, p.close, period))
    assert np.isnan(got[:167]).all() and np.isnan(got[:1367, 2]).all()


EXITS = [
    {"atr_period": 24, "atr_stop": 1.0, "trail_atr": 2.0, "catastrophic_stop": 0.03},
    {"atr_period": 48, "atr_stop": 1.5, "breakeven_r": 0.5, "max_bars_held": 30},
    {"atr_period": 12, "atr_stop": 2.0, "reenter": "after_cooldown", "cooldown_bars": 5},
    {"atr_period": 168, "atr_stop": 12.0, "trail_atr": 15.0, "catastrophic_stop": 0.2},
]


@pytest.mark.parametrize("exits", EXITS, ids=str)
def test_fast_exits_equal_the_plain_replay(
    real_panel: MarketPanel, exits: dict[str, object]
) -> None:
    p = real_panel
    cfg = ExitConfig.model_validate(exits)
    rows = rebalance_rows(p.timestamps, p.bar_ms, 24)
    rng = np.random.default_rng(5)
    w_rows = np.where(rng.random((rows.size, p.n_symbols)) < 0.4, rng.normal(0, 0.2), 0.0)
    w_rows[:, 2][~np.isfinite(p.close[rows, 2])] = 0.0  # no target before the listing
    atr = reference_atr(p.high, p.low, p.close, cfg.atr_period)
    w, stops, events = reference_exits(w_rows, rows.tolist(), p, atr, cfg)
    fast = apply_exits_rows(w_rows, rows, p.open, p.high, p.low, p.close, None, cfg)
    given = apply_exits_rows(w_rows, rows, p.open, p.high, p.low, p.close, atr, cfg)
    assert len(events) > 5 and np.isfinite(stops).sum() > 1000
    for r in (fast, given):
        np.testing.assert_array_equal(r.weights, w)
        np.testing.assert_array_equal(r.stop_price, stops)
        np.testing.assert_array_equal(r.events, np.array(events, dtype=float).reshape(-1, 4))
        assert (np.diff(r.stop_levels[:, SL_BAR]) >= 0).all()
        assert (np.diff(r.events[:, EV_BAR]) >= 0).all()


def test_no_target_no_stop_levels(real_panel: MarketPanel) -> None:
    p = real_panel
    rows = rebalance_rows(p.timestamps, p.bar_ms, 24)
    r = apply_exits_rows(
        np.zeros((rows.size, p.n_symbols)), rows, p.open, p.high, p.low, p.close, None, ExitConfig()
    )
    assert r.stop_levels.shape == (0, 3) and r.events.shape == (0, 4)
    assert not r.weights.any() and np.isnan(r.stop_price).all()
