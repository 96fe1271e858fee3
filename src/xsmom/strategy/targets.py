"""The one strategy function: closed bars in, target weights out.

Backtest, optimizer, paper and live all call :func:`compute_targets`. Row t of every output
uses bars 0..t only (their closes included), and is meant to be traded at the open of bar t+1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import StrategyConfig
from xsmom.data.panel import MarketPanel
from xsmom.strategy.cross_section import zscore
from xsmom.strategy.exits import apply_exits
from xsmom.strategy.funding import trailing_funding
from xsmom.strategy.regime import XSMOM, dispersion_ratio, regime_series
from xsmom.strategy.rolling import average_true_range
from xsmom.strategy.selection import k_series, select_sides
from xsmom.strategy.signals import bar_volatility, log_prices, momentum_score
from xsmom.strategy.universe import universe_mask
from xsmom.strategy.weights import apply_weight_band, hold_between_rebalances, size_weights

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Targets:
    """What the strategy wants, per bar (rows) and symbol (columns).

    ``weights[t]``: signed notional / equity to hold from the open of bar t+1.
    ``exit_price[t]``/``exit_reason[t]``: a stop that closed the position inside bar t.
    ``stop_price[t]``: the stop level in force during bar t+1 for a held position.
    ``regime[t]``: 0 = xsmom, 1 = tsmom, chosen at the close of bar t.
    """

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    weights: F64
    exit_price: F64
    exit_reason: npt.NDArray[np.int8]
    stop_price: F64
    regime: npt.NDArray[np.int8]
    eligible: npt.NDArray[np.bool_]
    score: F64


def _signal(
    panel: MarketPanel,
    cfg: StrategyConfig,
    score: F64,
    mask: npt.NDArray[np.bool_],
    regime: npt.NDArray[np.int8],
) -> F64:
    z = zscore(np.where(mask, score, 0.0), mask, cfg.signal.zscore_clip)
    ts = np.clip(np.nan_to_num(score, nan=0.0), -cfg.signal.zscore_clip, cfg.signal.zscore_clip)
    sig = np.where((regime == XSMOM)[:, None], z, ts)
    if cfg.funding.tilt > 0:
        fz = zscore(trailing_funding(panel.funding_rate, cfg.funding.lookback), mask, 3.0)
        sig = sig - cfg.funding.tilt * fz
    return np.asarray(np.where(mask, sig, 0.0))


def compute_targets(panel: MarketPanel, cfg: StrategyConfig) -> Targets:
    """Compute target weights for every bar of ``panel`` (see the module docstring)."""
    logp = log_prices(panel.close)
    vol = bar_volatility(logp, cfg.signal.vol_lookback)
    score = momentum_score(logp, vol, cfg.signal)
    mask = universe_mask(panel.symbols, panel.close, panel.volume, cfg.universe)
    mask &= np.isfinite(score) & np.isfinite(vol) & (np.nan_to_num(vol) > 0)
    regime = regime_series(panel.symbols, logp, vol, score, mask, cfg.regime)
    signal = _signal(panel, cfg, score, mask, regime)
    sel = cfg.selection
    ks = k_series(sel, dispersion_ratio(score, mask, cfg.regime.dispersion_lookback))
    sides = select_sides(signal, mask, ks, sel.exit_band, sel.mode == "all")
    pf = cfg.portfolio
    w = size_weights(
        signal,
        sides,
        vol,
        regime,
        cfg.signal.power,
        pf.gross_leverage,
        pf.max_weight,
        pf.market_neutral,
    )
    w = hold_between_rebalances(w, panel.timestamps, panel.bar_ms, pf.rebalance_every)
    w = apply_weight_band(w, sel.weight_band)
    atr = average_true_range(panel.high, panel.low, panel.close, cfg.exits.atr_period)
    ex = apply_exits(w, panel.open, panel.high, panel.low, panel.close, atr, cfg.exits)
    return Targets(
        symbols=panel.symbols,
        timestamps=panel.timestamps,
        weights=ex.weights,
        exit_price=ex.exit_price,
        exit_reason=ex.exit_reason,
        stop_price=ex.stop_price,
        regime=regime,
        eligible=mask,
        score=score,
    )
