"""The fill-cost model shared by the backtest kernel, the paper adapter and the simulated venue.

All functions are numba-compiled and callable from plain Python too, so there is one
implementation of fees and slippage for every way of turning targets into fills.

Slippage = fixed ``slippage_bps`` + impact. The impact is ``impact_coef`` times the account's
participation in the *reference quote volume*: the quote volume (close x volume) of the last
closed bar with a positive volume before the fill. When no such bar is known (a symbol's
first bar, an empty answer from the exchange) the impact is the configured
``unknown_volume_bps`` instead; callers count those fills and report them, or refuse the fill
when no fallback is configured (``costs.unknown_volume_bps: null``).

The participation counts everything the account took on the symbol since the last bar close
(``taken``, in quote currency), not only the fill at hand: the impact cost of a notional N taken
in one bar is ``impact_coef x min(N / V, 1) x N`` however it is split into orders, and each
fill pays its increment. So a trade split in two (a live engine closes a position with a
reduce-only order, then opens the other side) costs what the backtest's one trade of the same
total costs.
"""

from __future__ import annotations

import math

from numba import njit


@njit(cache=True, inline="always")
def fee_rate(taker_fee_bps: float, maker_fee_bps: float, is_maker: bool) -> float:
    """Return the fee as a fraction of notional for a maker or taker fill."""
    return (maker_fee_bps if is_maker else taker_fee_bps) * 1e-4


@njit(cache=True, inline="always")
def volume_known(ref_quote_volume: float) -> bool:
    """Return True if ``ref_quote_volume`` can serve as the impact reference (finite, > 0)."""
    return bool(math.isfinite(ref_quote_volume) and ref_quote_volume > 0.0)


@njit(cache=True, inline="always")
def impact_cost(impact_coef: float, notional: float, ref_quote_volume: float) -> float:
    """Return the impact cost (quote currency) of taking ``notional`` against a known volume."""
    n = abs(notional)
    return impact_coef * min(n / ref_quote_volume, 1.0) * n


@njit(cache=True, inline="always")
def fill_slippage(
    slippage_bps: float,
    impact_coef: float,
    notional: float,
    taken: float,
    ref_quote_volume: float,
    unknown_volume_bps: float,
) -> float:
    """Return the adverse price move of a fill as a fraction of the reference price.

    A fixed part (``slippage_bps``) plus the impact: the increase of :func:`impact_cost` from
    ``taken`` (notional the account already took on the symbol since the last bar close) to
    ``taken + notional``, per unit of ``notional``; with nothing taken, ``impact_coef`` times
    the fill's share of the reference quote volume (capped at 1). ``unknown_volume_bps``
    replaces the impact when that volume is unknown (see :func:`volume_known`; the caller
    counts or refuses such fills).
    """
    fixed = slippage_bps * 1e-4
    if not volume_known(ref_quote_volume):
        return fixed + unknown_volume_bps * 1e-4
    n = abs(notional)
    a = abs(taken)
    if n == 0.0:
        return fixed + impact_coef * min(a / ref_quote_volume, 1.0)
    grown = impact_cost(impact_coef, a + n, ref_quote_volume)
    return fixed + (grown - impact_cost(impact_coef, a, ref_quote_volume)) / n


@njit(cache=True, inline="always")
def slippage_fraction(
    slippage_bps: float,
    impact_coef: float,
    notional: float,
    ref_quote_volume: float,
    unknown_volume_bps: float,
) -> float:
    """Return :func:`fill_slippage` of a fill with nothing else taken in its bar."""
    return fill_slippage(
        slippage_bps, impact_coef, notional, 0.0, ref_quote_volume, unknown_volume_bps
    )


@njit(cache=True, inline="always")
def fill_price(ref_price: float, side: float, slip: float) -> float:
    """Return the price of a fill of ``side`` (+1 buy, -1 sell) with slippage ``slip``."""
    return ref_price * (1.0 + side * slip)


@njit(cache=True, inline="always")
def max_fill_qty(bar_volume: float, max_participation: float) -> float:
    """Return the most a passive order may fill in one bar (partial fills by participation)."""
    return max(bar_volume, 0.0) * max_participation
