"""The one strategy function: closed bars in, target weights out.

Backtest, optimizer, paper and live all call :func:`compute_targets`. Row t of every output
uses bars 0..t only (their closes included), and is meant to be traded at the open of bar t+1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import StrategyConfig
from xsmom.data.panel import MarketPanel
from xsmom.strategy.cache import StageCache
from xsmom.strategy.cross_section import zscore
from xsmom.strategy.exits import apply_exits
from xsmom.strategy.funding import trailing_funding
from xsmom.strategy.regime import XSMOM, dispersion_ratio, regime_series
from xsmom.strategy.rolling import average_true_range
from xsmom.strategy.selection import k_series, select_sides
from xsmom.strategy.signals import bar_volatility, log_prices, momentum_score
from xsmom.strategy.universe import universe_mask
from xsmom.strategy.weights import (
    apply_weight_band,
    hold_between_rebalances,
    rebalance_rows,
    size_weights,
)

F64 = npt.NDArray[np.float64]
T = TypeVar("T")


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

    @cached_property
    def exit_rows(self) -> npt.NDArray[np.bool_]:
        """Return, per bar, whether any position was stopped out inside it."""
        return np.asarray(np.isfinite(self.exit_price).any(axis=1))


@dataclass(frozen=True, eq=False)
class RebalanceBook:
    """The book decided at the rebalance closes, before gating and exits, with its stages.

    ``weights[i]`` is the target at the close of bar ``rows[i]``; the other arrays are per
    bar. The meta-labeler reads it (events, features) and may return a gated ``weights``.
    """

    panel: MarketPanel
    cfg: StrategyConfig
    rows: npt.NDArray[np.int64]
    weights: F64
    logp: F64
    vol: F64
    score: F64
    mask: npt.NDArray[np.bool_]
    regime: npt.NDArray[np.int8]
    signal: F64


BookHook = Callable[[RebalanceBook], F64]


def _gate(book: RebalanceBook, on_book: BookHook | None) -> F64:
    if on_book is not None:
        return on_book(book)
    if not book.cfg.meta.model:
        return book.weights
    # imported here: the meta package builds on this module
    from xsmom.meta.gate import gate_book

    return gate_book(book)


class _NoCache:
    """Stand-in when no cache is given: computes every stage."""

    def get(self, key: object, compute: Callable[[], T]) -> T:
        return compute()


def _signal(
    panel: MarketPanel,
    cfg: StrategyConfig,
    score: F64,
    mask: npt.NDArray[np.bool_],
    regime: npt.NDArray[np.int8],
    memo: StageCache | _NoCache,
) -> F64:
    z = zscore(np.where(mask, score, 0.0), mask, cfg.signal.zscore_clip)
    ts = np.clip(np.nan_to_num(score, nan=0.0), -cfg.signal.zscore_clip, cfg.signal.zscore_clip)
    sig = np.where((regime == XSMOM)[:, None], z, ts)
    if cfg.funding.tilt > 0:
        lb = cfg.funding.lookback
        tf = memo.get(("funding", lb), lambda: trailing_funding(panel.funding_rate, lb))
        fz = zscore(tf, mask, 3.0)
        sig = sig - cfg.funding.tilt * fz
    return np.asarray(np.where(mask, sig, 0.0))


def compute_targets(
    panel: MarketPanel,
    cfg: StrategyConfig,
    *,
    cache: StageCache | None = None,
    on_book: BookHook | None = None,
) -> Targets:
    """Compute target weights for every bar of ``panel`` (see the module docstring).

    ``cache`` (made for this panel) reuses stages whose inputs did not change between calls;
    results are identical with or without it. Entries are gated by ``cfg.meta`` (see
    xsmom.meta.gate); ``on_book``, if given, replaces that gate (meta training reads the book).
    """
    memo: StageCache | _NoCache = _NoCache()
    if cache is not None:
        cache.check(panel)
        memo = cache
    sig_cfg = cfg.signal
    logp = memo.get(("logp",), lambda: log_prices(panel.close))
    vol = memo.get(
        ("vol", sig_cfg.vol_lookback), lambda: bar_volatility(logp, sig_cfg.vol_lookback)
    )
    skey = ("score", sig_cfg.lookbacks, sig_cfg.lookback_weights, sig_cfg.vol_lookback)
    score = memo.get(skey, lambda: momentum_score(logp, vol, sig_cfg))

    def _mask() -> npt.NDArray[np.bool_]:
        m = universe_mask(panel.symbols, panel.close, panel.volume, cfg.universe)
        return np.asarray(m & np.isfinite(score) & np.isfinite(vol) & (np.nan_to_num(vol) > 0))

    mkey = ("mask", cfg.universe, skey)
    mask = memo.get(mkey, _mask)
    regime = memo.get(
        ("regime", cfg.regime, mkey),
        lambda: regime_series(panel.symbols, logp, vol, score, mask, cfg.regime),
    )
    signal = _signal(panel, cfg, score, mask, regime, memo)
    sel = cfg.selection
    pf = cfg.portfolio
    # selection and sizing only at rebalance closes: hysteresis and bands compare with the
    # book held since the previous rebalance
    rows = rebalance_rows(panel.timestamps, panel.bar_ms, pf.rebalance_every)
    if sel.k_mode == "dispersion":
        dlb = cfg.regime.dispersion_lookback
        ratio = memo.get(("disp", dlb, mkey), lambda: dispersion_ratio(score, mask, dlb))
        ks = k_series(sel, ratio[rows])
    else:
        ks = k_series(sel, np.ones(rows.shape[0]))
    sig_r, mask_r = signal[rows], mask[rows]
    sides = select_sides(sig_r, mask_r, ks, sel.exit_band, sel.mode == "all")
    w_r = size_weights(
        sig_r,
        sides,
        vol[rows],
        regime[rows],
        sig_cfg.power,
        pf.gross_leverage,
        pf.max_weight,
        pf.market_neutral,
    )
    w_r = apply_weight_band(w_r, sel.weight_band)
    book = RebalanceBook(panel, cfg, rows, w_r, logp, vol, score, mask, regime, signal)
    w_r = _gate(book, on_book)
    w = hold_between_rebalances(rows, w_r, panel.n_bars)
    period = cfg.exits.atr_period
    atr = memo.get(
        ("atr", period), lambda: average_true_range(panel.high, panel.low, panel.close, period)
    )
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
