"""The fill-cost model shared by the backtest kernel, the paper adapter and the simulated venue.

All functions are numba-compiled and callable from plain Python too, so there is one
implementation of fees and slippage for every way of turning targets into fills.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True, inline="always")
def fee_rate(taker_fee_bps: float, maker_fee_bps: float, is_maker: bool) -> float:
    """Return the fee as a fraction of notional for a maker or taker fill."""
    return (maker_fee_bps if is_maker else taker_fee_bps) * 1e-4


@njit(cache=True, inline="always")
def slippage_fraction(
    slippage_bps: float, impact_coef: float, notional: float, ref_quote_volume: float
) -> float:
    """Return the adverse price move of a fill as a fraction of the reference price.

    A fixed part (``slippage_bps``) plus a participation term: ``impact_coef`` times the
    order's share of the reference bar's quote volume (capped at 1). A bar with no volume
    counts as full participation.
    """
    if ref_quote_volume > 0.0:
        part = abs(notional) / ref_quote_volume
        part = min(part, 1.0)
    else:
        part = 1.0
    return slippage_bps * 1e-4 + impact_coef * part


@njit(cache=True, inline="always")
def fill_price(ref_price: float, side: float, slip: float) -> float:
    """Return the price of a fill of ``side`` (+1 buy, -1 sell) with slippage ``slip``."""
    return ref_price * (1.0 + side * slip)


@njit(cache=True, inline="always")
def max_fill_qty(bar_volume: float, max_participation: float) -> float:
    """Return the most a passive order may fill in one bar (partial fills by participation)."""
    return max(bar_volume, 0.0) * max_participation
