"""Order checks of the matching engine, as pure functions raising coded rejects."""

from __future__ import annotations

from xsmom.sim import types as t
from xsmom.sim.types import FeeModel, MarketSpec, OrderType, Side, TimeInForce, reject


def crosses(side: str, price: float, last: float) -> bool:
    """Return True if a buy at ``price`` (or sell) would trade against ``last`` right now."""
    return price >= last if side == "buy" else price <= last


def triggered(side: str, stop: float, last: float) -> bool:
    """Return True if a stop of ``side`` at ``stop`` is already passed by ``last``."""
    return stop <= last if side == "buy" else stop >= last


def check_shape(
    spec: MarketSpec,
    side: str,
    type_: str,
    qty: float,
    price: float | None,
    stop_price: float | None,
) -> None:
    """Refuse bad side/type, quantity and price filters (-1102, -4003, -1111, -4014)."""
    if side not in ("buy", "sell") or type_ not in ("market", "limit", "stop_market"):
        raise reject(t.BAD_PARAM, "Invalid side or order type.")
    if qty <= 0 or qty < spec.min_qty - 1e-12:
        raise reject(t.QTY_TOO_SMALL, "Quantity less than or equal to zero.")
    if not t.on_grid(qty, spec.qty_step):
        raise reject(t.QTY_PRECISION, "Precision is over the maximum defined for this asset.")
    needed = {"limit": price, "stop_market": stop_price}.get(type_, 1.0)
    if needed is None or needed <= 0:
        raise reject(t.BAD_PARAM, "Mandatory parameter 'price' was not sent or is invalid.")
    for p in (price, stop_price):
        if p is not None and not t.on_grid(p, spec.price_tick):
            raise reject(t.PRICE_TICK, "Price not increased by tick size.")


def check_against_market(
    side: Side,
    type_: OrderType,
    price: float | None,
    stop_price: float | None,
    tif: TimeInForce,
    last: float | None,
) -> None:
    """Refuse a post-only order that would take (-5022) and a stop already passed (-2021)."""
    if last is None:
        return
    if type_ == "limit" and tif == "GTX" and price is not None and crosses(side, price, last):
        raise reject(
            t.POST_ONLY_REJECT,
            "Due to the order could not be executed as maker, the Post Only order will be "
            "rejected. The order will not be recorded in the order history",
        )
    if type_ == "stop_market" and stop_price is not None and triggered(side, stop_price, last):
        raise reject(t.WOULD_TRIGGER, "Order would immediately trigger.")


def check_reduce_and_margin(
    spec: MarketSpec,
    side: Side,
    qty: float,
    ref: float | None,
    *,
    reduce_only: bool,
    position_qty: float,
    leverage: int,
    available: float,
    fees: FeeModel,
) -> None:
    """Refuse reduce-only orders that face no position (-2022), small (-4164) or unfunded
    (-2019) orders; ``ref`` is the price the order is valued at (None: unknown yet)."""
    signed = qty if side == "buy" else -qty
    opposite = position_qty * signed < 0
    if reduce_only:
        if not opposite:
            raise reject(t.REDUCE_ONLY_REJECT, "ReduceOnly Order is rejected.")
        return
    if ref is None:
        return
    notional = qty * ref * spec.contract_size
    if notional < spec.min_notional - 1e-9:
        raise reject(
            t.MIN_NOTIONAL,
            f"Order's notional must be no smaller than {spec.min_notional:g} "
            "(unless you choose reduce only).",
        )
    growth = qty - (min(qty, abs(position_qty)) if opposite else 0.0)
    need = growth * ref * spec.contract_size / leverage + fees.fee(notional, is_maker=False)
    if growth > 0 and need > available + 1e-9:
        raise reject(t.MARGIN_INSUFFICIENT, "Margin is insufficient.")
