"""Rounding of order quantities and prices to a market's precision: the one place it happens.

Quantities round down to the step (never trade more than intended); limit prices round to the
passive side (buys down, sells up) so rounding never makes a post-only order cross; stop
prices round to the nearest tick. Decimal arithmetic avoids binary float residue such as
``0.30000000000000004``. Conversions between base units and contracts (venues whose contract
size is not 1) are exact too: ``0.3 / 0.1`` is 3 contracts, not ``2.9999999999999996``
truncated to 2.
"""

from __future__ import annotations

import dataclasses
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal

from xsmom.errors import InvalidOrderError
from xsmom.exchange.reports import MarketInfo, OrderRequest, OrderSide


def _to_step(value: float, step: float, rounding: str) -> float:
    if step <= 0:
        return value
    d_step = Decimal(repr(step))
    units = (Decimal(repr(value)) / d_step).to_integral_value(rounding=rounding)
    return float(units * d_step)


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def to_contracts(market: MarketInfo, qty: float) -> float:
    """Return base-unit ``qty`` in contracts, exactly, rounded down to the contract step."""
    size = _dec(market.contract_size)
    if size <= 0:
        raise InvalidOrderError(f"{market.symbol}: contract size {market.contract_size} <= 0")
    contracts = _dec(qty) / size
    step = _dec(market.qty_step) / size
    if step > 0:
        contracts = (contracts / step).to_integral_value(rounding=ROUND_FLOOR) * step
    return float(contracts)


def from_contracts(contracts: float, contract_size: float) -> float:
    """Return ``contracts`` in base units, exactly (``3 x 0.1`` is 0.3)."""
    return float(_dec(contracts) * _dec(contract_size))


def round_qty(market: MarketInfo, qty: float) -> float:
    """Return ``qty`` rounded down to the market's quantity step."""
    return _to_step(qty, market.qty_step, ROUND_FLOOR)


def round_price(market: MarketInfo, price: float, side: OrderSide | None = None) -> float:
    """Return ``price`` on the tick grid: passive side for ``side``, nearest if None."""
    if side is OrderSide.BUY:
        return _to_step(price, market.price_tick, ROUND_FLOOR)
    if side is OrderSide.SELL:
        return _to_step(price, market.price_tick, ROUND_CEILING)
    return _to_step(price, market.price_tick, ROUND_HALF_EVEN)


def prepare_order(
    market: MarketInfo, request: OrderRequest, ref_price: float | None = None
) -> OrderRequest:
    """Return ``request`` rounded to ``market``; refuse it below min qty or min notional.

    ``ref_price`` (e.g. the last price) is used for the notional check of orders without a
    limit price; reduce-only orders are exempt from min notional, as on Binance.
    """
    if request.symbol != market.symbol:
        raise InvalidOrderError(f"order for {request.symbol} checked against {market.symbol}")
    qty = round_qty(market, request.qty)
    if qty <= 0 or qty < market.min_qty:
        raise InvalidOrderError(
            f"{request.symbol}: qty {request.qty} rounds to {qty}, below min qty {market.min_qty}"
        )
    price = None if request.price is None else round_price(market, request.price, request.side)
    stop = None if request.stop_price is None else round_price(market, request.stop_price)
    px = price if price is not None else ref_price
    if not request.reduce_only and px is not None:
        notional = qty * px * market.contract_size
        if notional < market.min_notional:
            raise InvalidOrderError(
                f"{request.symbol}: notional {notional:.4f} below min notional "
                f"{market.min_notional}"
            )
    return dataclasses.replace(request, qty=qty, price=price, stop_price=stop)
