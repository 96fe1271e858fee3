"""Orders, their transitions, and fills: writes (in a transaction) and reads."""

from __future__ import annotations

from sqlalchemy import or_, select, update

from xsmom.errors import ConfigError, CorruptStateError
from xsmom.ledger._base import Reads, Writes, check_number, insert_ignore, to_view
from xsmom.ledger.models import Fill, Order, OrderTransition
from xsmom.ledger.views import (
    OPEN_STATUSES,
    ORDER_STATUSES,
    ORDER_TYPES,
    SIDES,
    FillView,
    OrderView,
    TransitionView,
    check_value,
)

_INTENT = ("symbol", "side", "type", "qty", "price", "stop_price", "reduce_only", "post_only")


class OrderWrites(Writes):
    """Record orders, their status changes and fills."""

    def record_order(
        self,
        *,
        client_id: str,
        symbol: str,
        side: str,
        type: str,
        qty: float,
        ts: int,
        reason: str,
        price: float | None = None,
        stop_price: float | None = None,
        reduce_only: bool = False,
        post_only: bool = False,
        bar_ts: int | None = None,
        attempt: int = 0,
        config_version: str | None = None,
        venue_order_id: str | None = None,
        status: str = "new",
    ) -> bool:
        """Record a new order (and its first transition); return False if it was known.

        Recording the same client id again with the same intent is a no-op (a retry); with a
        different symbol, side, type, quantity or prices it raises CorruptStateError.
        """
        if not client_id:
            raise ConfigError("an order needs a client id")
        row = Order(
            client_id=client_id,
            venue_order_id=venue_order_id,
            symbol=symbol,
            side=check_value(side, SIDES, "order side"),
            type=check_value(type, ORDER_TYPES, "order type"),
            qty=check_number(qty, "order qty"),
            price=None if price is None else check_number(price, "order price"),
            stop_price=None if stop_price is None else check_number(stop_price, "stop price"),
            reduce_only=bool(reduce_only),
            post_only=bool(post_only),
            bar_ts=bar_ts,
            reason=reason,
            attempt=int(attempt),
            config_version=config_version,
            status=check_value(status, ORDER_STATUSES, "order status"),
            filled_qty=0.0,
            avg_price=None,
            created_ms=int(ts),
            updated_ms=int(ts),
        )
        if not row.qty > 0:
            raise ConfigError(f"order {client_id}: qty must be > 0, got {qty}")
        known = self._order_row(client_id)
        if known is not None:
            diff = [k for k in _INTENT if getattr(known, k) != getattr(row, k)]
            if diff:
                raise CorruptStateError(
                    f"order {client_id} is already recorded with a different {', '.join(diff)}"
                )
            return False
        self._s.add(row)
        self._s.flush()
        self._s.add(
            OrderTransition(
                order_id=row.id,
                ts=int(ts),
                from_status=None,
                to_status=row.status,
                filled_qty=0.0,
                reason=reason,
            )
        )
        self._adopt_fills(row)
        return True

    def record_transition(
        self,
        client_id: str,
        *,
        status: str,
        ts: int,
        reason: str,
        filled_qty: float | None = None,
        avg_price: float | None = None,
        venue_order_id: str | None = None,
    ) -> bool:
        """Move an order to ``status`` (and filled quantity); return False if nothing changed.

        A terminal order (filled, canceled, rejected, expired) cannot reopen or change status,
        and the filled quantity never decreases: either raises CorruptStateError.
        """
        status = check_value(status, ORDER_STATUSES, "order status")
        row = self._order_row(client_id)
        if row is None:
            raise CorruptStateError(f"order {client_id} is not in the ledger: record it first")
        filled = row.filled_qty if filled_qty is None else check_number(filled_qty, "filled")
        if filled < row.filled_qty:
            raise CorruptStateError(
                f"order {client_id}: filled qty would go back from {row.filled_qty} to {filled}"
            )
        if row.status not in OPEN_STATUSES and status != row.status:
            raise CorruptStateError(f"order {client_id} is {row.status}: it cannot become {status}")
        if venue_order_id is not None and venue_order_id != row.venue_order_id:
            row.venue_order_id = venue_order_id
            self._adopt_fills(row)
        if status == row.status and filled == row.filled_qty:
            return False
        self._s.add(
            OrderTransition(
                order_id=row.id,
                ts=int(ts),
                from_status=row.status,
                to_status=status,
                filled_qty=filled,
                reason=reason,
            )
        )
        row.status, row.filled_qty, row.updated_ms = status, filled, int(ts)
        if avg_price is not None:
            row.avg_price = check_number(avg_price, "avg price")
        return True

    def record_fill(
        self,
        *,
        symbol: str,
        trade_id: str,
        side: str,
        qty: float,
        price: float,
        fee: float,
        fee_currency: str,
        ts: int,
        realized_pnl: float = 0.0,
        is_maker: bool = False,
        liquidation: bool = False,
        venue_order_id: str | None = None,
        client_id: str | None = None,
    ) -> bool:
        """Record one execution; return False if its (symbol, trade id) was already recorded.

        The fill is linked to our order by client id (or venue order id) when the ledger has
        it, or later when the order is recorded; fills of orders the ledger never sees
        (liquidations, manual trades) stay unlinked. ``qty`` and ``price`` must be > 0.
        """
        if not trade_id:
            raise ConfigError(f"fill of {symbol} needs a venue trade id")
        if not (qty > 0 and price > 0):
            raise ConfigError(f"fill {trade_id} of {symbol}: qty and price must be > 0")
        values = {
            "symbol": symbol,
            "trade_id": str(trade_id),
            "order_id": self._link(symbol, client_id, venue_order_id),
            "venue_order_id": venue_order_id,
            "client_id": client_id,
            "side": check_value(side, SIDES, "fill side"),
            "qty": check_number(qty, "fill qty"),
            "price": check_number(price, "fill price"),
            "fee": check_number(fee, "fill fee"),
            "fee_currency": fee_currency,
            "realized_pnl": check_number(realized_pnl, "realized pnl"),
            "is_maker": bool(is_maker),
            "liquidation": bool(liquidation),
            "ts": int(ts),
        }
        return insert_ignore(self._s, Fill.__table__, values, ("symbol", "trade_id"))  # type: ignore[arg-type]

    def _adopt_fills(self, row: Order) -> None:
        """Link fills recorded before their order was known (by client or venue order id)."""
        match = Fill.client_id == row.client_id
        if row.venue_order_id:
            match = or_(match, Fill.venue_order_id == row.venue_order_id)
        q = (
            update(Fill)
            .where(Fill.order_id.is_(None), Fill.symbol == row.symbol, match)
            .values(order_id=row.id)
        )
        self._s.execute(q)

    def _order_row(self, client_id: str) -> Order | None:
        return self._s.scalars(select(Order).where(Order.client_id == client_id)).one_or_none()

    def _link(self, symbol: str, client_id: str | None, venue_order_id: str | None) -> int | None:
        if client_id:
            row = self._order_row(client_id)
            if row is not None:
                return row.id
        if venue_order_id:
            q = select(Order.id).where(
                Order.symbol == symbol, Order.venue_order_id == venue_order_id
            )
            return self._s.scalars(q).first()
        return None


class OrderReads(Reads):
    """Read orders, transitions and fills."""

    def order(self, client_id: str) -> OrderView | None:
        """Return the order with ``client_id``, or None."""
        with self._reading() as s:
            row = s.scalars(select(Order).where(Order.client_id == client_id)).one_or_none()
            return None if row is None else to_view(OrderView, row)

    def orders(
        self, *, status: str | tuple[str, ...] | None = None, symbol: str | None = None
    ) -> list[OrderView]:
        """Return orders (optionally of some statuses or one symbol) in creation order."""
        q = select(Order).order_by(Order.id)
        if status is not None:
            wanted = (status,) if isinstance(status, str) else status
            for st in wanted:
                check_value(st, ORDER_STATUSES, "order status")
            q = q.where(Order.status.in_(wanted))
        if symbol is not None:
            q = q.where(Order.symbol == symbol)
        with self._reading() as s:
            return [to_view(OrderView, r) for r in s.scalars(q)]

    def open_orders(self, symbol: str | None = None) -> list[OrderView]:
        """Return the orders that can still fill (new or partially filled)."""
        return self.orders(status=OPEN_STATUSES, symbol=symbol)

    def order_transitions(self, client_id: str | None = None) -> list[TransitionView]:
        """Return the recorded transitions (of one order, or all) in the order written."""
        q = (
            select(OrderTransition, Order.client_id)
            .join(Order, Order.id == OrderTransition.order_id)
            .order_by(OrderTransition.id)
        )
        if client_id is not None:
            q = q.where(Order.client_id == client_id)
        with self._reading() as s:
            return [to_view(TransitionView, t, client_id=cid) for t, cid in s.execute(q)]

    def fills(
        self, *, since_ms: int | None = None, until_ms: int | None = None, symbol: str | None = None
    ) -> list[FillView]:
        """Return fills with ``since_ms <= ts < until_ms`` (either open), by time then id."""
        q = select(Fill).order_by(Fill.ts, Fill.id)
        if since_ms is not None:
            q = q.where(Fill.ts >= since_ms)
        if until_ms is not None:
            q = q.where(Fill.ts < until_ms)
        if symbol is not None:
            q = q.where(Fill.symbol == symbol)
        with self._reading() as s:
            return [to_view(FillView, r) for r in s.scalars(q)]

    def last_fill(self, symbol: str | None = None) -> FillView | None:
        """Return the latest fill (of ``symbol``, or of any), or None."""
        q = select(Fill).order_by(Fill.ts.desc(), Fill.id.desc()).limit(1)
        if symbol is not None:
            q = q.where(Fill.symbol == symbol)
        with self._reading() as s:
            row = s.scalars(q).first()
            return None if row is None else to_view(FillView, row)
