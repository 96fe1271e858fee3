"""Features of a candidate entry, known at the close it is decided on.

Every feature of an entry decided at the close of bar ``t`` reads bars ``<= t`` only, through
the strategy's own stage arrays (``RebalanceBook``) and functions. Directional features are
signed by the entry's side, so "in favour of the trade" is positive for longs and shorts.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
from numba import njit

from xsmom.config.schema import StrategyConfig
from xsmom.strategy.funding import trailing_funding
from xsmom.strategy.regime import average_correlation, dispersion_ratio
from xsmom.strategy.rolling import average_true_range
from xsmom.strategy.targets import RebalanceBook

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]

# bars of trailing funding history the funding percentile ranks against (30 days of 1h bars)
FUNDING_PCT_WINDOW = 720
_BASE = (
    "side",
    "abs_signal",
    "abs_weight",
    "score",
    "vol",
    "vol_rel",
    "atr_pct",
    "regime",
    "dispersion",
    "avg_corr",
    "n_eligible",
    "funding_carry",
    "funding_cost_pct",
    "dist_favourable",
    "dist_adverse",
    "hour_sin",
    "hour_cos",
)


def feature_names(cfg: StrategyConfig) -> tuple[str, ...]:
    """Return the feature names for ``cfg``: the base set and one score per lookback."""
    return _BASE + tuple(f"score_lb{lb}" for lb in cfg.signal.lookbacks)


@njit(cache=True)
def _percentile_at(x: F64, t: I64, j: I64, window: int) -> F64:  # pragma: no cover - numba
    # fraction of the finite values in x[t-window+1..t, j] that are <= x[t, j]
    out = np.full(t.shape[0], np.nan)
    for k in range(t.shape[0]):
        v = x[t[k], j[k]]
        if not np.isfinite(v):
            continue
        below = 0
        count = 0
        for s in range(max(t[k] - window + 1, 0), t[k] + 1):
            w = x[s, j[k]]
            if np.isfinite(w):
                count += 1
                if w <= v:
                    below += 1
        if count > 0:
            out[k] = below / count
    return out


@njit(cache=True)
def _extremes_at(
    high: F64, low: F64, t: I64, j: I64, window: int
) -> tuple[F64, F64]:  # pragma: no cover - numba
    # highest high and lowest low of bars t-window+1..t of column j
    hh = np.full(t.shape[0], np.nan)
    ll = np.full(t.shape[0], np.nan)
    for k in range(t.shape[0]):
        for s in range(max(t[k] - window + 1, 0), t[k] + 1):
            h = high[s, j[k]]
            lo = low[s, j[k]]
            if np.isfinite(h) and not h <= hh[k]:
                hh[k] = h
            if np.isfinite(lo) and not lo >= ll[k]:
                ll[k] = lo
    return hh, ll


def _lookback_scores(book: RebalanceBook, t: I64, j: I64, side: F64) -> list[F64]:
    out = []
    vol = book.vol[t, j]
    for lb in book.cfg.signal.lookbacks:
        prev = np.where(t >= lb, book.logp[np.maximum(t - lb, 0), j], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out.append(side * (book.logp[t, j] - prev) / (vol * np.sqrt(lb)))
    return out


def _market_features(book: RebalanceBook, t: I64) -> list[F64]:
    rc = book.cfg.regime
    disp = dispersion_ratio(book.score, book.mask, rc.dispersion_lookback)
    corr = average_correlation(book.logp, book.mask, rc.corr_lookback)
    n_elig = book.mask.sum(axis=1).astype(np.float64)
    closes = (book.panel.timestamps[t] + book.panel.bar_ms) // 3_600_000
    hour = (closes % 24).astype(np.float64) * (2.0 * np.pi / 24.0)
    return [
        book.regime[t].astype(np.float64),
        disp[t],
        corr[t],
        n_elig[t],
        np.sin(hour),
        np.cos(hour),
    ]


def _vol_rel(book: RebalanceBook, t: I64, j: I64) -> F64:
    med = np.full(book.vol.shape[0], np.nan)
    rows = np.unique(t)
    for r in rows:
        v = book.vol[r][book.mask[r]]
        if v.size:
            med[r] = float(np.median(v))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(book.vol[t, j] / med[t])


def _price_features(book: RebalanceBook, t: I64, j: I64, side: F64) -> list[F64]:
    p = book.panel
    cfg = book.cfg
    atr = average_true_range(p.high, p.low, p.close, cfg.exits.atr_period)
    hh, ll = _extremes_at(p.high, p.low, t, j, max(cfg.signal.lookbacks))
    c = p.close[t, j]
    a = atr[t, j]
    with np.errstate(invalid="ignore", divide="ignore"):
        to_high = (hh - c) / a
        from_low = (c - ll) / a
        atr_pct = a / c
    fav = np.where(side > 0, to_high, from_low)
    adv = np.where(side > 0, from_low, to_high)
    return [atr_pct, fav, adv]


def _funding_features(book: RebalanceBook, t: I64, j: I64, side: F64) -> list[F64]:
    tf = trailing_funding(book.panel.funding_rate, book.cfg.funding.lookback)
    pct = _percentile_at(tf, t, j, FUNDING_PCT_WINDOW)
    # a positive rate is paid by longs: carry earned by the side, and how costly vs its past
    return [-side * tf[t, j], np.where(side > 0, pct, 1.0 - pct)]


def event_features(book: RebalanceBook, bar: I64, col: I64, side: F64) -> F64:
    """Return the feature matrix (events x feature_names) of entries at (bar, col, side)."""
    t = np.asarray(bar, dtype=np.int64)
    j = np.asarray(col, dtype=np.int64)
    sd = np.asarray(side, dtype=np.float64)
    if t.size == 0:
        return np.zeros((0, len(feature_names(book.cfg))))
    pos = np.searchsorted(book.rows, t)
    weight = np.abs(book.weights[pos, j])
    regime, disp, corr, n_elig, h_sin, h_cos = _market_features(book, t)
    atr_pct, fav, adv = _price_features(book, t, j, sd)
    carry, cost_pct = _funding_features(book, t, j, sd)
    cols = [
        sd,
        np.abs(book.signal[t, j]),
        weight,
        sd * book.score[t, j],
        book.vol[t, j],
        _vol_rel(book, t, j),
        atr_pct,
        regime,
        disp,
        corr,
        n_elig,
        carry,
        cost_pct,
        fav,
        adv,
        h_sin,
        h_cos,
        *_lookback_scores(book, t, j, sd),
    ]
    out = np.column_stack([np.asarray(c, dtype=np.float64) for c in cols])
    out[~np.isfinite(out)] = np.nan
    return out
