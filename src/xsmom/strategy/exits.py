"""Stops and exits on closed bars, simulated per symbol as a state machine.

For a position entered at the open of bar e (because the target at the close of e-1 asked
for it), with ``R = atr_stop * ATR[e-1]``:

* initial stop: entry -/+ R;
* chandelier trail: at each close, extreme (high for longs, low for shorts) since entry -/+
  ``trail_atr * ATR[t]``; the stop only ratchets toward the price;
* breakeven: once the close is ``breakeven_r * R`` in profit, the stop moves to the entry;
* catastrophic stop: entry x (1 -/+ ``catastrophic_stop``), always in force;
* time exit: after ``max_bars_held`` closed bars, the target goes to 0 (exit at the next open);
* re-entry: after a stop or time exit, ``reenter: next_rebalance`` (default) takes no new
  position in that symbol before the next rebalance close (the first rebalance close at or
  after the exit's bar); ``reenter: after_cooldown`` waits ``cooldown_bars`` closes instead.

Conservative intrabar rule: a bar whose range reaches the stop fills at the stop, or at the
open if the bar opened beyond it (a gap). Stops set at the close of bar t act from bar t+1.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.config.schema import ExitConfig
from xsmom.strategy.rolling import atr_step

F64 = npt.NDArray[np.float64]
I8 = npt.NDArray[np.int8]

NONE, STOP_INITIAL, STOP_TRAIL, STOP_BREAKEVEN, STOP_CATASTROPHIC, TIME_EXIT = range(6)
EXIT_REASONS = ("none", "stop", "trailing_stop", "breakeven_stop", "catastrophic_stop", "time_exit")


# columns of an exit event: the bar, the symbol, the stop fill price (NaN for a time exit,
# which trades at the next open) and the reason code
EV_BAR, EV_SYM, EV_PRICE, EV_REASON = 0, 1, 2, 3
N_EV = 4
# columns of a stop level: the bar, the symbol and the stop in force after that bar's close
SL_BAR, SL_SYM, SL_LEVEL = 0, 1, 2
N_SL = 3


def dense_exits(events: F64, shape: tuple[int, int]) -> tuple[F64, I8]:
    """Return (exit price, exit reason) per bar and symbol from exit ``events``."""
    price = np.full(shape, np.nan)
    reason = np.zeros(shape, dtype=np.int8)
    t = events[:, EV_BAR].astype(np.int64)
    j = events[:, EV_SYM].astype(np.int64)
    price[t, j] = events[:, EV_PRICE]
    reason[t, j] = events[:, EV_REASON].astype(np.int8)
    return price, reason


def events_from_dense(exit_price: F64, exit_reason: I8 | None = None) -> F64:
    """Return exit events from dense arrays: a finite price is a stop fill (reason from
    ``exit_reason``, else ``STOP_INITIAL``); a ``TIME_EXIT`` reason without price a time exit."""
    why = exit_reason if exit_reason is not None else np.zeros(exit_price.shape, np.int8)
    fill = np.isfinite(exit_price)
    t, j = np.nonzero(fill | (why == TIME_EXIT))
    out = np.empty((t.size, N_EV))
    out[:, EV_BAR], out[:, EV_SYM] = t, j
    out[:, EV_PRICE] = exit_price[t, j]
    out[:, EV_REASON] = np.where(fill[t, j] & (why[t, j] == NONE), STOP_INITIAL, why[t, j])
    return out


def dense_stops(levels: F64, shape: tuple[int, int]) -> F64:
    """Return the stop level per bar and symbol (NaN: none) from stop ``levels`` rows."""
    out = np.full(shape, np.nan)
    out[levels[:, SL_BAR].astype(np.int64), levels[:, SL_SYM].astype(np.int64)] = levels[
        :, SL_LEVEL
    ]
    return out


def stop_rows(events: F64, n_bars: int) -> npt.NDArray[np.bool_]:
    """Return, per bar, whether a stop filled inside it."""
    flags = np.zeros(n_bars, dtype=np.bool_)
    flags[events[np.isfinite(events[:, EV_PRICE]), EV_BAR].astype(np.int64)] = True
    return flags


@dataclass(frozen=True, eq=False)
class ExitResult:
    """Targets after exits, where and why positions were closed (``events``, in bar
    order) and the stop levels of held positions (``stop_levels``, columns ``SL_*``, one row
    per held symbol and bar); the dense views are built on first use."""

    weights: F64
    stop_levels: F64
    events: F64

    @cached_property
    def stop_price(self) -> F64:
        """Return the stop level in force after each bar's close per symbol (NaN: none)."""
        return dense_stops(self.stop_levels, self.weights.shape)

    @cached_property
    def _dense(self) -> tuple[F64, I8]:
        return dense_exits(self.events, self.weights.shape)

    @property
    def exit_price(self) -> F64:
        """Return the stop fill price per bar and symbol (NaN: none)."""
        return self._dense[0]

    @property
    def exit_reason(self) -> I8:
        """Return the exit reason code per bar and symbol (0: none)."""
        return self._dense[1]

    @cached_property
    def exit_rows(self) -> npt.NDArray[np.bool_]:
        """Return, per bar, whether a stop filled inside it."""
        return stop_rows(self.events, self.weights.shape[0])


@njit(cache=True, inline="always")
def _stop_hit(side: int, o: float, h: float, lo: float, level: float) -> float:  # pragma: no cover
    if side > 0 and lo <= level:
        return min(o, level)
    if side < 0 and h >= level:
        return max(o, level)
    return np.nan


@njit(cache=True, inline="always")
def _effective(
    side: int, stop: float, kind: int, entry: float, cat: float
) -> tuple[float, int]:  # pragma: no cover
    if cat > 0.0:
        cs = entry * (1.0 - side * cat)
        if not np.isfinite(stop) or side * (cs - stop) > 0.0:
            return cs, STOP_CATASTROPHIC
    return stop, kind


@njit(cache=True, inline="always")
def _blocked_until(
    t: int, cur: int, rows: npt.NDArray[np.int64], n: int, cooldown: int, until_rebalance: bool
) -> int:  # pragma: no cover
    # first bar whose target may open a position again after an exit inside bar t
    if not until_rebalance:
        return t + cooldown
    if cur >= 0 and rows[cur] == t:
        return t  # the rebalance at this close comes after the exit: a fresh decision
    return int(rows[cur + 1]) if cur + 1 < rows.shape[0] else n


@njit(cache=True)
def simulate_exits(  # noqa: C901 - one state machine per symbol-bar, kept in one loop for speed
    w_rows: F64,
    rows: npt.NDArray[np.int64],
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    atr: F64,
    period: int,
    params: F64,
    w: F64,
    capacity: int,
) -> tuple[F64, F64]:  # pragma: no cover - numba
    """Run the exit rules; ``params`` = (atr_stop, trail_atr, breakeven_r, catastrophic,
    max_bars_held, cooldown_bars, reenter: 1 next rebalance / 0 after the cooldown). The
    targets are ``w_rows[i]`` from bar ``rows[i]`` on (zero before the first row), held
    between rows; ``rows`` are the rebalance closes. ``atr`` holds the ATR per bar, or has no
    rows: then the ATR over ``period`` bars is computed in this pass (the same values as
    ``average_true_range``, without a (bars, symbols) array to write and read back). Write the
    weights into ``w`` (allocated by the caller with numpy) and return the exit events
    (columns ``EV_*``) and the stop levels of the held positions (columns ``SL_*``: a sparse
    record, ``capacity`` rows to start with; a dense (bars, symbols) array of mostly NaN cost a
    pass over memory)."""
    atr_stop, trail, be_r, cat = params[0], params[1], params[2], params[3]
    max_bars, cooldown = int(params[4]), int(params[5])
    until_rebalance = params[6] > 0.0
    n, m = open_.shape
    cur = -1  # the row of w_rows in force
    side = np.zeros(m, dtype=np.int64)
    new = np.zeros(m, dtype=np.bool_)
    entry = np.full(m, np.nan)
    r_unit = np.full(m, np.nan)
    stop = np.full(m, np.nan)
    kind = np.zeros(m, dtype=np.int64)
    extreme = np.full(m, np.nan)
    held = np.zeros(m, dtype=np.int64)
    cool_until = np.full(m, -1, dtype=np.int64)
    flat = np.zeros(m)
    ev = np.empty((max(64, 2 * m), N_EV))
    k_ev = 0
    sl = np.empty((max(64, capacity), N_SL))
    k_sl = 0
    fused = atr.shape[0] == 0
    ring = np.full((period if fused else 1, m), np.nan)  # the fused ATR's state
    a_sum = np.zeros(m)
    a_cnt = np.zeros(m, dtype=np.int64)
    none = np.full(m, np.nan)  # the closes before bar 0
    a_prev, a_now = np.full(m, np.nan), np.full(m, np.nan)  # the ATR at bars t - 1 and t
    active = np.empty(m, dtype=np.int64)  # the symbols not flat in this segment, in order
    n_active = 0
    for t in range(n):
        if fused:
            for j in range(m):
                a_prev[j] = a_now[j]
            prev = close[t - 1] if t > 0 else none
            atr_step(high[t], low[t], prev, ring[t % period], a_sum, a_cnt, period, a_now)
        if cur + 1 < rows.shape[0] and rows[cur + 1] <= t:
            while cur + 1 < rows.shape[0] and rows[cur + 1] <= t:
                cur += 1
            # a symbol flat and without target stays flat until the next row: skip it
            n_active = 0
            for j in range(m):
                if w_rows[cur, j] != 0.0 or side[j] != 0:
                    active[n_active] = j
                    n_active += 1
        if not fused:  # the given ATR, read for the symbols visited below only
            for i in range(n_active):
                j = active[i]
                a_prev[j] = atr[t - 1, j] if t > 0 else np.nan
                a_now[j] = atr[t, j]
        if k_ev + m > ev.shape[0]:  # at most one event per symbol and bar
            bigger = np.empty((2 * ev.shape[0], N_EV))
            bigger[:k_ev] = ev[:k_ev]
            ev = bigger
        if k_sl + m > sl.shape[0]:  # at most one level per symbol and bar
            more = np.empty((2 * sl.shape[0], N_SL))
            more[:k_sl] = sl[:k_sl]
            sl = more
        w_in = w_rows[cur] if cur >= 0 else flat  # row views: no per-element branch
        w_out = w[t]
        for j in range(m):
            w_out[j] = w_in[j]
        for i in range(n_active):
            j = active[i]
            wt = w_in[j]
            s = side[j]
            if s == 0 and wt == 0.0:
                continue  # flat and staying flat: nothing to do (most symbol-bars)
            o = open_[t, j]
            if s != 0 and np.isfinite(o):
                if new[j]:
                    a = a_prev[j]
                    entry[j] = o
                    has_atr = atr_stop > 0.0 and np.isfinite(a)
                    r_unit[j] = atr_stop * a if has_atr else np.nan
                    stop[j] = o - s * atr_stop * a if has_atr else np.nan
                    kind[j] = STOP_INITIAL
                    extreme[j] = o
                    held[j] = 0
                    new[j] = False
                level, k = _effective(s, stop[j], kind[j], entry[j], cat)
                px = np.nan
                if np.isfinite(level):
                    px = _stop_hit(s, o, high[t, j], low[t, j], level)
                if np.isfinite(px):
                    ev[k_ev, EV_BAR], ev[k_ev, EV_SYM] = t, j
                    ev[k_ev, EV_PRICE], ev[k_ev, EV_REASON] = px, k
                    k_ev += 1
                    side[j] = 0
                    cool_until[j] = _blocked_until(t, cur, rows, n, cooldown, until_rebalance)
                else:
                    held[j] += 1
                    if s > 0:
                        extreme[j] = max(extreme[j], high[t, j])
                    else:
                        extreme[j] = min(extreme[j], low[t, j])
                    if trail > 0.0 and np.isfinite(a_now[j]):
                        ts = extreme[j] - s * trail * a_now[j]
                        if not np.isfinite(stop[j]) or s * (ts - stop[j]) > 0.0:
                            stop[j] = ts
                            kind[j] = STOP_TRAIL
                    if (
                        be_r > 0.0
                        and np.isfinite(r_unit[j])
                        and s * (close[t, j] - entry[j]) >= be_r * r_unit[j]
                        and (not np.isfinite(stop[j]) or s * (entry[j] - stop[j]) > 0.0)
                    ):
                        stop[j] = entry[j]
                        kind[j] = STOP_BREAKEVEN
                    if max_bars > 0 and held[j] >= max_bars:
                        w_out[j] = 0.0
                        ev[k_ev, EV_BAR], ev[k_ev, EV_SYM] = t, j
                        ev[k_ev, EV_PRICE], ev[k_ev, EV_REASON] = np.nan, TIME_EXIT
                        k_ev += 1
                        cool_until[j] = _blocked_until(t, cur, rows, n, cooldown, until_rebalance)
            if t < cool_until[j]:
                w_out[j] = 0.0
            target = 1 if w_out[j] > 0.0 else (-1 if w_out[j] < 0.0 else 0)
            if target != side[j]:
                side[j] = target
                new[j] = target != 0
            if side[j] != 0 and not new[j]:
                sl[k_sl, SL_BAR], sl[k_sl, SL_SYM] = t, j
                sl[k_sl, SL_LEVEL] = _effective(side[j], stop[j], kind[j], entry[j], cat)[0]
                k_sl += 1
    return ev[:k_ev], sl[:k_sl]


def apply_exits(
    w_in: F64, open_: F64, high: F64, low: F64, close: F64, atr: F64, cfg: ExitConfig
) -> ExitResult:
    """Apply the configured exit rules to target weights (see the module docstring); every
    bar counts as a rebalance close, so ``reenter: next_rebalance`` waits for no bar here."""
    rows = np.arange(w_in.shape[0], dtype=np.int64)
    return apply_exits_rows(w_in, rows, open_, high, low, close, atr, cfg)


def apply_exits_rows(
    w_rows: F64,
    rows: npt.NDArray[np.int64],
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    atr: F64 | None,
    cfg: ExitConfig,
) -> ExitResult:
    """Apply the exit rules to targets set at the bars ``rows`` and held in between; ``atr``
    None: the ATR over ``cfg.atr_period`` bars, computed in the same pass."""
    params = np.array(
        [
            cfg.atr_stop,
            cfg.trail_atr,
            cfg.breakeven_r,
            cfg.catastrophic_stop,
            float(cfg.max_bars_held),
            float(cfg.cooldown_bars),
            1.0 if cfg.reenter == "next_rebalance" else 0.0,
        ]
    )
    shape = open_.shape  # outputs allocated by numpy (huge pages; see xsmom.strategy.rolling)
    w = np.empty(shape)
    a = np.empty((0, 0)) if atr is None else np.ascontiguousarray(atr, dtype=np.float64)
    period = cfg.atr_period
    # at most one stop level per bar with a nonzero target: no regrowth
    held = np.count_nonzero(w_rows, axis=1) @ np.diff(rows, append=open_.shape[0])
    events, levels = simulate_exits(
        w_rows, rows, open_, high, low, close, a, period, params, w, int(held)
    )
    return ExitResult(weights=w, stop_levels=levels, events=events)
