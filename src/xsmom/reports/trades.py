"""Round trips (trades) from a backtest's fill log (``trades.parquet``) and funding log.

A trade of a symbol opens when its position leaves zero and closes when it is back at zero
or flips (a flipping fill is split pro rata: its closing part, with that share of the fee and
slippage, ends one trade; the rest opens the next). A trade's PnL is its cash flow: every fill
``-signed qty x price - fee`` (the fill price includes slippage) minus the funding paid on the
position held into each bar (a funding row at the bar of a fill belongs to the position held
*before* that fill). A trade still open at the end is marked at ``last_prices`` and flagged
open; the win rate and trade statistics count closed trades only.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from xsmom.errors import DataError

TRADE_COLUMNS = [
    "symbol",
    "direction",
    "entry_time",
    "exit_time",
    "size",
    "entry_price",
    "exit_price",
    "pnl",
    "return_pct",
    "fees",
    "slippage",
    "funding",
    "fills",
    "status",
]


@dataclass
class _Open:
    symbol: str
    direction: int
    entry_ts: int
    pos: float = 0.0
    cash: float = 0.0
    fees: float = 0.0
    slippage: float = 0.0
    funding: float = 0.0
    size: float = 0.0
    fills: int = 0
    in_qty: float = 0.0
    in_value: float = 0.0
    out_qty: float = 0.0
    out_value: float = 0.0
    rows: list[dict[str, object]] = field(default_factory=list)

    def add(self, q: float, price: float, fee: float, slip: float) -> None:
        self.pos += q
        self.cash -= q * price + fee
        self.fees += fee
        self.slippage += slip
        self.fills += 1
        self.size = max(self.size, abs(self.pos))
        if q * self.direction > 0:
            self.in_qty += abs(q)
            self.in_value += abs(q) * price
        else:
            self.out_qty += abs(q)
            self.out_value += abs(q) * price

    def record(self, exit_ts: int | None, mark: float | None) -> dict[str, object]:
        entry_px = self.in_value / self.in_qty if self.in_qty else math.nan
        pnl = self.cash + (self.pos * mark if mark is not None and self.pos else 0.0)
        return {
            "symbol": self.symbol,
            "direction": "long" if self.direction > 0 else "short",
            "entry_time": self.entry_ts,
            "exit_time": exit_ts,
            "size": self.size,
            "entry_price": entry_px,
            "exit_price": self.out_value / self.out_qty if self.out_qty else math.nan,
            "pnl": pnl,
            "return_pct": pnl / (self.size * entry_px) * 100.0 if self.size else math.nan,
            "fees": self.fees,
            "slippage": self.slippage,
            "funding": self.funding,
            "fills": self.fills,
            "status": "closed" if exit_ts is not None else "open",
        }


def _events(trades: pd.DataFrame, funding: pd.DataFrame) -> pd.DataFrame:
    sign = np.where(trades["side"].to_numpy() == "buy", 1.0, -1.0)
    fills = pd.DataFrame(
        {
            "ts": trades["timestamp"].to_numpy(np.int64),
            "symbol": trades["symbol"].to_numpy(),
            "kind": 1,
            "q": sign * trades["quantity"].to_numpy(float),
            "price": trades["price"].to_numpy(float),
            "fee": trades["fee"].to_numpy(float),
            "slip": trades["slippage"].to_numpy(float),
            "seq": np.arange(len(trades)),
        }
    )
    fund = pd.DataFrame(
        {
            "ts": funding["timestamp"].to_numpy(np.int64),
            "symbol": funding["symbol"].to_numpy(),
            "kind": 0,  # before the bar's fills: paid on the position held into the bar
            "q": 0.0,
            "price": 0.0,
            "fee": funding["payment"].to_numpy(float),
            "slip": 0.0,
            "seq": np.arange(len(funding)),
        }
    )
    ev = pd.concat([fund, fills], ignore_index=True)
    return ev.sort_values(["symbol", "ts", "kind", "seq"], kind="stable")


def _fill(
    cur: _Open | None,
    sym: str,
    ts: int,
    q: float,
    px: float,
    fee: float,
    slip: float,
    out: list[dict[str, object]],
) -> _Open | None:
    if cur is None:
        cur = _Open(sym, 1 if q > 0 else -1, ts)
        cur.add(q, px, fee, slip)
        return cur
    after = cur.pos + q
    if after * cur.direction > 1e-12 * max(abs(cur.pos), 1.0):
        cur.add(q, px, fee, slip)
        return cur
    closing = -cur.pos
    share = abs(closing) / abs(q)
    cur.add(closing, px, fee * share, slip * share)
    cur.pos = 0.0
    out.append(cur.record(ts, None))
    rest = q - closing
    if abs(rest) <= 1e-12 * abs(q):
        return None
    nxt = _Open(sym, 1 if rest > 0 else -1, ts)
    nxt.add(rest, px, fee * (1 - share), slip * (1 - share))
    return nxt


def round_trips(
    trades: pd.DataFrame,
    funding: pd.DataFrame,
    last_prices: Mapping[str, float] | None = None,
) -> pd.DataFrame:
    """Return one row per trade (columns ``TRADE_COLUMNS``), by entry time."""
    out: list[dict[str, object]] = []
    open_: dict[str, _Open] = {}
    ev = _events(trades, funding)
    cols = [ev[c].tolist() for c in ("symbol", "ts", "kind", "q", "price", "fee", "slip")]
    for sym_, ts_, kind, q, px, fee, slip in zip(*cols, strict=True):
        sym, ts = str(sym_), int(ts_)
        cur = open_.get(sym)
        if kind == 0:
            if cur is None:
                raise DataError(f"funding of {sym} at {ts} with no open position")
            cur.cash -= float(fee)
            cur.funding += float(fee)
            continue
        nxt = _fill(cur, sym, ts, float(q), float(px), float(fee), float(slip), out)
        if nxt is None:
            open_.pop(sym, None)
        else:
            open_[sym] = nxt
    marks = last_prices or {}
    out += [o.record(None, marks.get(s, math.nan)) for s, o in open_.items()]
    df = pd.DataFrame(out, columns=TRADE_COLUMNS)
    return df.sort_values(["entry_time", "symbol"], kind="stable").reset_index(drop=True)
