"""Which symbols may trade at each bar: data, history, price, liquidity, allow and deny lists."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import UniverseConfig
from xsmom.strategy.at_rows import liquidity_at
from xsmom.strategy.cross_section import top_n_mask
from xsmom.strategy.rolling import rolling_mean, valid_count

F64 = npt.NDArray[np.float64]
B = npt.NDArray[np.bool_]
I64 = npt.NDArray[np.int64]


def universe_mask(symbols: Sequence[str], close: F64, volume: F64, cfg: UniverseConfig) -> B:
    """Return a (bars, symbols) mask of the names eligible at the close of each bar.

    A name is eligible when its bar exists, it has ``min_history`` bars so far, its close is at
    least ``min_price``, its trailing mean quote volume (close x volume over
    ``liquidity_lookback`` bars) is at least ``min_quote_volume`` and ranks within the
    ``max_symbols`` largest, and the allow and deny lists admit it.
    """
    quote_vol = rolling_mean(close * volume, cfg.liquidity_lookback, 1)
    return eligible(symbols, close, quote_vol, valid_count(close), cfg)


def universe_mask_at(
    symbols: Sequence[str], close: F64, volume: F64, rows: I64, cfg: UniverseConfig
) -> B:
    """Return :func:`universe_mask` at the bars ``rows`` only (same values)."""
    quote_vol, count = liquidity_at(close, volume, rows, cfg.liquidity_lookback, 1)
    return eligible(symbols, close[rows], quote_vol, count, cfg)


def eligible(
    symbols: Sequence[str], close: F64, quote_vol: F64, count: F64, cfg: UniverseConfig
) -> B:
    """Return the universe rule on rows of closes, trailing quote volumes and history."""
    has_bar = np.isfinite(close)
    mask = (
        has_bar
        & (count >= cfg.min_history)
        & (np.nan_to_num(close, nan=0.0) >= cfg.min_price)
        & (np.nan_to_num(quote_vol, nan=-1.0) >= cfg.min_quote_volume)
    )
    listed = np.array(
        [(not cfg.allow or s in cfg.allow) and s not in cfg.deny for s in symbols], dtype=bool
    )
    mask &= listed[None, :]
    return np.asarray(top_n_mask(np.nan_to_num(quote_vol, nan=-1.0), mask, cfg.max_symbols))
