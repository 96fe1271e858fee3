"""Funding in the ledger: what the exchange charged, cross-checked against the store's rates.

Each cycle that processes a bar with a funding event (and the first one), in the cycle's
transaction (:func:`funding_cycle`):

- :func:`sync_funding` records the payments the exchange reports
  (``Exchange.funding_payments``: Binance's ``/fapi/v1/income`` ``FUNDING_FEE``) from the last
  one the ledger holds on (inclusive; each id once), so a restart neither doubles nor loses
  the payments settled while the engine was down;
- :func:`record_funding` derives each settlement of the newly processed bars as the backtest
  charges it (``-qty x mark x rate`` on the position held into the bar) and sets it beside the
  exchange's figure as ``expected``, or records it alone until the exchange reports.

When both are known and differ by more than ``max(FUNDING_TOL_ABS, FUNDING_TOL_REL x
|expected|)`` the cycle logs a warning and records a ``funding/mismatch`` guard event; a
derived payment the exchange did not report (read in the same cycle) is ``funding/missing``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from xsmom.data.panel import MarketPanel
from xsmom.data.timeframes import timeframe_ms
from xsmom.exchange.interface import Exchange
from xsmom.ledger import FillView, FundingView, LedgerTx

log = logging.getLogger(__name__)
FUNDING_TOL_ABS = 0.01  # quote currency: rounding of the exchange's figure
FUNDING_TOL_REL = 0.02  # the mark the exchange used vs the store's mark open of the bar
QTY_EPS = 1e-12  # what is left of a position after subtracting the fills that closed it


def check_funding(tx: LedgerTx, row: FundingView, now_ms: int) -> bool:
    """Return True if ``row``'s exchange amount agrees with its expected one; else warn."""
    if row.expected is None or row.venue_id is None:
        return True
    diff = row.amount - row.expected
    if abs(diff) <= max(FUNDING_TOL_ABS, FUNDING_TOL_REL * abs(row.expected)):
        return True
    reason = (
        f"{row.symbol}: the exchange's funding payment {row.venue_id} at {row.ts} is "
        f"{row.amount:+.6f}, the store's rate on the ledger's position gives {row.expected:+.6f}"
    )
    log.warning("FUNDING MISMATCH %s", reason)
    detail = {"symbol": row.symbol, "venue_id": row.venue_id, "amount": row.amount}
    detail |= {"expected": row.expected, "qty": row.qty, "rate": row.rate}
    tx.record_guard_event(
        ts=now_ms, guard="funding", event="mismatch", reason=reason, detail=detail
    )
    return False


def sync_funding(
    tx: LedgerTx, exchange: Exchange, *, since_default: int, bar_ms: int, now_ms: int
) -> int:
    """Record the exchange's funding payments the ledger lacks; return how many."""
    last = tx.last_exchange_funding_ts()
    since = last if last is not None else since_default
    n = 0
    for p in exchange.funding_payments(since=since):
        row = tx.record_exchange_funding(
            symbol=p.symbol, venue_id=p.payment_id, ts=p.ts, amount=p.amount, bar_ms=bar_ms
        )
        if row is not None:
            n += 1
            check_funding(tx, row, now_ms)
    return n


def _signed(fills: Sequence[FillView], symbol: str, ts: int) -> float:
    """Return the signed quantity ``symbol`` traded from ``ts`` on."""
    return math.fsum(
        f.qty * (1.0 if f.side == "buy" else -1.0)
        for f in fills
        if f.symbol == symbol and f.ts >= ts
    )


def _mark(panel: MarketPanel, r: int, j: int) -> float:
    mark = float(panel.mark_open[r, j])
    return mark if math.isfinite(mark) else float(panel.open[r, j])


@dataclass(frozen=True)
class _Derived:
    symbol: str
    bar_ts: int
    rate: float
    qty: float
    mark: float

    @property
    def amount(self) -> float:
        return -self.qty * self.mark * self.rate


def _missing(tx: LedgerTx, d: _Derived, now_ms: int) -> None:
    reason = (
        f"{d.symbol}: the store's rate on the ledger's position {d.qty:g} gives "
        f"{d.amount:+.6f} at {d.bar_ts}, the exchange reported no payment"
    )
    log.warning("FUNDING MISMATCH %s", reason)
    detail = {"symbol": d.symbol, "expected": d.amount, "qty": d.qty, "rate": d.rate}
    tx.record_guard_event(ts=now_ms, guard="funding", event="missing", reason=reason, detail=detail)


def _settle(tx: LedgerTx, d: _Derived, bar_ms: int, now_ms: int, synced: bool) -> int:
    """Set ``d`` beside the exchange's payment of its bar, or record it alone; return 0/1."""
    row = tx.expect_funding(
        symbol=d.symbol,
        bar_ts=d.bar_ts,
        bar_ms=bar_ms,
        rate=d.rate,
        qty=d.qty,
        mark_price=d.mark,
        expected=d.amount,
    )
    if row is not None:
        check_funding(tx, row, now_ms)
        return 1
    if d.qty == 0:
        return 0
    if synced and abs(d.amount) > FUNDING_TOL_ABS:
        _missing(tx, d, now_ms)
    added = tx.record_funding(
        symbol=d.symbol, ts=d.bar_ts, rate=d.rate, qty=d.qty, mark_price=d.mark, amount=d.amount
    )
    return int(added)


def record_funding(
    tx: LedgerTx,
    panel: MarketPanel,
    after_bar: int | None,
    positions: Mapping[str, float],
    now_ms: int = 0,
    *,
    synced: bool = False,
) -> int:
    """Record the funding settled on held positions in the bars after ``after_bar``.

    As the backtest charges it: a position of signed size q held into the bar (``positions``,
    the ledger's before this cycle's fills, less the ledger's fills from the bar's open on)
    pays ``q x mark x rate`` at each funding event of its bar (mark: the bar's mark open, the
    trade open where the store has no mark). ``synced``: the exchange's payments were just
    read, so a derived payment without one is reported (``funding/missing``). Return the
    settlements recorded or cross-checked.
    """
    if after_bar is None:
        return 0
    rows = np.flatnonzero((panel.timestamps > after_bar) & panel.funding_bars)
    if not rows.size:
        return 0
    bar_ms = timeframe_ms(panel.timeframe)
    fills = tx.fills(since_ms=int(panel.timestamps[rows[0]]))
    n = 0
    for r in rows.tolist():
        bar_ts = int(panel.timestamps[r])
        for j, sym in enumerate(panel.symbols):
            mark = _mark(panel, r, j)
            if not panel.funding_event[r, j] or not math.isfinite(mark):
                continue
            qty = positions.get(sym, 0.0) - _signed(fills, sym, bar_ts)
            qty = 0.0 if abs(qty) < QTY_EPS else qty
            d = _Derived(sym, bar_ts, float(panel.funding_rate[r, j]), qty, mark)
            n += _settle(tx, d, bar_ms, now_ms, synced)
    return n


def funding_cycle(
    tx: LedgerTx,
    exchange: Exchange,
    panel: MarketPanel,
    after_bar: int | None,
    positions: Mapping[str, float],
    *,
    since_default: int,
    now_ms: int,
) -> int:
    """Sync the exchange's payments and record the derived ones of the bars after ``after_bar``.

    The exchange is asked only when those bars hold a funding event (or on the first cycle):
    a payment settled at a bar's open is read one bar later, with the bar that explains it,
    and the income history (weight 30 on Binance) is not read at every bar.
    """
    new = ((panel.timestamps > after_bar) & panel.funding_bars) if after_bar is not None else None
    n = 0
    synced = new is None or bool(new.any())
    if synced:
        bar_ms = timeframe_ms(panel.timeframe)
        n += sync_funding(tx, exchange, since_default=since_default, bar_ms=bar_ms, now_ms=now_ms)
    return n + record_funding(tx, panel, after_bar, positions, now_ms, synced=synced)
