"""The account behind the matching engine: wallet, positions, margin, funding, liquidation.

Cross margin in one settlement currency (USDT). ``isolated`` is recorded per symbol and
reported back, but margin is computed as cross for every symbol (a documented limit).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

from xsmom.sim.types import (
    Balance,
    FundingPayment,
    MarginMode,
    MarketSpec,
    Position,
    Side,
)


@dataclass
class PositionState:
    """Mutable state of one symbol's position."""

    qty: float = 0.0
    entry: float = 0.0
    leverage: int = 20
    margin_mode: MarginMode = "cross"


class Account:
    """Wallet and positions; all amounts in the settlement currency."""

    def __init__(self, markets: Mapping[str, MarketSpec], wallet: float, leverage: int) -> None:
        self.markets = dict(markets)
        self.wallet = float(wallet)
        self.positions: dict[str, PositionState] = {
            s: PositionState(leverage=min(leverage, m.max_leverage)) for s, m in markets.items()
        }
        self.marks: dict[str, float] = {}
        self.funding: list[FundingPayment] = []

    # ---- fills -------------------------------------------------------------------------------
    def apply_fill(self, symbol: str, side: Side, qty: float, price: float, fee: float) -> float:
        """Move the position by a fill, book fee and realized PnL; return the realized PnL."""
        pos = self.positions[symbol]
        cs = self.markets[symbol].contract_size
        signed = qty if side == "buy" else -qty
        realized = 0.0
        if pos.qty == 0.0 or (pos.qty > 0) == (signed > 0):
            total = abs(pos.qty) + qty
            pos.entry = (abs(pos.qty) * pos.entry + qty * price) / total
            pos.qty += signed
        else:
            closing = min(qty, abs(pos.qty))
            direction = 1.0 if pos.qty > 0 else -1.0
            realized = closing * (price - pos.entry) * direction * cs
            pos.qty += signed
            if abs(pos.qty) < 1e-12:
                pos.qty, pos.entry = 0.0, 0.0
            elif (pos.qty > 0) != (direction > 0):
                pos.entry = price
        self.wallet += realized - fee
        return realized

    # ---- funding -----------------------------------------------------------------------------
    def settle_funding(self, symbol: str, rate: float, mark_price: float, ts: int) -> float:
        """Pay or receive funding on ``symbol``: longs pay ``notional * rate`` when rate > 0."""
        pos = self.positions[symbol]
        cs = self.markets[symbol].contract_size
        amount = -pos.qty * mark_price * cs * rate
        self.marks[symbol] = mark_price
        if pos.qty != 0.0:
            self.wallet += amount
            self.funding.append(
                FundingPayment(
                    symbol=symbol,
                    rate=rate,
                    mark_price=mark_price,
                    position_qty=pos.qty,
                    amount=amount,
                    ts=ts,
                )
            )
        return amount

    # ---- valuation ---------------------------------------------------------------------------
    def mark_of(self, symbol: str) -> float:
        """Return the mark price of ``symbol`` (the entry price if none was seen yet)."""
        return self.marks.get(symbol, self.positions[symbol].entry)

    def position(self, symbol: str) -> Position:
        """Return the valued position of ``symbol`` (qty 0 when flat)."""
        pos = self.positions[symbol]
        spec = self.markets[symbol]
        mark = self.mark_of(symbol)
        notional = pos.qty * mark * spec.contract_size
        return Position(
            symbol=symbol,
            qty=pos.qty,
            entry_price=pos.entry,
            mark_price=mark,
            leverage=pos.leverage,
            margin_mode=pos.margin_mode,
            unrealized_pnl=pos.qty * (mark - pos.entry) * spec.contract_size,
            notional=notional,
            initial_margin=abs(notional) / pos.leverage,
            maintenance_margin=abs(notional) * spec.maintenance_margin_rate,
        )

    def open_positions(self) -> list[Position]:
        """Return the non-flat positions, by symbol."""
        return [self.position(s) for s in sorted(self.positions) if self.positions[s].qty != 0.0]

    def balance(self, order_margin: float) -> Balance:
        """Return the account summary; ``order_margin`` is reserved by open orders."""
        positions = self.open_positions()
        upnl = sum(p.unrealized_pnl for p in positions)
        pos_margin = sum(p.initial_margin for p in positions)
        maint = sum(p.maintenance_margin for p in positions)
        equity = self.wallet + upnl
        return Balance(
            wallet=self.wallet,
            unrealized_pnl=upnl,
            equity=equity,
            position_margin=pos_margin,
            order_margin=order_margin,
            maintenance_margin=maint,
            available=max(equity - pos_margin - order_margin, 0.0),
        )

    def is_liquidatable(self) -> bool:
        """Return True when equity has fallen below the maintenance margin."""
        positions = self.open_positions()
        if not positions:
            return False
        equity = self.wallet + sum(p.unrealized_pnl for p in positions)
        return equity < sum(p.maintenance_margin for p in positions)

    # ---- persistence -------------------------------------------------------------------------
    def snapshot(self, *, funding: bool = True) -> dict[str, Any]:
        """Return the account state as JSON-able data (without the funding list if asked)."""
        out: dict[str, Any] = {
            "wallet": self.wallet,
            "positions": {
                s: {"qty": p.qty, "entry": p.entry, "leverage": p.leverage, "mode": p.margin_mode}
                for s, p in self.positions.items()
            },
            "marks": dict(self.marks),
        }
        if funding:
            out["funding"] = [asdict(f) for f in self.funding]
        return out

    def restore(self, data: Mapping[str, Any]) -> None:
        """Load the state written by :meth:`snapshot`."""
        self.wallet = float(data["wallet"])
        for s, p in data["positions"].items():
            self.positions[s] = PositionState(
                qty=float(p["qty"]),
                entry=float(p["entry"]),
                leverage=int(p["leverage"]),
                margin_mode=p["mode"],
            )
        self.marks = {s: float(v) for s, v in data["marks"].items()}
        self.funding = [FundingPayment(**f) for f in data["funding"]]
