"""Triple-barrier labels on hand-built price paths: each barrier, ties, gaps, max holding."""

from __future__ import annotations

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data.panel import MarketPanel
from xsmom.meta.events import Events
from xsmom.meta.labels import (
    INVALID,
    STOP,
    TAKE,
    VERTICAL,
    LabelSpec,
    barrier_exits,
    default_spec,
    triple_barrier,
)


def _exit(o, h, lo, c, side=1.0, t=0, pt=2.0, sl=1.0, horizon=3, cat=0.0, unit=1.0):  # type: ignore[no-untyped-def]
    col = [np.array(x, dtype=float)[:, None] for x in (o, h, lo, c)]
    u = np.full_like(col[0], unit)
    end, entry, px, kind = barrier_exits(
        *col,
        u,
        np.array([t], dtype=np.int64),
        np.array([0], dtype=np.int64),
        np.array([side]),
        np.array([pt, sl, float(horizon), cat]),
    )
    return int(end[0]), float(entry[0]), float(px[0]), int(kind[0])


# decided at the close of bar 0, entry at the open of bar 1 = 100; ATR unit 1:
# long stop 99, long take 102; short stop 101, short take 98
def test_long_profit_take() -> None:
    assert _exit(
        [50, 100, 101, 101], [50, 101, 102.5, 103], [50, 99.5, 100, 100], [50, 100, 102, 101]
    ) == (2, 100.0, 102.0, TAKE)


def test_long_stop() -> None:
    assert _exit(
        [50, 100, 100, 99], [50, 101, 100.5, 100], [50, 99.5, 98.9, 98], [50, 100, 99, 99]
    ) == (2, 100.0, 99.0, STOP)


def test_short_barriers_mirror() -> None:
    o, h, lo, c = (
        [50, 100, 100, 100],
        [50, 100.5, 101.2, 100],
        [50, 99.5, 99, 99],
        [50, 100, 100, 100],
    )
    assert _exit(o, h, lo, c, side=-1.0) == (2, 100.0, 101.0, STOP)
    o, h, lo, c = [50, 100, 99, 99], [50, 100.5, 99.5, 99], [50, 99.5, 97.5, 98], [50, 99, 98, 98]
    assert _exit(o, h, lo, c, side=-1.0) == (2, 100.0, 98.0, TAKE)


def test_both_barriers_in_one_bar_is_a_stop() -> None:
    # bar 2 reaches 102 and 99: the conservative rule (as the strategy's exits) takes the stop
    assert (
        _exit(
            [50, 100, 100, 100], [50, 100.5, 102.5, 100], [50, 99.5, 98.5, 99], [50, 100, 100, 100]
        )[3]
        == STOP
    )


def test_gap_through_a_barrier_fills_at_the_open() -> None:
    assert _exit([50, 100, 97, 97], [50, 100.5, 97.5, 98], [50, 99.5, 96, 96], [50, 100, 97, 97])[
        1:
    ] == (100.0, 97.0, STOP)
    assert _exit(
        [50, 100, 104, 104], [50, 100.5, 105, 105], [50, 99.5, 103, 103], [50, 100, 104, 104]
    )[1:] == (100.0, 104.0, TAKE)


def test_entry_bar_itself_can_hit() -> None:
    assert _exit(
        [50, 100, 100, 100], [50, 100.2, 100, 100], [50, 98.5, 100, 100], [50, 99, 100, 100]
    )[:1] == (1,)


def test_max_holding_exits_at_the_close() -> None:
    o = [50, 100, 100.5, 100.2, 100.4, 120]
    h = [50, 100.8, 101, 100.9, 100.9, 130]
    lo = [50, 99.5, 99.8, 99.6, 99.9, 110]
    c = [50, 100.5, 100.2, 100.4, 100.6, 125]
    assert _exit(o, h, lo, c, horizon=3) == (3, 100.0, 100.4, VERTICAL)
    assert _exit(o, h, lo, c, horizon=4) == (4, 100.0, 100.6, VERTICAL)


def test_incomplete_or_unpriced_events_have_no_label() -> None:
    o, h, lo, c = [50, 100, 100], [50, 100.5, 100.5], [50, 99.5, 99.5], [50, 100, 100]
    assert _exit(o, h, lo, c, horizon=3)[3] == INVALID  # horizon runs past the data
    assert (
        _exit(
            [50, np.nan, 100, 100],
            [50, np.nan, 100.5, 100.5],
            [50, np.nan, 99.5, 99.5],
            [50, np.nan, 100, 100],
            horizon=2,
        )[3]
        == INVALID
    )
    assert _exit(o, h, lo, c, horizon=1, unit=np.nan)[3] == INVALID


def test_catastrophic_stop_when_tighter() -> None:
    # ATR stop 10 units away (90), catastrophic 5 % (95) is tighter and wins
    o, h, lo, c = (
        [50, 100, 100, 100],
        [50, 100.5, 100.5, 100],
        [50, 99.5, 94, 99],
        [50, 100, 99, 100],
    )
    assert _exit(o, h, lo, c, sl=10.0, cat=0.05) == (2, 100.0, 95.0, STOP)


def _panel(o, h, lo, c, vol):  # type: ignore[no-untyped-def]
    a = [np.array(x, dtype=float)[:, None] for x in (o, h, lo, c, vol)]
    n = a[0].shape[0]
    return MarketPanel(
        symbols=("X/USDT:USDT",),
        timeframe="1h",
        timestamps=np.arange(n, dtype=np.int64) * 3_600_000,
        open=a[0],
        high=a[1],
        low=a[2],
        close=a[3],
        volume=a[4],
        mark_open=a[0],
        mark_close=a[3],
        funding_rate=np.zeros((n, 1)),
        funding_event=np.zeros((n, 1), dtype=bool),
    )


def test_net_return_subtracts_fees_and_slippage_and_sets_the_label() -> None:
    # ATR(1) at bar 0 = high - low = 2; stop 1 ATR = 98, take 1 ATR = 102
    cfg = config_from_dict(
        {
            "strategy": {"exits": {"atr_period": 1, "atr_stop": 1.0, "catastrophic_stop": 0.0}},
            "costs": {"taker_fee_bps": 5.0, "slippage_bps": 2.0, "impact_coef": 0.1},
            "backtest": {"initial_equity": 10_000.0},
        }
    )
    p = _panel(
        [100, 100, 101, 101.5],
        [101, 100.5, 102.5, 102],
        [99, 99.5, 100.5, 101],
        [100, 100.5, 101.5, 101.8],
        [100, 100, 100, 100],
    )
    ev = Events(
        bar=np.array([0, 0], dtype=np.int64),
        col=np.array([0, 0], dtype=np.int64),
        side=np.array([1.0, -1.0]),
        delta=np.array([0.5, 0.01]),
    )
    lab = triple_barrier(p, cfg, ev, LabelSpec(profit_take=1.0, stop=1.0, horizon=2))
    assert lab.end.tolist() == [2, 2]
    assert lab.barrier.tolist() == [TAKE, STOP]
    # long: +2 %; notional 5,000 on quote volumes 100*100 (entry ref bar 0) and 100.5*100
    # (exit ref bar 1): slippage 2 bps + 0.1 * participation (capped at 1)
    long_cost = 2 * 5e-4 + (2e-4 + 0.1 * 0.5) + (2e-4 + 0.1 * min(5000 / 10050, 1.0))
    assert lab.gross[0] == pytest.approx(0.02)
    assert lab.net[0] == pytest.approx(0.02 - long_cost)
    assert lab.label[0] == 0  # +2 % does not beat ~10 % of impact
    short_cost = 2 * 5e-4 + (2e-4 + 0.1 * 100 / 10_000) + (2e-4 + 0.1 * 100 / 10_050)
    assert lab.gross[1] == pytest.approx(-0.02)
    assert lab.net[1] == pytest.approx(-0.02 - short_cost)
    assert lab.label[1] == 0
    cheap = triple_barrier(
        p,
        cfg.model_copy(update={"costs": cfg.costs.model_copy(update={"impact_coef": 0.0})}),
        ev,
        LabelSpec(profit_take=1.0, stop=1.0, horizon=2),
    )
    assert cheap.label.tolist() == [1, 0]
    assert cheap.net[0] == pytest.approx(0.02 - 2 * 5e-4 - 2 * 2e-4)


def test_default_spec_reuses_the_exit_settings() -> None:
    cfg = config_from_dict(
        {
            "strategy": {
                "exits": {"atr_stop": 2.5, "max_bars_held": 10},
                "portfolio": {"rebalance_every": 24},
            }
        }
    )
    s = default_spec(cfg)
    assert (s.stop, s.profit_take, s.horizon) == (2.5, 2.5, 10)
    assert default_spec(config_from_dict({})).horizon == 168  # weekly rebalancing
