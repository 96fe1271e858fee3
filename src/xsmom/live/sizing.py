"""From weights to quantities, and the margin ratio the margin guard reads."""

from __future__ import annotations

import math
from collections.abc import Mapping

from xsmom.errors import DataError
from xsmom.exchange.reports import BalanceReport


def target_quantities(
    weights: Mapping[str, float], equity: float, prices: Mapping[str, float]
) -> dict[str, float]:
    """Return signed base quantities ``weight x equity / price`` (DataError on a missing price)."""
    out: dict[str, float] = {}
    for symbol, w in weights.items():
        if not math.isfinite(w):
            raise DataError(f"{symbol}: target weight {w} is not a number")
        if w == 0:
            out[symbol] = 0.0
            continue
        price = prices.get(symbol)
        if price is None or not price > 0:
            raise DataError(f"{symbol}: no price to size the target weight {w:g}")
        out[symbol] = w * equity / price
    return out


def margin_ratio(balance: BalanceReport) -> float:
    """Return used margin / equity (infinite when equity is not positive)."""
    if balance.equity <= 0:
        return math.inf
    return balance.used_margin / balance.equity
