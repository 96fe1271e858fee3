"""The paper accounts of rollout versions: equity and fills tagged with a config version.

Paper-stage candidates trade the paper adapter beside the active config (``xsmom.rollout``);
their books never mix with the real account's ``equity_snapshots`` and ``fills``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from xsmom.errors import ConfigError
from xsmom.ledger._base import Reads, Writes, check_number, insert_ignore, to_view, upsert
from xsmom.ledger.models import RolloutEquity, RolloutFill
from xsmom.ledger.views import SIDES, EquityView, check_value


@dataclass(frozen=True, slots=True, kw_only=True)
class RolloutFillView:
    """One paper execution of a rollout version."""

    version_id: str
    symbol: str
    trade_id: str
    client_id: str | None
    side: str
    qty: float
    price: float
    fee: float
    is_maker: bool
    ts: int

    @property
    def signed_qty(self) -> float:
        """Return the quantity, positive for a buy."""
        return self.qty if self.side == "buy" else -self.qty


class RolloutWrites(Writes):
    """Record the paper account of a rollout version."""

    def record_rollout_equity(
        self,
        version_id: str,
        *,
        ts: int,
        equity: float,
        wallet: float,
        unrealized: float,
        margin_ratio: float | None = None,
    ) -> None:
        """Record the paper account of ``version_id`` at ``ts`` (replacing one at that ts)."""
        values = {
            "version_id": version_id,
            "ts": int(ts),
            "equity": check_number(equity, "paper equity"),
            "wallet": check_number(wallet, "paper wallet"),
            "unrealized": check_number(unrealized, "paper unrealized"),
            "margin_ratio": None if margin_ratio is None else check_number(margin_ratio, "mr"),
        }
        upsert(self._s, RolloutEquity.__table__, values, ("version_id", "ts"))  # type: ignore[arg-type]

    def record_rollout_fill(
        self,
        version_id: str,
        *,
        symbol: str,
        trade_id: str,
        side: str,
        qty: float,
        price: float,
        fee: float,
        ts: int,
        is_maker: bool = False,
        client_id: str | None = None,
    ) -> bool:
        """Record one paper execution; return False if (version, symbol, trade id) exists."""
        if not trade_id or not (qty > 0 and price > 0):
            raise ConfigError(f"paper fill {trade_id!r} of {symbol}: needs an id, qty and price")
        values = {
            "version_id": version_id,
            "symbol": symbol,
            "trade_id": str(trade_id),
            "client_id": client_id,
            "side": check_value(side, SIDES, "fill side"),
            "qty": check_number(qty, "fill qty"),
            "price": check_number(price, "fill price"),
            "fee": check_number(fee, "fill fee"),
            "is_maker": bool(is_maker),
            "ts": int(ts),
        }
        keys = ("version_id", "symbol", "trade_id")
        return insert_ignore(self._s, RolloutFill.__table__, values, keys)  # type: ignore[arg-type]


class RolloutReads(Reads):
    """Read the paper accounts of rollout versions."""

    def rollout_equity(
        self, version_id: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[EquityView]:
        """Return the paper equity of ``version_id`` with ``start_ms <= ts < end_ms``, by time."""
        q = select(RolloutEquity).where(RolloutEquity.version_id == version_id)
        if start_ms is not None:
            q = q.where(RolloutEquity.ts >= start_ms)
        if end_ms is not None:
            q = q.where(RolloutEquity.ts < end_ms)
        with self._reading() as s:
            return [to_view(EquityView, r) for r in s.scalars(q.order_by(RolloutEquity.ts))]

    def rollout_fills(
        self, version_id: str, *, start_ms: int | None = None, end_ms: int | None = None
    ) -> list[RolloutFillView]:
        """Return the paper fills of ``version_id`` with ``start_ms <= ts < end_ms``, by time."""
        q = select(RolloutFill).where(RolloutFill.version_id == version_id)
        if start_ms is not None:
            q = q.where(RolloutFill.ts >= start_ms)
        if end_ms is not None:
            q = q.where(RolloutFill.ts < end_ms)
        q = q.order_by(RolloutFill.ts, RolloutFill.id)
        with self._reading() as s:
            return [to_view(RolloutFillView, r) for r in s.scalars(q)]
