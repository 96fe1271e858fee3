"""The matching engine shared by the simulated venue and the paper adapter.

Pure Python, no I/O and no clock: every call takes the time ``ts`` (int ms UTC) it happens at,
so the same calls always give the same result. Not thread-safe: a caller serving several
threads holds one lock around it (the venue server does).

Public API (all keyword-only where it matters)::

    from xsmom.sim import MatchingEngine, MarketSpec, FeeModel, Bar

    eng = MatchingEngine(markets: Mapping[str, MarketSpec], fees: FeeModel,
                         initial_balance: float, default_leverage: int = 20,
                         client_id_rule="ever"|"open")
    eng.update_price(symbol, last=..., mark=None, quote_volume=None, ts=...)  # current price
    eng.submit(symbol=, side="buy"|"sell", type="market"|"limit"|"stop_market", qty=,
               price=None, stop_price=None, post_only=False, reduce_only=False,
               time_in_force="GTC"|"IOC"|"FOK"|"GTX", client_id=None, ts=) -> Order
    eng.cancel(symbol=, order_id=None, client_id=None, ts=) -> Order
    eng.cancel_all(symbol, ts=) -> list[Order]
    eng.on_bar(symbol, bar: Bar, ts=) -> list[Fill]       # a bar closed: match resting orders
    eng.settle_funding(symbol, rate, mark_price, ts=) -> float   # cash received (<0: paid)
    eng.mark(symbol, price, ts=) -> list[Fill]            # new mark; may liquidate
    eng.set_leverage(symbol, leverage) -> int ; eng.set_margin_mode(symbol, "cross"|"isolated")
    eng.order(order_id=None, client_id=None) -> Order      # raises VenueOrderNotFound (-2013)
    eng.orders(symbol=None) / eng.open_orders(symbol=None) -> list[Order]
    eng.fills(symbol=None) -> list[Fill] ; eng.funding_payments() -> list[FundingPayment]
    eng.fills_from(index) -> list[Fill]                    # the fills after the first index
    eng.position(symbol) -> Position ; eng.positions() -> list[Position]  (non-flat only)
    eng.balance() -> Balance ; eng.last_price(symbol) / eng.mark_price(symbol) -> float | None
    eng.snapshot() -> dict (JSON-able) ; MatchingEngine.restore(d) -> MatchingEngine

Fill model (the backtest's, via :class:`FeeModel` -> :mod:`xsmom.backtest.costs`):

* Market orders fill at once, in full, as taker at the last price moved by
  ``fill_slippage`` of the backtest: impact from the account's participation in the quote
  volume of the last closed bar, counting every taker fill of the symbol since that bar closed
  (two orders cost what one of their sum costs). With no price known yet they rest and fill
  at the next bar's open. Every taker fill's reference is the last closed bar with volume
  before it; with none known, ``FeeModel.unknown_volume_bps`` is charged, logged as a
  warning and counted in ``unknown_volume_fills`` (never full participation in silence).
* Limit orders that cross the last price fill at once as taker (never worse than the limit);
  post-only (GTX) ones are rejected instead (-5022). Resting limits fill as maker at their price
  when a later bar trades through it (buy: low < price; sell: high > price), at most
  ``max_participation * bar volume`` per bar and symbol (shared in time priority), so large
  orders fill partially over several bars. IOC/FOK limits expire what does not fill at once.
* Stop-market orders trigger when a bar reaches the stop (buy: high >= stop; sell: low <= stop)
  and fill as taker at the stop, or at the open if the bar gapped past it, plus slippage. A stop
  that the last price already passed is rejected (-2021).
* Reduce-only orders must face the position (-2022); at fill they are clipped to the position
  and expire when it is flat. They are exempt from min notional and the margin check.
* Margin: cross, in USDT. An order that grows exposure needs ``notional / leverage`` plus the
  taker fee from ``available = equity - position margin - open order margin`` (-2019).
* Funding: a position of signed quantity q pays ``q * mark * rate`` (longs pay when rate > 0).
* Liquidation: when equity < maintenance margin (``notional * maintenance_margin_rate``), all
  orders are canceled and every position is closed at the mark with ``liquidation_fee_bps``;
  the wallet is floored at 0 (the insurance fund takes the rest).

Rejects raise the :mod:`xsmom.sim.types` errors (subclasses of the project's error tree) with
``.code`` set to the Binance code: -2019 margin, -4164 min notional, -4014 price tick, -1111
quantity step, -4003 quantity too small, -5022 post-only, -2022 reduce-only, -2021 would trigger,
-2013 order does not exist, -2011 cancel of a closed order, -4116 duplicate client id (any
order ever, or only an open one with ``client_id_rule="open"``, Binance's rule), -1121
unknown symbol, -4028 bad leverage, -4046/-4048 margin mode.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, replace
from typing import Any, Literal

from xsmom.backtest.costs import volume_known
from xsmom.errors import ConfigError
from xsmom.sim import checks
from xsmom.sim import types as t
from xsmom.sim.account import Account
from xsmom.sim.types import (
    Balance,
    Bar,
    FeeModel,
    Fill,
    FundingPayment,
    MarginMode,
    MarketSpec,
    Order,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TimeInForce,
    reject,
)

log = logging.getLogger(__name__)
ClientIdRule = Literal["open", "ever"]


class MatchingEngine:
    """Orders, fills and the account of one simulated trader; see the module docstring."""

    def __init__(
        self,
        markets: Mapping[str, MarketSpec],
        fees: FeeModel,
        initial_balance: float,
        default_leverage: int = 20,
        *,
        client_id_rule: ClientIdRule = "ever",
    ) -> None:
        if client_id_rule not in ("open", "ever"):
            raise ConfigError(f"client id rule must be 'open' or 'ever', not {client_id_rule!r}")
        self.client_id_rule: ClientIdRule = client_id_rule
        self.markets = dict(markets)
        self.fees = fees
        self.account = Account(self.markets, initial_balance, default_leverage)
        self._orders: dict[int, Order] = {}
        self._open: dict[int, None] = {}  # ids of open orders, in time priority
        self._by_client: dict[str, int] = {}
        self._fills: list[Fill] = []  # in trade id order: fill n has index n - 1
        self._fills_of: dict[str, list[Fill]] = {}  # the same fills by symbol
        self._last: dict[str, float] = {}
        self._ref_qv: dict[str, float] = {}
        self._taken: dict[str, float] = {}  # taker notional since the symbol's last bar close
        self._next_order_id = 1
        self._next_trade_id = 1
        self.unknown_volume_fills = 0  # taker fills priced with no reference volume

    # ---- prices ------------------------------------------------------------------------------
    def update_price(
        self,
        symbol: str,
        *,
        last: float,
        mark: float | None = None,
        quote_volume: float | None = None,
        ts: int,
    ) -> list[Fill]:
        """Set the current trade price (and mark, and reference quote volume) of ``symbol``."""
        self._spec(symbol)
        self._last[symbol] = last
        if quote_volume is not None and volume_known(quote_volume):
            self._ref_qv[symbol] = quote_volume
        return self.mark(symbol, mark if mark is not None else last, ts=ts)

    def mark(self, symbol: str, price: float, *, ts: int) -> list[Fill]:
        """Set the mark price of ``symbol``; liquidate if equity falls below maintenance."""
        self._spec(symbol)
        self.account.marks[symbol] = price
        return self._check_liquidation(ts)

    def last_price(self, symbol: str) -> float | None:
        """Return the last trade price seen for ``symbol``."""
        return self._last.get(symbol)

    def mark_price(self, symbol: str) -> float | None:
        """Return the mark price of ``symbol``."""
        return self.account.marks.get(symbol)

    # ---- orders ------------------------------------------------------------------------------
    def submit(
        self,
        *,
        symbol: str,
        side: Side,
        type: OrderType,  # the Binance/ccxt name of the field
        qty: float,
        price: float | None = None,
        stop_price: float | None = None,
        post_only: bool = False,
        reduce_only: bool = False,
        time_in_force: TimeInForce = "GTC",
        client_id: str | None = None,
        ts: int,
    ) -> Order:
        """Accept an order (and fill what crosses at once) or raise a coded reject."""
        spec = self._spec(symbol)
        tif: TimeInForce = "GTX" if post_only else time_in_force
        checks.check_shape(spec, side, type, qty, price, stop_price)
        if client_id is not None and self._client_id_taken(client_id):
            raise reject(t.DUPLICATE_CLIENT_ID, "ClientOrderId is duplicated.")
        checks.check_against_market(side, type, price, stop_price, tif, self._last.get(symbol))
        pos = self.account.positions[symbol]
        checks.check_reduce_and_margin(
            spec,
            side,
            qty,
            self._ref_price(symbol, type, price, stop_price),
            reduce_only=reduce_only,
            position_qty=pos.qty,
            leverage=pos.leverage,
            available=self.balance().available,
            fees=self.fees,
        )
        oid = self._next_order_id
        self._next_order_id += 1
        order = Order(
            order_id=oid,
            client_id=client_id or f"x-venue-{oid}",
            symbol=symbol,
            side=side,
            type=type,
            qty=qty,
            price=price,
            stop_price=stop_price,
            time_in_force=tif if type == "limit" else "GTC",
            reduce_only=reduce_only,
            status=OrderStatus.NEW,
            filled_qty=0.0,
            avg_price=0.0,
            ts_created=ts,
            ts_updated=ts,
        )
        self._put(order)
        self._execute_now(order, ts)
        return self._orders[oid]

    def cancel(
        self, *, symbol: str, order_id: int | None = None, client_id: str | None = None, ts: int
    ) -> Order:
        """Cancel an open order; -2013 if unknown, -2011 if no longer open."""
        order = self.order(order_id=order_id, client_id=client_id)
        if order.symbol != symbol:
            raise reject(t.ORDER_NOT_FOUND, "Order does not exist.")
        if not order.is_open:
            raise reject(t.UNKNOWN_ORDER, "Unknown order sent.")
        return self._close(order, OrderStatus.CANCELED, ts)

    def cancel_all(self, symbol: str, *, ts: int) -> list[Order]:
        """Cancel every open order of ``symbol``."""
        return [self._close(o, OrderStatus.CANCELED, ts) for o in self.open_orders(symbol)]

    def _client_id_taken(self, client_id: str) -> bool:
        """Return True if a new order may not use ``client_id`` under the id rule.

        ``ever``: no id is ever reused. ``open`` (Binance's rule): an id is unique among open
        orders only, so the id of a filled or canceled order can be used again.
        """
        oid = self._by_client.get(client_id)
        if oid is None:
            return False
        return self.client_id_rule == "ever" or self._orders[oid].is_open

    def order(self, *, order_id: int | None = None, client_id: str | None = None) -> Order:
        """Return an order by venue id or client id (the newest with it); -2013 if none."""
        oid = order_id if order_id is not None else self._by_client.get(client_id or "")
        if oid is None or oid not in self._orders:
            raise reject(t.ORDER_NOT_FOUND, "Order does not exist.")
        return self._orders[oid]

    def orders(self, symbol: str | None = None) -> list[Order]:
        """Return all orders (any status), oldest first."""
        return [o for o in self._orders.values() if symbol is None or o.symbol == symbol]

    def open_orders(self, symbol: str | None = None) -> list[Order]:
        """Return the orders that may still fill, oldest first."""
        found = (self._orders[i] for i in self._open)
        return [o for o in found if symbol is None or o.symbol == symbol]

    def fills(self, symbol: str | None = None) -> list[Fill]:
        """Return the account's executions, oldest first."""
        if symbol is None:
            return list(self._fills)
        return list(self._fills_of.get(symbol, ()))

    def fills_from(self, index: int) -> list[Fill]:
        """Return the executions after the first ``index`` ones (what a journal lacks)."""
        return self._fills[index:]

    # ---- market events -----------------------------------------------------------------------
    def on_bar(self, symbol: str, bar: Bar, *, ts: int) -> list[Fill]:
        """Match resting orders of ``symbol`` against a closed bar, then take its close/mark."""
        self._spec(symbol)
        fills: list[Fill] = []
        budget = self.fees.passive_cap(bar.volume)
        for order in self.open_orders(symbol):
            if order.type == "market":
                fills += self._fill_taker(order, bar.open, self._ref(symbol), ts)
            elif order.type == "stop_market":
                fills += self._maybe_trigger(order, bar, ts)
            else:
                got = self._maybe_rest_fill(order, bar, budget, ts)
                budget -= sum(f.qty for f in got)
                fills += got
        self._last[symbol] = bar.close
        self._taken.pop(symbol, None)  # a new bar: participation counts again from nothing
        if volume_known(bar.volume * bar.close):  # a bar that traded nothing keeps the last
            self._ref_qv[symbol] = bar.volume * bar.close
        fills += self.mark(symbol, bar.mark if bar.mark is not None else bar.close, ts=ts)
        return fills

    def settle_funding(self, symbol: str, rate: float, mark_price: float, *, ts: int) -> float:
        """Settle one funding event; return the cash the account received (< 0: paid)."""
        self._spec(symbol)
        amount = self.account.settle_funding(symbol, rate, mark_price, ts)
        self._check_liquidation(ts)
        return amount

    def funding_payments(self) -> list[FundingPayment]:
        """Return the funding settlements that touched a position, oldest first."""
        return list(self.account.funding)

    # ---- account -----------------------------------------------------------------------------
    def set_leverage(self, symbol: str, leverage: int) -> int:
        """Set the leverage of ``symbol`` (1..max_leverage); -4028 otherwise."""
        spec = self._spec(symbol)
        if not 1 <= leverage <= spec.max_leverage:
            raise reject(t.BAD_LEVERAGE, f"Leverage {leverage} is not valid")
        self.account.positions[symbol].leverage = leverage
        return leverage

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Record the margin mode of ``symbol`` (margin is computed as cross either way)."""
        self._spec(symbol)
        pos = self.account.positions[symbol]
        if pos.margin_mode == mode:
            raise reject(t.MARGIN_MODE_SAME, "No need to change margin type.")
        if pos.qty != 0.0 or self.open_orders(symbol):
            raise reject(
                t.MARGIN_MODE_HAS_POSITION,
                "Margin type cannot be changed if there exists position.",
            )
        pos.margin_mode = mode

    def position(self, symbol: str) -> Position:
        """Return the position of ``symbol`` (qty 0 when flat)."""
        self._spec(symbol)
        return self.account.position(symbol)

    def positions(self) -> list[Position]:
        """Return the non-flat positions."""
        return self.account.open_positions()

    def balance(self) -> Balance:
        """Return the account summary."""
        return self.account.balance(self._order_margin())

    # ---- persistence -------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """Return the whole state as JSON-able data (see :meth:`restore`)."""
        return {
            "version": 1,
            "markets": {s: asdict(m) for s, m in self.markets.items()},
            "fees": asdict(self.fees),
            "account": self.account.snapshot(),
            "orders": [asdict(o) for o in self._orders.values()],
            "fills": [asdict(f) for f in self._fills],
            "last": dict(self._last),
            "ref_qv": dict(self._ref_qv),
            "taken": dict(self._taken),
            "next_order_id": self._next_order_id,
            "next_trade_id": self._next_trade_id,
            "unknown_volume_fills": self.unknown_volume_fills,
        }

    def prices_state(self) -> dict[str, dict[str, float]]:
        """Return the last prices, reference quote volumes and notional taken in the bar."""
        return {"last": dict(self._last), "ref_qv": dict(self._ref_qv), "taken": dict(self._taken)}

    @property
    def next_ids(self) -> tuple[int, int]:
        """Return the ids the next order and the next fill will get."""
        return self._next_order_id, self._next_trade_id

    @classmethod
    def restore(
        cls, data: Mapping[str, Any], *, client_id_rule: ClientIdRule = "ever"
    ) -> MatchingEngine:
        """Rebuild an engine from :meth:`snapshot` output."""
        markets = {s: MarketSpec(**m) for s, m in data["markets"].items()}
        eng = cls(markets, FeeModel(**data["fees"]), 0.0, client_id_rule=client_id_rule)
        eng.account.restore(data["account"])
        for raw in data["orders"]:
            order = Order(**{**raw, "status": OrderStatus(raw["status"])})
            eng._put(order)
        for f in data["fills"]:
            eng._add_fill(Fill(**f))
        eng._last = {s: float(v) for s, v in data["last"].items()}
        eng._ref_qv = {s: float(v) for s, v in data["ref_qv"].items()}
        eng._taken = {s: float(v) for s, v in data.get("taken", {}).items()}  # older: none
        eng._next_order_id = int(data["next_order_id"])
        eng._next_trade_id = int(data["next_trade_id"])
        eng.unknown_volume_fills = int(data.get("unknown_volume_fills", 0))
        return eng

    # ---- validation --------------------------------------------------------------------------
    def _spec(self, symbol: str) -> MarketSpec:
        spec = self.markets.get(symbol)
        if spec is None:
            raise reject(t.BAD_SYMBOL, "Invalid symbol.")
        return spec

    def _ref_price(
        self, symbol: str, type_: OrderType, price: float | None, stop_price: float | None
    ) -> float | None:
        if type_ == "limit":
            return price
        if type_ == "stop_market":
            return stop_price
        return self._last.get(symbol)

    def _ref(self, symbol: str) -> float:
        # the impact reference: quote volume of the last closed bar before the fill
        return self._ref_qv.get(symbol, math.nan)

    def _order_margin(self) -> float:
        total = 0.0
        for o in self.open_orders():
            if o.reduce_only:
                continue
            ref = self._ref_price(o.symbol, o.type, o.price, o.stop_price) or 0.0
            lev = self.account.positions[o.symbol].leverage
            total += o.remaining * ref * self.markets[o.symbol].contract_size / lev
        return total

    # ---- execution ---------------------------------------------------------------------------
    def _execute_now(self, order: Order, ts: int) -> None:
        last = self._last.get(order.symbol)
        if last is None or order.type == "stop_market":
            return
        if order.type == "market":
            self._fill_taker(order, last, self._ref(order.symbol), ts)
            return
        assert order.price is not None  # checks.check_shape requires it
        if checks.crosses(order.side, order.price, last):
            self._fill_taker(order, last, self._ref(order.symbol), ts, limit=order.price)
        current = self._orders[order.order_id]
        if current.is_open and current.time_in_force in ("IOC", "FOK"):
            self._close(current, OrderStatus.EXPIRED, ts)

    def _reduce_cap(self, order: Order) -> float:
        if not order.reduce_only:
            return order.remaining
        pos = self.account.positions[order.symbol].qty
        facing = (pos > 0 and order.side == "sell") or (pos < 0 and order.side == "buy")
        return min(order.remaining, abs(pos)) if facing else 0.0

    def _fill_taker(
        self, order: Order, ref: float, ref_qv: float, ts: int, limit: float | None = None
    ) -> list[Fill]:
        qty = self._reduce_cap(order)
        if qty <= 0:
            self._close(order, OrderStatus.EXPIRED, ts)
            return []
        cs = self.markets[order.symbol].contract_size
        if not volume_known(ref_qv):
            self.unknown_volume_fills += 1
            log.warning(
                "%s: no reference volume for a taker fill; charged unknown_volume_bps = %s",
                order.symbol,
                self.fees.unknown_volume_bps,
            )
        notional = qty * ref * cs
        taken = self._taken.get(order.symbol, 0.0)
        price = self.fees.taker_price(ref, order.side, notional, ref_qv, taken=taken)
        self._taken[order.symbol] = taken + notional
        if limit is not None:
            price = min(price, limit) if order.side == "buy" else max(price, limit)
        return [self._fill(order, qty, price, False, ts)]

    def _maybe_trigger(self, order: Order, bar: Bar, ts: int) -> list[Fill]:
        stop = order.stop_price
        assert stop is not None  # stop orders always carry it
        if order.side == "buy" and bar.high >= stop:
            return self._fill_taker(order, max(stop, bar.open), self._ref(order.symbol), ts)
        if order.side == "sell" and bar.low <= stop:
            return self._fill_taker(order, min(stop, bar.open), self._ref(order.symbol), ts)
        return []

    def _maybe_rest_fill(self, order: Order, bar: Bar, budget: float, ts: int) -> list[Fill]:
        price = order.price
        assert price is not None  # limit orders always carry it
        through = bar.low < price if order.side == "buy" else bar.high > price
        if not through:
            return []
        cap = self._reduce_cap(order)
        if order.reduce_only and cap <= 0:
            self._close(order, OrderStatus.EXPIRED, ts)
            return []
        qty = _floor_step(min(cap, budget), self.markets[order.symbol].qty_step)
        if qty <= 0:
            return []
        return [self._fill(order, qty, price, True, ts)]

    def _fill(
        self, order: Order, qty: float, price: float, is_maker: bool, ts: int, liq: bool = False
    ) -> Fill:
        spec = self.markets[order.symbol]
        notional = qty * price * spec.contract_size
        fee = notional * self.fees.liquidation_fee_bps * 1e-4 if liq else 0.0
        if not liq:
            fee = self.fees.fee(notional, is_maker=is_maker)
        realized = self.account.apply_fill(order.symbol, order.side, qty, price, fee)
        filled = order.filled_qty + qty
        avg = (order.avg_price * order.filled_qty + price * qty) / filled
        done = filled >= order.qty - 1e-12
        self._put(
            replace(
                order,
                filled_qty=filled,
                avg_price=avg,
                status=OrderStatus.FILLED if done else OrderStatus.PARTIALLY_FILLED,
                ts_updated=ts,
            )
        )
        fill = Fill(
            trade_id=self._next_trade_id,
            order_id=order.order_id,
            client_id=order.client_id,
            symbol=order.symbol,
            side=order.side,
            qty=qty,
            price=price,
            fee=fee,
            is_maker=is_maker,
            realized_pnl=realized,
            ts=ts,
            liquidation=liq,
        )
        self._next_trade_id += 1
        self._add_fill(fill)
        current = self._orders[order.order_id]
        if current.reduce_only and current.is_open and self._reduce_cap(current) <= 0:
            self._close(current, OrderStatus.EXPIRED, ts)
        return fill

    def _close(self, order: Order, status: OrderStatus, ts: int) -> Order:
        closed = replace(self._orders[order.order_id], status=status, ts_updated=ts)
        self._put(closed)
        return closed

    def _add_fill(self, fill: Fill) -> None:
        self._fills.append(fill)
        self._fills_of.setdefault(fill.symbol, []).append(fill)

    def _put(self, order: Order) -> None:
        """Store an order's new state and keep the open-order and client-id indexes."""
        self._orders[order.order_id] = order
        self._by_client[order.client_id] = order.order_id
        if order.is_open:
            self._open[order.order_id] = None
        else:
            self._open.pop(order.order_id, None)

    def _check_liquidation(self, ts: int) -> list[Fill]:
        if not self.account.is_liquidatable():
            return []
        for o in self.open_orders():
            self._close(o, OrderStatus.CANCELED, ts)
        fills: list[Fill] = []
        for pos in self.account.open_positions():
            side: Side = "sell" if pos.qty > 0 else "buy"
            oid = self._next_order_id
            self._next_order_id += 1
            order = Order(
                order_id=oid,
                client_id=f"autoclose-{ts}-{oid}",
                symbol=pos.symbol,
                side=side,
                type="market",
                qty=abs(pos.qty),
                price=None,
                stop_price=None,
                time_in_force="GTC",
                reduce_only=True,
                status=OrderStatus.NEW,
                filled_qty=0.0,
                avg_price=0.0,
                ts_created=ts,
                ts_updated=ts,
            )
            self._put(order)
            fills.append(self._fill(order, abs(pos.qty), pos.mark_price, False, ts, liq=True))
        self.account.wallet = max(self.account.wallet, 0.0)
        return fills


def _floor_step(qty: float, step: float) -> float:
    n = int(qty / step + 1e-9)
    return round(n * step, 12)
