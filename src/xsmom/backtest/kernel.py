"""The backtest kernel: one numba loop over bars and symbols.

Per bar t, in this order:

1. funding: events inside bar t are charged on the position held into the bar (before the
   rebalance), at the bar's mark open: ``qty * mark * rate`` (longs pay when rate > 0);
2. rebalance at the open to the targets decided at the close of t-1, for each symbol
   whose target changed (or whose position a stop closed): target quantity = weight x equity
   at the open / open, rounded down to the lot (between target changes, positions drift with
   prices); orders below the minimum notional skipped (closing a position always trades);
   fills at the open plus slippage (fixed bps + impact x participation of the reference quote
   volume: the last closed bar with volume before the fill, from before the window on its
   first bar; ``xsmom.backtest.costs``), fee on the fill;
3. intrabar exits: a stop from the strategy closes the position at its stop price, as a taker
   (its participation counts the notional this bar's rebalance already took, as on a venue);
4. liquidation: if equity at the bar's worst prices (low for longs, high for shorts) falls to
   the maintenance margin, every position is closed there with the liquidation fee, and the
   account stops trading;
5. close: positions are marked to the close; a symbol whose data ends before the window does
   is settled at its last close.

Accounting: cash moves by ``-dq * ref`` per trade plus fees, slippage (``|dq| * ref * slip``)
and funding; price PnL is ``qty * (price move)`` at the reference prices (open, stop, close),
so equity = initial + price PnL - fees - slippage - funding, per symbol and in total.

Every fill is logged (bar, symbol, signed quantity, fill price, fee, slippage, reason) and
every funding payment too (bar, symbol, quantity, mark, rate, payment), so that equity can be
replayed from the logs and the prices alone. The logs grow by doubling (amortized O(1)).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.backtest.costs import fee_rate, fill_price, fill_slippage, volume_known

F64 = npt.NDArray[np.float64]

# indices into the scalar parameter vector
P_EQUITY, P_TAKER, P_MAKER, P_IS_MAKER, P_SLIP, P_IMPACT = 0, 1, 2, 3, 4, 5
P_MAX_LEV, P_MM, P_LIQ_FEE, P_MIN_NOTIONAL, P_FUNDING, P_UNKNOWN_BPS = 6, 7, 8, 9, 10, 11
N_PARAMS = 12
# per-symbol accumulators: columns of the attribution array
A_PRICE, A_FEES, A_SLIP, A_FUNDING, A_TRADED, A_WINS, A_LOSSES = 0, 1, 2, 3, 4, 5, 6
N_ATTR = 7
# per-bar series: columns of the bar array
B_EQUITY, B_FEES, B_SLIP, B_FUNDING, B_TRADED, B_GROSS, B_LIQUIDATED = 0, 1, 2, 3, 4, 5, 6
N_BAR = 7
# columns of the trade log
T_BAR, T_SYM, T_QTY, T_PRICE, T_FEE, T_SLIP, T_REASON = 0, 1, 2, 3, 4, 5, 6
N_TRADE = 7
# trade reasons: 1-5 are the codes of xsmom.strategy.exits (stop kinds, time exit)
R_REBALANCE, R_LIQUIDATION, R_DELISTING = 0, 6, 7
TRADE_REASONS = (
    "rebalance",
    "stop",
    "trailing",
    "breakeven",
    "catastrophic",
    "time",
    "liquidation",
    "delisting",
)
R_TIME = 5
# columns of the funding log
F_BAR, F_SYM, F_QTY, F_MARK, F_RATE, F_PAY = 0, 1, 2, 3, 4, 5
N_FUND = 6
# counters: fills logged, funding payments logged, fills with no reference volume, and the
# bar and symbol of the first of those
C_TRADES, C_FUNDING, C_UNKNOWN, C_UNKNOWN_BAR, C_UNKNOWN_SYM = 0, 1, 2, 3, 4
N_COUNT = 5


@njit(cache=True)
def _grow(a: F64, need: int) -> F64:  # pragma: no cover - numba
    """Return ``a`` or a copy with at least ``need`` rows (capacity doubled)."""
    if need <= a.shape[0]:
        return a
    out = np.empty((max(need, 2 * a.shape[0]), a.shape[1]))
    out[: a.shape[0]] = a
    return out


@njit(cache=True, inline="always")
def _trade(
    j: int,
    dq: float,
    ref: float,
    slip: float,
    fee: float,
    cash: F64,
    qty: F64,
    attr: F64,
    bar: F64,
    trade_pnl: F64,
    t: int,
    log: F64,
    cnt: npt.NDArray[np.int64],
    reason: int,
) -> None:  # pragma: no cover - numba
    if dq == 0.0:
        return
    side = 1.0 if dq > 0 else -1.0
    px = fill_price(ref, side, slip)
    slip_cost = abs(dq) * ref * slip
    fee_cost = abs(dq) * px * fee
    cash[0] -= dq * ref + slip_cost + fee_cost
    attr[j, A_FEES] += fee_cost
    attr[j, A_SLIP] += slip_cost
    attr[j, A_TRADED] += abs(dq) * ref
    bar[t, B_FEES] += fee_cost
    bar[t, B_SLIP] += slip_cost
    bar[t, B_TRADED] += abs(dq) * ref
    k = cnt[C_TRADES]
    log[k, T_BAR] = t
    log[k, T_SYM] = j
    log[k, T_QTY] = dq
    log[k, T_PRICE] = px
    log[k, T_FEE] = fee_cost
    log[k, T_SLIP] = slip_cost
    log[k, T_REASON] = reason
    cnt[C_TRADES] = k + 1
    old = qty[j]
    new = old + dq
    trade_pnl[j] -= slip_cost + fee_cost
    if old != 0.0 and (new == 0.0 or new * old < 0.0):
        if trade_pnl[j] > 0.0:
            attr[j, A_WINS] += 1.0
        else:
            attr[j, A_LOSSES] += 1.0
        trade_pnl[j] = 0.0
    qty[j] = new


@njit(cache=True, inline="always")
def _mark(
    j: int, price: float, qty: F64, last: F64, attr: F64, trade_pnl: F64
) -> None:  # pragma: no cover
    if np.isfinite(price):
        if qty[j] != 0.0:
            pnl = qty[j] * (price - last[j])
            attr[j, A_PRICE] += pnl
            trade_pnl[j] += pnl
        last[j] = price


@njit(cache=True, inline="always")
def _equity(cash: float, qty: F64, last: F64) -> float:  # pragma: no cover - numba
    eq = cash
    for j in range(qty.shape[0]):
        if qty[j] != 0.0:
            eq += qty[j] * last[j]
    return eq


@njit(cache=True, inline="always")
def _slip_for(
    j: int,
    t: int,
    notional: float,
    ref_qv: F64,
    taken: F64,
    p: F64,
    cnt: npt.NDArray[np.int64],
) -> float:  # pragma: no cover
    # ref_qv[j]: quote volume of the last closed bar with volume before this fill;
    # taken[j]: notional already taken on j in this bar (the venue's rule, see costs)
    if not volume_known(ref_qv[j]):
        if cnt[C_UNKNOWN] == 0:
            cnt[C_UNKNOWN_BAR] = t
            cnt[C_UNKNOWN_SYM] = j
        cnt[C_UNKNOWN] += 1
    slip = fill_slippage(p[P_SLIP], p[P_IMPACT], notional, taken[j], ref_qv[j], p[P_UNKNOWN_BPS])
    taken[j] += abs(notional)
    return slip


@njit(cache=True, inline="always")
def _close_out(
    j: int,
    t: int,
    px: float,
    reason: int,
    taker: float,
    ref_qv: F64,
    taken: F64,
    p: F64,
    cash: F64,
    qty: F64,
    attr: F64,
    bar: F64,
    trade_pnl: F64,
    goal: F64,
    log: F64,
    cnt: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - numba
    # close symbol j's whole position at px as a taker (a stop, a delisting); the next target
    # trades again (goal NaN)
    slip = _slip_for(j, t, abs(qty[j]) * px, ref_qv, taken, p, cnt)
    _trade(j, -qty[j], px, slip, taker, cash, qty, attr, bar, trade_pnl, t, log, cnt, reason)
    goal[j] = np.nan


@njit(cache=True)
def _rebalance(
    t: int,
    w: F64,  # the targets traded at this open, one per symbol
    open_: F64,
    ref_qv: F64,
    taken: F64,
    why: npt.NDArray[np.int8],
    lots: F64,
    p: F64,
    cash: F64,
    qty: F64,
    last: F64,
    attr: F64,
    bar: F64,
    trade_pnl: F64,
    goal: F64,
    log: F64,
    cnt: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - numba
    m = qty.shape[0]
    eq = _equity(cash[0], qty, last)
    gross = 0.0
    for j in range(m):
        gross += abs(w[j])
    scale = p[P_MAX_LEV] / gross if gross > p[P_MAX_LEV] else 1.0
    fee = fee_rate(p[P_TAKER], p[P_MAKER], p[P_IS_MAKER] > 0.5)
    for j in range(m):
        o = open_[t, j]
        if not np.isfinite(o) or w[j] == goal[j]:
            continue
        goal[j] = w[j]
        tq = w[j] * scale * eq / o if eq > 0.0 else 0.0
        if lots[j] > 0.0:
            tq = np.trunc(tq / lots[j]) * lots[j]
        dq = tq - qty[j]
        if dq == 0.0 or (tq != 0.0 and abs(dq) * o < p[P_MIN_NOTIONAL]):
            continue
        slip = _slip_for(j, t, abs(dq) * o, ref_qv, taken, p, cnt)
        reason = R_TIME if why[j] == R_TIME else R_REBALANCE
        _trade(j, dq, o, slip, fee, cash, qty, attr, bar, trade_pnl, t, log, cnt, reason)


@njit(cache=True, inline="always")
def _changed(w: F64, goal: F64) -> bool:  # pragma: no cover - numba
    for j in range(w.shape[0]):  # noqa: SIM110 - numba compiles no generator expressions
        if w[j] != goal[j]:
            return True
    return False


@njit(cache=True, inline="always")
def _margin_breached(
    t: int, high: F64, low: F64, p: F64, cash: float, qty: F64, last: F64
) -> bool:  # pragma: no cover - numba
    # equity at the bar's worst prices (low for longs, high for shorts) at maintenance or below
    eq = cash
    maint = 0.0
    for j in range(qty.shape[0]):
        if qty[j] == 0.0:
            continue
        px = low[t, j] if qty[j] > 0 else high[t, j]
        px = px if np.isfinite(px) else last[j]
        eq += qty[j] * px
        maint += abs(qty[j]) * px * p[P_MM]
    return maint != 0.0 and eq <= maint


@njit(cache=True)
def _liquidate(
    t: int,
    high: F64,
    low: F64,
    p: F64,
    cash: F64,
    qty: F64,
    last: F64,
    attr: F64,
    bar: F64,
    trade_pnl: F64,
    log: F64,
    cnt: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - numba
    m = qty.shape[0]
    worst = last.copy()
    for j in range(m):
        px = low[t, j] if qty[j] > 0 else high[t, j]
        if qty[j] != 0.0 and np.isfinite(px):
            worst[j] = px
    for j in range(m):
        if qty[j] != 0.0:
            _mark(j, worst[j], qty, last, attr, trade_pnl)
            _trade(
                j,
                -qty[j],
                worst[j],
                0.0,
                p[P_LIQ_FEE],
                cash,
                qty,
                attr,
                bar,
                trade_pnl,
                t,
                log,
                cnt,
                R_LIQUIDATION,
            )
    bar[t, B_LIQUIDATED] = 1.0


@njit(cache=True, inline="always")
def _pay_funding(
    t: int,
    j: int,
    q: float,
    mk: float,
    rate: float,
    cash: F64,
    attr: F64,
    bar: F64,
    trade_pnl: F64,
    flog: F64,
    cnt: npt.NDArray[np.int64],
) -> None:  # pragma: no cover - numba
    pay = q * mk * rate
    cash[0] -= pay
    attr[j, A_FUNDING] += pay
    bar[t, B_FUNDING] += pay
    trade_pnl[j] -= pay
    k = cnt[C_FUNDING]
    flog[k, F_BAR] = t
    flog[k, F_SYM] = j
    flog[k, F_QTY] = q
    flog[k, F_MARK] = mk
    flog[k, F_RATE] = rate
    flog[k, F_PAY] = pay
    cnt[C_FUNDING] = k + 1


@njit(cache=True)
def run_kernel(  # noqa: C901 - one hot loop; helper calls with arrays cost ~20 ns each
    weights: F64,
    w_off: int,
    stops: F64,
    open_: F64,
    high: F64,
    low: F64,
    close: F64,
    volume: F64,
    funding_rate: F64,
    funding_mark: F64,
    last_bar: npt.NDArray[np.int64],
    lots: F64,
    p: F64,
    record_held: bool,
    time_exits: npt.NDArray[np.int64],
    funding_rows: npt.NDArray[np.bool_],
    qv0: F64,
    bar: F64,
    held: F64,
) -> tuple[F64, F64, F64, F64, F64, npt.NDArray[np.int64]]:  # pragma: no cover - numba
    """Simulate the bars; return (per-bar series, per-symbol attribution, held weights, trade
    log, funding log, counters).

    The target traded at the open of bar t is ``weights[t + w_off]`` (decided at the close
    of the bar before; nothing when that row is before the data: ``w_off = start - 1`` for a
    window starting at ``start`` of the targets' bars, which need not be copied). Held
    weights are recorded only with ``record_held`` (a (bars, symbols) array costs memory
    bandwidth); otherwise the third result has one row. ``stops``: the strategy's stop fills,
    one row (bar, symbol, price, reason) each, in bar and symbol order; ``time_exits``: (bar,
    symbol) of the rebalances that are time exits. ``funding_rows`` flags the bars with a
    funding event, so other bars skip the funding arrays. ``qv0``: each
    symbol's reference quote volume before the first bar (NaN: unknown). ``bar`` (bars x
    N_BAR) and ``held`` (bars x symbols, or one row) are zeroed outputs allocated by the
    caller with numpy (huge pages: see ``xsmom.strategy.rolling``).
    """
    n, m = close.shape
    cash = np.array([p[P_EQUITY]])
    qty = np.zeros(m)
    last = np.full(m, np.nan)
    ref_qv = qv0.copy()
    taken = np.zeros(m)  # notional taken per symbol since its last bar close
    why = np.zeros(m, dtype=np.int8)  # the reason of this bar's rebalance fills
    flat = np.zeros(m)  # the target before the first row of the data
    ps = 0  # next stop fill
    pt = 0  # next time exit
    attr = np.zeros((m, N_ATTR))
    trade_pnl = np.zeros(m)
    goal = np.zeros(m)  # the target weight last traded toward; NaN forces a trade
    log = np.empty((max(64, 4 * m), N_TRADE))
    flog = np.empty((max(64, 2 * m), N_FUND))
    cnt = np.zeros(N_COUNT, dtype=np.int64)
    taker = p[P_TAKER] * 1e-4
    dead = False
    funding_on = p[P_FUNDING] > 0.5
    for t in range(n):
        fund_now = funding_on and funding_rows[t]
        if cnt[C_TRADES] + 3 * m > log.shape[0]:  # at most 3 fills per symbol and bar
            log = _grow(log, cnt[C_TRADES] + 3 * m)
        if fund_now and cnt[C_FUNDING] + m > flog.shape[0]:
            flog = _grow(flog, cnt[C_FUNDING] + m)
        for j in range(m):
            q = qty[j]
            if q != 0.0 and fund_now and funding_rate[t, j] != 0.0:
                mk = funding_mark[t, j]
                if not np.isfinite(mk):  # no mark candle: the trade open, else the last price
                    mk = open_[t, j] if np.isfinite(open_[t, j]) else last[j]
                _pay_funding(t, j, q, mk, funding_rate[t, j], cash, attr, bar, trade_pnl, flog, cnt)
            o = open_[t, j]
            if np.isfinite(o):  # mark to the open (inlined: a call per symbol-bar is costly)
                if q != 0.0:
                    pnl = q * (o - last[j])
                    attr[j, A_PRICE] += pnl
                    trade_pnl[j] += pnl
                last[j] = o
        t0 = pt
        while pt < time_exits.shape[0] and time_exits[pt, 0] == t:
            why[time_exits[pt, 1]] = R_TIME
            pt += 1
        w_t = weights[t + w_off] if t + w_off >= 0 else flat
        if not dead and _changed(w_t, goal):  # a call with arrays costs: only when needed
            _rebalance(
                t,
                w_t,
                open_,
                ref_qv,
                taken,
                why,
                lots,
                p,
                cash,
                qty,
                last,
                attr,
                bar,
                trade_pnl,
                goal,
                log,
                cnt,
            )
        for i in range(t0, pt):
            why[time_exits[i, 1]] = R_REBALANCE
        while ps < stops.shape[0] and stops[ps, 0] == t:
            j = int(stops[ps, 1])
            px = stops[ps, 2]
            r = int(stops[ps, 3])
            ps += 1
            if qty[j] != 0.0 and np.isfinite(px):
                _mark(j, px, qty, last, attr, trade_pnl)
                _close_out(
                    j,
                    t,
                    px,
                    r,
                    taker,
                    ref_qv,
                    taken,
                    p,
                    cash,
                    qty,
                    attr,
                    bar,
                    trade_pnl,
                    goal,
                    log,
                    cnt,
                )
        if not dead and _margin_breached(t, high, low, p, cash[0], qty, last):
            _liquidate(t, high, low, p, cash, qty, last, attr, bar, trade_pnl, log, cnt)
            dead = True
        for j in range(m):
            c = close[t, j]
            q = qty[j]
            if np.isfinite(c):
                if q != 0.0:
                    pnl = q * (c - last[j])
                    attr[j, A_PRICE] += pnl
                    trade_pnl[j] += pnl
                last[j] = c
                taken[j] = 0.0  # a new bar: participation counts again from nothing
                qv = c * volume[t, j]
                if volume_known(qv):  # bar t is closed: the reference of later fills
                    ref_qv[j] = qv
            if q != 0.0 and t == last_bar[j] and t < n - 1:
                _close_out(  # settled at its last close
                    j,
                    t,
                    last[j],
                    R_DELISTING,
                    taker,
                    ref_qv,
                    taken,
                    p,
                    cash,
                    qty,
                    attr,
                    bar,
                    trade_pnl,
                    goal,
                    log,
                    cnt,
                )
        eq = _equity(cash[0], qty, last)
        bar[t, B_EQUITY] = eq
        gross = 0.0
        for j in range(m):
            if qty[j] != 0.0 and eq != 0.0:
                hw = qty[j] * last[j] / eq
                gross += abs(hw)
                if record_held:
                    held[t, j] = hw
        bar[t, B_GROSS] = gross
    return bar, attr, held, log[: cnt[C_TRADES]], flog[: cnt[C_FUNDING]], cnt
