"""Triple-barrier labels consistent with the strategy's exits and the backtest's costs.

An entry decided at the close of bar ``t`` fills at the open of ``t+1`` (the backtest's rule).
With ``unit = ATR[t]`` (the strategy's ``exits.atr_period``):

* **stop**: entry -/+ ``stop * unit``, or the catastrophic stop when that is tighter
  (``exits.catastrophic_stop``), as the strategy's exits place them;
* **profit-take**: entry +/- ``profit_take * unit`` (0 = none);
* **vertical**: the close of bar ``t + horizon``.

Bars ``t+1 .. t+horizon`` are scanned in order; a bar whose range reaches a barrier exits at
it, or at the open when the bar gapped through. When one bar reaches both, the stop wins (the
strategy's conservative intrabar rule). The net return subtracts fees and slippage on entry
and exit from xsmom.backtest.costs; the label is 1 when it is positive. An event whose horizon
runs past the data, or without an entry price or ATR, has no label.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.backtest.costs import fee_rate, slippage_fraction, volume_known
from xsmom.config.schema import Config
from xsmom.data.panel import MarketPanel
from xsmom.errors import DataError
from xsmom.meta.events import Events
from xsmom.strategy.rolling import average_true_range

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
STOP, VERTICAL, TAKE, INVALID = -1, 0, 1, 2


@dataclass(frozen=True)
class LabelSpec:
    """Barriers in ATR units and the maximum holding time in bars."""

    profit_take: float
    stop: float
    horizon: int
    catastrophic: float = 0.0


def default_spec(cfg: Config) -> LabelSpec:
    """Return barriers from the strategy's exits: stop = take = ``atr_stop`` ATRs, horizon =
    one rebalance period (shorter if ``max_bars_held`` is)."""
    ex = cfg.strategy.exits
    horizon = cfg.strategy.portfolio.rebalance_every
    if ex.max_bars_held > 0:
        horizon = min(horizon, ex.max_bars_held)
    return LabelSpec(
        profit_take=ex.atr_stop,
        stop=ex.atr_stop,
        horizon=max(horizon, 1),
        catastrophic=ex.catastrophic_stop,
    )


@dataclass(frozen=True, eq=False)
class Labels:
    """Per event: outcome, exit bar (label end), gross and net return, which barrier."""

    label: I8  # 1 = the trade beat its costs, 0 = not, -1 = no label
    end: I64  # bar of the exit (the label window is bars bar+1 .. end)
    gross: F64
    net: F64
    barrier: I8  # STOP, VERTICAL, TAKE or INVALID


@njit(cache=True)
def _levels(
    side: float, entry: float, unit: float, pt: float, sl: float, cat: float
) -> tuple[float, float]:  # pragma: no cover - numba
    stop = entry - side * sl * unit if sl > 0.0 else np.nan
    if cat > 0.0:
        cs = entry * (1.0 - side * cat)
        if not np.isfinite(stop) or side * (cs - stop) > 0.0:
            stop = cs
    take = entry + side * pt * unit if pt > 0.0 else np.nan
    return stop, take


@njit(cache=True)
def _scan(
    side: float, stop: float, take: float, o: F64, h: F64, lo: F64, c: F64, t: int, horizon: int
) -> tuple[int, float, int]:  # pragma: no cover - numba
    for b in range(t + 1, t + horizon + 1):
        if not (np.isfinite(o[b]) and np.isfinite(h[b]) and np.isfinite(lo[b])):
            continue
        if np.isfinite(stop) and ((side > 0 and lo[b] <= stop) or (side < 0 and h[b] >= stop)):
            px = min(o[b], stop) if side > 0 else max(o[b], stop)
            return b, px, STOP
        if np.isfinite(take) and ((side > 0 and h[b] >= take) or (side < 0 and lo[b] <= take)):
            px = max(o[b], take) if side > 0 else min(o[b], take)
            return b, px, TAKE
    b = t + horizon
    return b, c[b], VERTICAL if np.isfinite(c[b]) else INVALID


@njit(cache=True)
def barrier_exits(
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    unit: F64,
    bar: I64,
    col: I64,
    side: F64,
    spec: F64,
) -> tuple[I64, F64, F64, I8]:  # pragma: no cover - numba
    """Return (exit bar, entry price, exit price, barrier) per event; ``spec`` = (profit_take,
    stop, horizon, catastrophic)."""
    pt, sl, horizon, cat = spec[0], spec[1], int(spec[2]), spec[3]
    n = open_.shape[0]
    k = bar.shape[0]
    end = np.full(k, -1, dtype=np.int64)
    entry_px = np.full(k, np.nan)
    exit_px = np.full(k, np.nan)
    kind = np.full(k, INVALID, dtype=np.int8)
    for e in range(k):
        t, j, s = bar[e], col[e], side[e]
        if t + horizon >= n:
            continue
        entry = open_[t + 1, j]
        u = unit[t, j]
        if not (np.isfinite(entry) and np.isfinite(u) and u > 0.0):
            continue
        stop, take = _levels(s, entry, u, pt, sl, cat)
        b, px, why = _scan(
            s, stop, take, open_[:, j], high[:, j], low[:, j], close[:, j], t, horizon
        )
        if why == INVALID:
            continue
        end[e], entry_px[e], exit_px[e], kind[e] = b, entry, px, why
    return end, entry_px, exit_px, kind


def _costs(panel: MarketPanel, cfg: Config, ev: Events, end: I64) -> F64:
    c = cfg.costs
    fee = fee_rate(c.taker_fee_bps, c.maker_fee_bps, c.order_type == "limit")
    notional = ev.delta * cfg.backtest.initial_equity
    qv = np.nan_to_num(panel.close * panel.volume, nan=0.0)
    ref_out = np.maximum(end - 1, 0)
    out = np.empty(ev.size)
    for i in range(ev.size):
        refs = (qv[ev.bar[i], ev.col[i]], qv[ref_out[i], ev.col[i]])
        if c.unknown_volume_bps is None and not all(volume_known(v) for v in refs):
            raise DataError(
                f"{panel.symbols[ev.col[i]]}: no reference volume for a labelled trade and "
                "costs.unknown_volume_bps is null (refuse): cannot price the label's costs"
            )
        unknown = c.unknown_volume_bps or 0.0
        s_in, s_out = (
            slippage_fraction(c.slippage_bps, c.impact_coef, notional[i], v, unknown) for v in refs
        )
        out[i] = 2.0 * fee + s_in + s_out
    return out


def triple_barrier(panel: MarketPanel, cfg: Config, ev: Events, spec: LabelSpec) -> Labels:
    """Label ``ev`` on ``panel`` with the barriers of ``spec`` and the costs of ``cfg``."""
    atr = average_true_range(panel.high, panel.low, panel.close, cfg.strategy.exits.atr_period)
    params = np.array([spec.profit_take, spec.stop, float(spec.horizon), spec.catastrophic])
    end, entry, exit_px, kind = barrier_exits(
        panel.open, panel.high, panel.low, panel.close, atr, ev.bar, ev.col, ev.side, params
    )
    ok = kind != INVALID
    with np.errstate(invalid="ignore", divide="ignore"):
        gross = ev.side * (exit_px / entry - 1.0)
    net = gross - _costs(panel, cfg, ev, np.where(ok, end, ev.bar + 1))
    label = np.where(ok, (net > 0).astype(np.int8), np.int8(-1)).astype(np.int8)
    return Labels(
        label=label,
        end=end,
        gross=np.where(ok, gross, np.nan),
        net=np.where(ok, net, np.nan),
        barrier=kind,
    )
