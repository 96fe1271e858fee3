"""The one strategy function: closed bars in, target weights out.

Backtest, optimizer, paper and live all call :func:`compute_targets`. Row t of every output
uses bars 0..t only (their closes included), and is meant to be traded at the open of bar t+1.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TypeVar

import numpy as np
import numpy.typing as npt

from xsmom.config.schema import StrategyConfig
from xsmom.data.panel import MarketPanel
from xsmom.strategy.at_rows import return_volatility_at
from xsmom.strategy.cache import StageCache
from xsmom.strategy.cross_section import zscore
from xsmom.strategy.exits import apply_exits_rows, dense_exits, dense_stops, stop_rows
from xsmom.strategy.funding import trailing_funding
from xsmom.strategy.regime import XSMOM, dispersion_ratio, regime_series
from xsmom.strategy.rolling import average_true_range
from xsmom.strategy.selection import k_series, select_sides
from xsmom.strategy.signals import bar_volatility, log_prices, momentum_score
from xsmom.strategy.universe import universe_mask, universe_mask_at
from xsmom.strategy.weights import (
    apply_weight_band,
    rebalance_rows,
    size_weights,
)

F64 = npt.NDArray[np.float64]
T = TypeVar("T")


@dataclass(frozen=True, eq=False)
class Targets:
    """What the strategy wants, per bar (rows) and symbol (columns).

    ``weights[t]``: signed notional / equity to hold from the open of bar t+1.
    ``exit_events``: one row per exit (``xsmom.strategy.exits.EV_*``: bar, symbol, stop fill
    price or NaN for a time exit, reason), in bar order; ``exit_price[t]``/``exit_reason[t]``
    are their dense views: a stop that closed the position inside bar t.
    ``stop_levels``: the stop level in force during bar t+1 for a held position, one row per
    held symbol and bar (``xsmom.strategy.exits.SL_*``: bar t, symbol, level); ``stop_price``
    is its dense view (NaN: no position).
    ``regime[t]``: 0 = xsmom, 1 = tsmom, chosen at the close of bar t.
    At the rebalance closes ``rebalance_rows[i]`` (the only bars where targets change):
    ``sides[i]``, the selection (+1 long, -1 short, 0 none; a weight never has the other
    sign), ``eligible[i]`` the universe and ``score[i]`` the momentum scores.
    """

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    weights: F64
    exit_events: F64
    stop_levels: F64
    regime: npt.NDArray[np.int8]
    eligible: npt.NDArray[np.bool_]
    score: F64
    rebalance_rows: npt.NDArray[np.int64] = field(
        default_factory=lambda: np.zeros(0, dtype=np.int64)
    )
    sides: npt.NDArray[np.int8] = field(default_factory=lambda: np.zeros((0, 0), dtype=np.int8))

    @cached_property
    def stop_price(self) -> F64:
        """Return the stop level in force during bar t+1 per bar t and symbol (NaN: none)."""
        return dense_stops(self.stop_levels, self.weights.shape)

    @cached_property
    def _dense_exits(self) -> tuple[F64, npt.NDArray[np.int8]]:
        return dense_exits(self.exit_events, self.weights.shape)

    @property
    def exit_price(self) -> F64:
        """Return the stop fill price per bar and symbol (NaN: none)."""
        return self._dense_exits[0]

    @property
    def exit_reason(self) -> npt.NDArray[np.int8]:
        """Return the exit reason code per bar and symbol (0: none)."""
        return self._dense_exits[1]

    @cached_property
    def exit_rows(self) -> npt.NDArray[np.bool_]:
        """Return, per bar, whether any position was stopped out inside it."""
        return stop_rows(self.exit_events, self.weights.shape[0])


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
    rows: npt.NDArray[np.int64],
    score: F64,
    mask: npt.NDArray[np.bool_],
    regime: npt.NDArray[np.int8],
    memo: StageCache | _NoCache,
) -> F64:
    # score, mask and regime at ``rows``
    z = zscore(np.where(mask, score, 0.0), mask, cfg.signal.zscore_clip)
    ts = np.clip(np.nan_to_num(score, nan=0.0), -cfg.signal.zscore_clip, cfg.signal.zscore_clip)
    sig = np.where((regime == XSMOM)[:, None], z, ts)
    if cfg.funding.tilt > 0:
        lb = cfg.funding.lookback
        tf = memo.get(("funding", lb), lambda: trailing_funding(panel.funding_rate, lb))
        fz = zscore(tf[rows], mask, 3.0)
        sig = sig - cfg.funding.tilt * fz
    return np.asarray(np.where(mask, sig, 0.0))


@dataclass(frozen=True)
class _AtRows:
    """The cross-sectional inputs at the rebalance rows, and the regime at every bar."""

    vol: F64
    score: F64
    mask: npt.NDArray[np.bool_]
    regime: npt.NDArray[np.int8]
    disp_ratio: F64 | None
    # (logp, vol, score, mask) at every bar, from the every-bar path only (the meta gate's book)
    full: tuple[F64, F64, F64, npt.NDArray[np.bool_]] | None = None


def _every_bar(
    panel: MarketPanel,
    cfg: StrategyConfig,
    rows: npt.NDArray[np.int64],
    memo: StageCache | _NoCache,
) -> _AtRows:
    # the full (bars, symbols) stages: what the auto regime and dispersion K need
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
    ratio = None
    if cfg.selection.k_mode == "dispersion":
        dlb = cfg.regime.dispersion_lookback
        ratio = memo.get(("disp", dlb, mkey), lambda: dispersion_ratio(score, mask, dlb))[rows]
    return _AtRows(vol[rows], score[rows], mask[rows], regime, ratio, (logp, vol, score, mask))


def _at_rows(
    panel: MarketPanel,
    cfg: StrategyConfig,
    rows: npt.NDArray[np.int64],
    memo: StageCache | _NoCache,
) -> _AtRows:
    # the same values, computed at the rebalance rows only
    sig_cfg = cfg.signal
    vlb = sig_cfg.vol_lookback
    every = cfg.portfolio.rebalance_every
    logp = memo.get(("logp",), lambda: log_prices(panel.close))
    vol = memo.get(
        ("vol@", vlb, every), lambda: return_volatility_at(logp, rows, vlb, max(vlb // 2, 2))
    )
    skey = ("score@", sig_cfg.lookbacks, sig_cfg.lookback_weights, vlb, every)
    score = memo.get(skey, lambda: momentum_score(logp, vol, sig_cfg, rows))

    def _mask() -> npt.NDArray[np.bool_]:
        m = universe_mask_at(panel.symbols, panel.close, panel.volume, rows, cfg.universe)
        return np.asarray(m & np.isfinite(score) & np.isfinite(vol) & (np.nan_to_num(vol) > 0))

    mask = memo.get(("mask@", cfg.universe, skey), _mask)
    regime = regime_series(panel.symbols, logp, vol, score, mask, cfg.regime)  # fixed mode
    return _AtRows(vol, score, mask, regime, None)


def compute_targets(
    panel: MarketPanel,
    cfg: StrategyConfig,
    *,
    cache: StageCache | None = None,
    every_bar: bool = False,
    on_book: BookHook | None = None,
) -> Targets:
    """Compute target weights for every bar of ``panel`` (see the module docstring).

    ``cache`` (made for this panel) reuses stages whose inputs did not change between calls;
    results are identical with or without it. Scores and the universe are computed at the
    rebalance closes only, unless the auto regime or dispersion K need them at every bar or
    ``every_bar`` asks for it (the targets are the same either way). Entries are gated by
    ``cfg.meta`` (see xsmom.meta.gate); ``on_book``, if given, replaces that gate (meta
    training reads the book); both need the every-bar stages.
    """
    memo: StageCache | _NoCache = _NoCache()
    if cache is not None:
        cache.check(panel)
        memo = cache
    sel = cfg.selection
    pf = cfg.portfolio
    # selection and sizing only at rebalance closes: hysteresis and bands compare with the
    # book held since the previous rebalance
    rows = rebalance_rows(panel.timestamps, panel.bar_ms, pf.rebalance_every)
    gated = on_book is not None or bool(cfg.meta.model)
    full = every_bar or gated or cfg.regime.mode == "auto" or sel.k_mode == "dispersion"
    inputs = (_every_bar if full else _at_rows)(panel, cfg, rows, memo)
    regime_r = inputs.regime[rows]
    signal = _signal(panel, cfg, rows, inputs.score, inputs.mask, regime_r, memo)
    ratio = inputs.disp_ratio if inputs.disp_ratio is not None else np.ones(rows.shape[0])
    ks = k_series(sel, ratio)
    sides = select_sides(signal, inputs.mask, ks, sel.exit_band, sel.mode == "all")
    w_r = size_weights(
        signal,
        sides,
        inputs.vol,
        regime_r,
        cfg.signal.power,
        pf.gross_leverage,
        pf.max_weight,
        pf.market_neutral,
    )
    w_r = apply_weight_band(w_r, sel.weight_band, sel.band_mode == "relative")
    if gated and inputs.full is not None:
        logp, vol, score, mask = inputs.full
        signal_all = np.full(score.shape, np.nan)
        signal_all[rows] = signal
        book = RebalanceBook(
            panel, cfg, rows, w_r, logp, vol, score, mask, inputs.regime, signal_all
        )
        w_r = _gate(book, on_book)
    # without a cache the ATR is computed inside the exits' pass (no array to write and read
    # back); an optimizer's cache keeps it across trials instead (the same values)
    p, period = panel, cfg.exits.atr_period
    atr = None
    if cache is not None:
        atr = cache.get(("atr", period), lambda: average_true_range(p.high, p.low, p.close, period))
    ex = apply_exits_rows(w_r, rows, p.open, p.high, p.low, p.close, atr, cfg.exits)
    return Targets(
        symbols=panel.symbols,
        timestamps=panel.timestamps,
        weights=ex.weights,
        exit_events=ex.events,
        stop_levels=ex.stop_levels,
        regime=inputs.regime,
        eligible=inputs.mask,
        score=inputs.score,
        rebalance_rows=rows,
        sides=sides,
    )
