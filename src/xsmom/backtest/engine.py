"""Run a backtest: strategy targets -> kernel -> metrics and attribution."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from xsmom.backtest import kernel as k
from xsmom.backtest.coverage import coverage_metrics, held_into, refusal
from xsmom.backtest.metrics import bar_returns, compute_metrics
from xsmom.config.schema import Config
from xsmom.data.panel import MarketPanel
from xsmom.data.timeframes import bars_per_year
from xsmom.errors import DataError
from xsmom.strategy import Targets, compute_targets
from xsmom.strategy.exits import EV_BAR, EV_PRICE, EV_REASON, EV_SYM, TIME_EXIT

F64 = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a backtest produced over its window of bars."""

    symbols: tuple[str, ...]
    timestamps: npt.NDArray[np.int64]
    equity: F64
    returns: F64
    weights: F64
    held: F64  # held weights per bar (one row of zeros unless run with record_held)
    bars: F64
    trade_log: F64  # one row per fill, columns kernel.T_* (bar index into timestamps)
    funding_log: F64  # one row per funding payment, columns kernel.F_*
    attribution: pd.DataFrame
    metrics: dict[str, float]
    initial_equity: float

    @property
    def gross_exposure(self) -> F64:
        """Return sum of |held notional| / equity per bar."""
        return np.asarray(self.bars[:, k.B_GROSS])

    @property
    def liquidated(self) -> bool:
        """Return True if the account was liquidated."""
        return bool(self.bars[:, k.B_LIQUIDATED].any())


def kernel_params(cfg: Config) -> F64:
    """Return the kernel's scalar parameter vector for ``cfg``."""
    p = np.zeros(k.N_PARAMS)
    p[k.P_EQUITY] = cfg.backtest.initial_equity
    p[k.P_TAKER] = cfg.costs.taker_fee_bps
    p[k.P_MAKER] = cfg.costs.maker_fee_bps
    p[k.P_IS_MAKER] = 1.0 if cfg.costs.order_type == "limit" else 0.0
    p[k.P_SLIP] = cfg.costs.slippage_bps
    p[k.P_IMPACT] = cfg.costs.impact_coef
    p[k.P_MAX_LEV] = cfg.backtest.max_leverage
    p[k.P_MM] = cfg.backtest.maintenance_margin
    p[k.P_LIQ_FEE] = cfg.backtest.liquidation_fee
    p[k.P_MIN_NOTIONAL] = cfg.backtest.min_notional
    p[k.P_FUNDING] = 1.0 if cfg.backtest.funding else 0.0
    unknown = cfg.costs.unknown_volume_bps
    p[k.P_UNKNOWN_BPS] = 0.0 if unknown is None else unknown  # None: refused after the run
    return p


def prior_quote_volume(panel: MarketPanel, start: int) -> F64:
    """Return each symbol's quote volume on its last bar with volume before ``start`` (NaN if
    none): the impact reference of fills on the first bar of a window."""
    out = np.full(panel.n_symbols, np.nan)
    if start == 0:
        return out
    qv = panel.close[start - 1] * panel.volume[start - 1]
    ok = np.isfinite(qv) & (qv > 0)
    out[ok] = qv[ok]
    for j in np.flatnonzero(~ok):  # rare: a gap or a zero-volume bar just before the window
        col = panel.close[:start, j] * panel.volume[:start, j]
        good = np.flatnonzero(np.isfinite(col) & (col > 0))
        if good.size:
            out[j] = col[good[-1]]
    return out


def _check_unknown_volume(
    cfg: Config, panel: MarketPanel, start: int, counts: npt.NDArray[np.int64]
) -> None:
    if cfg.costs.unknown_volume_bps is not None or counts[k.C_UNKNOWN] == 0:
        return
    sym = panel.symbols[int(counts[k.C_UNKNOWN_SYM])]
    ts = int(panel.timestamps[start + int(counts[k.C_UNKNOWN_BAR])])
    raise DataError(
        f"{int(counts[k.C_UNKNOWN])} fill(s) without a reference volume, the first on {sym} "
        f"in the bar at {ts} ms (no earlier bar with volume): set costs.unknown_volume_bps to "
        "charge a fixed impact instead"
    )


def attribution_frame(symbols: tuple[str, ...], attr: F64) -> pd.DataFrame:
    """Return per-symbol PnL by component (funding and costs as positive amounts paid)."""
    df = pd.DataFrame(
        {
            "price": attr[:, k.A_PRICE],
            "fees": attr[:, k.A_FEES],
            "slippage": attr[:, k.A_SLIP],
            "funding": attr[:, k.A_FUNDING],
            "traded_notional": attr[:, k.A_TRADED],
            "round_trips": attr[:, k.A_WINS] + attr[:, k.A_LOSSES],
        },
        index=pd.Index(symbols, name="symbol"),
    )
    df["total"] = df["price"] - df["fees"] - df["slippage"] - df["funding"]
    return df


def trade_weights(weights: F64, start: int, stop: int) -> F64:
    """Return the targets traded at the open of each bar of ``[start, stop)``."""
    w = np.zeros((stop - start, weights.shape[1]))
    w[1:] = weights[start : stop - 1]
    if start > 0:
        w[0] = weights[start - 1]
    return w


def window_exits(events: F64, start: int, stop: int) -> tuple[F64, npt.NDArray[np.int64]]:
    """Return the stop fills inside bars ``[start, stop)`` (bar relative to ``start``) and
    the (bar, symbol) of the rebalances there that are time exits (decided a bar earlier)."""
    bars = events[:, EV_BAR]
    fill = np.isfinite(events[:, EV_PRICE]) & (bars >= start) & (bars < stop)
    stops = events[fill].copy()
    stops[:, EV_BAR] -= start
    timed = (events[:, EV_REASON] == TIME_EXIT) & (bars >= start - 1) & (bars < stop - 1)
    time_exits = np.empty((int(timed.sum()), 2), dtype=np.int64)
    time_exits[:, 0] = bars[timed].astype(np.int64) - start + 1
    time_exits[:, 1] = events[timed, EV_SYM].astype(np.int64)
    return stops, time_exits


def run_backtest(
    panel: MarketPanel,
    config: Config,
    *,
    targets: Targets | None = None,
    start: int = 0,
    stop: int | None = None,
    record_held: bool = False,
) -> BacktestResult:
    """Backtest bars ``[start, stop)`` of ``panel`` with ``config``.

    Targets are computed on the whole panel (or passed in), so bars before ``start`` serve
    as warm-up and decisions inside the window never see bars after them. ``record_held``
    keeps the held weight of every symbol at every close in ``result.held``.
    """
    stop = panel.n_bars if stop is None else stop
    if not 0 <= start < stop <= panel.n_bars:
        raise DataError(f"backtest window [{start}, {stop}) outside the {panel.n_bars} bars")
    tg = targets if targets is not None else compute_targets(panel, config.strategy)
    sl = np.s_[start:stop]
    lots = np.array([config.backtest.lot_sizes.get(s, 0.0) for s in panel.symbols])
    gaps = panel.funding_gaps[sl] if panel.funding_gaps is not None else None
    # where the store lacks funding data, the positions held there decide: record them
    check = config.backtest.funding and gaps is not None and bool(gaps.any())
    record = record_held or check
    stops, time_exits = window_exits(tg.exit_events, start, stop)
    bar, attr, held, trades, funding, counts = k.run_kernel(
        tg.weights,
        start - 1,
        stops,
        panel.open[sl],
        panel.high[sl],
        panel.low[sl],
        panel.close[sl],
        panel.volume[sl],
        panel.funding_rate[sl],
        panel.mark_open[sl],
        panel.last_valid - start,
        lots,
        kernel_params(config),
        record,
        time_exits,
        panel.funding_bars[sl],
        prior_quote_volume(panel, start),
        np.zeros((stop - start, k.N_BAR)),
        np.zeros((stop - start if record else 1, panel.n_symbols)),
    )
    _check_unknown_volume(config, panel, start, counts)
    equity = bar[:, k.B_EQUITY]
    init = config.backtest.initial_equity
    metrics = compute_metrics(
        equity,
        init,
        bars_per_year(panel.timeframe),
        fees=float(attr[:, k.A_FEES].sum()),
        funding=float(attr[:, k.A_FUNDING].sum()),
        slippage=float(attr[:, k.A_SLIP].sum()),
        traded_notional=float(attr[:, k.A_TRADED].sum()),
        gross_exposure=bar[:, k.B_GROSS],
        wins=float(attr[:, k.A_WINS].sum()),
        losses=float(attr[:, k.A_LOSSES].sum()),
    )
    metrics["unknown_volume_fills"] = float(counts[k.C_UNKNOWN])
    cover = {"funding_uncovered_share": 0.0, "funding_mark_fallback_share": 0.0}
    if check and gaps is not None:
        into = held_into(held)
        if not config.backtest.allow_funding_gaps:
            err = refusal(panel.symbols, panel.timestamps[sl], gaps, into)
            if err is not None:
                raise err
        cover = coverage_metrics(gaps, panel.funding_event[sl], into)
        held = held if record_held else np.zeros((1, panel.n_symbols))
    metrics = {**metrics, **cover}
    returns = bar_returns(equity, init)
    return BacktestResult(
        symbols=panel.symbols,
        timestamps=panel.timestamps[sl],
        equity=equity,
        returns=returns,
        weights=tg.weights[sl],
        held=held,
        bars=bar,
        trade_log=trades,
        funding_log=funding,
        attribution=attribution_frame(panel.symbols, attr),
        metrics=metrics,
        initial_equity=init,
    )
