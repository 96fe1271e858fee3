"""The daily report's figures, computed from the ledger for one UTC day.

Definitions (all money in the quote currency, USDT; the day is ``[00:00, 24:00)`` UTC):

* opening equity: the last equity snapshot before the day (on the bot's first day, the first
  snapshot of the day, with a note); closing equity: the last snapshot of the day
* PnL = closing - opening; return = PnL / opening
* Sharpe to date: daily returns of closing equity (each day against the previous day's close,
  the first day against the first snapshot), mean / std (ddof 1) x sqrt(365); None with fewer
  than two days
* drawdown: closing equity below the highest snapshot to date, in %; max drawdown to date: the
  deepest such point over every snapshot to date
* fees: sum of the day's fill fees; funding: sum of the day's funding amounts as the ledger
  records them (received > 0, paid < 0); turnover: traded notional (qty x price of the day's
  fills) / opening equity
* per symbol: realized PnL, fees, funding, traded notional and fills from the ledger rows;
  the change of unrealized PnL is known only in total (equity snapshots), as the ledger keeps
  no per-symbol marks. ``unexplained`` = PnL - (realized - fees + funding + unrealized change):
  zero unless money moved in or out of the account, or a row is missing.
* per signal component: not available; ``target_weights`` records the combined weight only.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import numpy as np
import pandas as pd

from xsmom.errors import DataError
from xsmom.ledger import EquityView, FillView, FundingView, LedgerReads

DAY_MS = 86_400_000
QUOTE = "USDT"


@dataclass(frozen=True, kw_only=True)
class SymbolDay:
    """One symbol's share of the day."""

    symbol: str
    realized: float
    fees: float
    funding: float
    traded_notional: float
    fills: int
    position: float

    @property
    def net(self) -> float:
        """Return realized PnL - fees + funding."""
        return self.realized - self.fees + self.funding


@dataclass(frozen=True, kw_only=True)
class DailyReport:
    """Every figure of one UTC day (see the module docstring for the definitions)."""

    day: date
    start_ms: int
    end_ms: int
    opening_equity: float
    closing_equity: float
    sharpe_to_date: float | None
    drawdown_pct: float
    max_drawdown_pct: float
    fees: float
    funding: float
    traded_notional: float
    realized: float
    unrealized_change: float
    fills: int
    symbols: tuple[SymbolDay, ...]
    equity: pd.Series  # every snapshot to the end of the day, UTC DatetimeIndex
    daily_returns: pd.Series  # one per day to date, in fractions
    notes: tuple[str, ...] = ()

    @property
    def pnl(self) -> float:
        """Return closing - opening equity."""
        return self.closing_equity - self.opening_equity

    @property
    def return_pct(self) -> float:
        """Return the day's return in %."""
        return self.pnl / self.opening_equity * 100.0

    @property
    def turnover(self) -> float:
        """Return traded notional / opening equity."""
        return self.traded_notional / self.opening_equity

    @property
    def unexplained(self) -> float:
        """Return PnL not explained by realized PnL, fees, funding and unrealized change."""
        return self.pnl - (self.realized - self.fees + self.funding + self.unrealized_change)


def day_bounds(day: date) -> tuple[int, int]:
    """Return ``[start, end)`` of a UTC day in epoch ms."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)
    return start, start + DAY_MS


def day_of(ts_ms: int) -> date:
    """Return the UTC day holding ``ts_ms``."""
    return datetime.fromtimestamp(ts_ms / 1000, tz=UTC).date()


def ended_day(prev_ms: int, now_ms: int) -> date | None:
    """Return the UTC day that ended between two engine cycles, or None on the same day.

    The engine calls this each cycle with the previous cycle's time; when it returns a day,
    the engine publishes that day's report (``publish_daily_report``).
    """
    prev, now = day_of(prev_ms), day_of(now_ms)
    return prev if now > prev else None


def _series(rows: list[EquityView]) -> pd.Series:
    idx = pd.to_datetime(np.array([r.ts for r in rows], dtype=np.int64), unit="ms", utc=True)
    return pd.Series([r.equity for r in rows], index=idx, name="equity", dtype=float)


def daily_closes(equity: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Return (closing equity per UTC day with snapshots, daily returns) of ``equity``."""
    days = pd.DatetimeIndex(equity.index).floor("D")
    closes = equity.groupby(days).last()
    prev = pd.Series([float(equity.iloc[0]), *closes.iloc[:-1]], index=closes.index)
    return closes, closes / prev - 1.0


def sharpe_of_days(returns: pd.Series) -> float | None:
    """Return mean / std (ddof 1) x sqrt(365), or None with fewer than two days or no spread."""
    if len(returns) < 2:
        return None
    sd = float(returns.std(ddof=1))
    if not sd > 0:
        return None
    return float(returns.mean()) / sd * math.sqrt(365.0)


def _per_symbol(
    fills: list[FillView], funding: list[FundingView], positions: dict[str, float]
) -> tuple[SymbolDay, ...]:
    names = sorted({f.symbol for f in fills} | {f.symbol for f in funding})
    out = []
    for s in names:
        fs = [f for f in fills if f.symbol == s]
        out.append(
            SymbolDay(
                symbol=s,
                realized=math.fsum(f.realized_pnl for f in fs),
                fees=math.fsum(f.fee for f in fs if f.fee_currency == QUOTE),
                funding=math.fsum(p.amount for p in funding if p.symbol == s),
                traded_notional=math.fsum(f.qty * f.price for f in fs),
                fills=len(fs),
                position=positions.get(s, 0.0),
            )
        )
    return tuple(sorted(out, key=lambda x: x.net))


def _fee_notes(fills: list[FillView]) -> list[str]:
    other: dict[str, float] = {}
    for f in fills:
        if f.fee_currency != QUOTE:
            other[f.fee_currency] = other.get(f.fee_currency, 0.0) + f.fee
    return [f"fees of {v:g} {c} are not in {QUOTE} and not counted" for c, v in other.items()]


def _positions_at(reads: LedgerReads, end_ms: int) -> dict[str, float]:
    pos: dict[str, float] = {}
    for ch in reads.position_history():
        if ch.ts < end_ms:
            pos[ch.symbol] = ch.qty
    return pos


def _opening(history: list[EquityView], start_ms: int, day: date) -> tuple[EquityView, list[str]]:
    before = [r for r in history if r.ts < start_ms]
    if before:
        return before[-1], []
    first = next(r for r in history if r.ts >= start_ms)
    at = datetime.fromtimestamp(first.ts / 1000, tz=UTC).strftime("%H:%M")
    return first, [f"first day of the ledger: {day} is measured from the snapshot at {at} UTC"]


def compute_daily(reads: LedgerReads, day: date) -> DailyReport:
    """Return the report of ``day`` from the ledger; DataError if the day has no equity."""
    start_ms, end_ms = day_bounds(day)
    history = reads.equity_series(end_ms=end_ms)
    today = [r for r in history if r.ts >= start_ms]
    if not today:
        raise DataError(f"no equity snapshot on {day} (UTC) in the ledger: nothing to report")
    opening, notes = _opening(history, start_ms, day)
    closing = today[-1]
    fills = reads.fills(since_ms=start_ms, until_ms=end_ms)
    funding = reads.funding(since_ms=start_ms, until_ms=end_ms)
    equity = _series(history)
    closes, rets = daily_closes(equity)
    peak = float(equity.max())
    dd_path = 1.0 - equity / equity.cummax()
    symbols = _per_symbol(fills, funding, _positions_at(reads, end_ms))
    return DailyReport(
        day=day,
        start_ms=start_ms,
        end_ms=end_ms,
        opening_equity=opening.equity,
        closing_equity=closing.equity,
        sharpe_to_date=sharpe_of_days(rets),
        drawdown_pct=(1.0 - closing.equity / peak) * 100.0,
        max_drawdown_pct=float(dd_path.max()) * 100.0,
        fees=math.fsum(s.fees for s in symbols),
        funding=math.fsum(p.amount for p in funding),
        traded_notional=math.fsum(s.traded_notional for s in symbols),
        realized=math.fsum(f.realized_pnl for f in fills),
        unrealized_change=closing.unrealized - opening.unrealized,
        fills=len(fills),
        symbols=symbols,
        equity=equity,
        daily_returns=rets,
        notes=tuple(notes + _fee_notes(fills) + _gap_notes(closes, day)),
    )


def _gap_notes(closes: pd.Series, day: date) -> list[str]:
    days = [d.date() for d in closes.index]
    missing = sum(max((b - a).days - 1, 0) for a, b in itertools.pairwise(days))
    if not missing:
        return []
    return [f"{missing} day(s) to {day} have no equity snapshot; Sharpe skips them"]


def previous_day(now_ms: int) -> date:
    """Return the last complete UTC day before ``now_ms``."""
    return day_of(now_ms) - timedelta(days=1)
