"""Tracks and their like-for-like backtest: costs by hand, an independent replay, edges."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from xsmom.backtest.engine import run_backtest
from xsmom.config import config_from_dict
from xsmom.data import load_panel
from xsmom.data.bundled import sample_store
from xsmom.errors import DataError
from xsmom.ledger import default_url, open_ledger
from xsmom.rollout import pair, paper_track, submit
from xsmom.rollout.tracks import (
    DAY_MS,
    Track,
    TrackFill,
    day_bounds,
    execution_gap,
    live_daily_costs,
)
from xsmom.strategy import compute_targets

HOUR = 3_600_000
T0 = 1_751_328_000_000  # 2025-07-01 00:00 UTC
SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT"]
CFG = config_from_dict(
    {
        "data": {"symbols": SYMS},
        "strategy": {"universe": {"max_symbols": 3}, "selection": {"k": 1}},
    }
)


def test_day_bounds_start_at_the_first_bar_close() -> None:
    tr = Track(equity=((T0 + 5_000, 1.0), (T0 + 2 * DAY_MS + 7 * HOUR, 1.0)), fills=(), source="x")
    assert day_bounds(tr, HOUR) == [T0, T0 + DAY_MS, T0 + 2 * DAY_MS]
    assert day_bounds(Track(equity=(), fills=(), source="x"), HOUR) == []


def test_live_costs_are_fees_plus_slippage_against_the_bar_open() -> None:
    panel = load_panel(sample_store(), "1h", SYMS, start_ms=T0 - HOUR, end_ms=T0 + 3 * DAY_MS)
    row = int(np.searchsorted(panel.timestamps, T0 + 5 * HOUR))
    btc_open = float(panel.open[row, panel.symbols.index(SYMS[0])])
    fills = (
        # a buy 0.1 above the open of its bar, fee 0.5: costs 0.5 + 0.1 x 0.2
        TrackFill(ts=T0 + 5 * HOUR + 2_000, symbol=SYMS[0], qty=0.2, price=btc_open + 0.1, fee=0.5),
        # a sell 0.3 below the open on day 2: costs 0.25 + 0.3 x 0.1
        TrackFill(
            ts=T0 + DAY_MS + 5 * HOUR + 2_000,
            symbol=SYMS[0],
            qty=-0.1,
            price=float(panel.open[row + 24, 1 - 1]) - 0.3,
            fee=0.25,
        ),
    )
    tr = Track(equity=(), fills=fills, source="x")
    got = live_daily_costs(tr, [T0, T0 + DAY_MS, T0 + 2 * DAY_MS], panel, 1000.0)
    assert got == pytest.approx([(0.5 + 0.02) / 1000, (0.25 + 0.03) / 1000])


def test_a_track_equal_to_the_backtest_pairs_exactly(tmp_path: Path) -> None:
    # independent replay: the backtest of the window, computed here on its own, is recorded as
    # if it were the live paper account; pair() must give the same daily returns
    led = open_ledger(default_url(tmp_path))
    vid = submit(led, CFG, source="test", now_ms=T0).version
    panel = load_panel(sample_store(), "1h", SYMS, end_ms=T0 + 4 * DAY_MS)
    start = int(np.searchsorted(panel.timestamps, T0))
    cfg = CFG.model_copy(
        update={"backtest": CFG.backtest.model_copy(update={"initial_equity": 5000.0})}
    )
    # flat before T0, trading the targets from T0's open on (from one bar earlier, flat, so
    # the kernel sees the volume of the bar before T0 for the first fill's slippage)
    tg = compute_targets(panel, CFG.strategy)
    w = tg.weights.copy()
    w[: start - 1] = 0.0
    res = run_backtest(panel, cfg, targets=dataclasses.replace(tg, weights=w), start=start - 1)
    assert res.equity[0] == 5000.0
    with led.transaction() as tx:
        tx.record_rollout_equity(vid, ts=T0 + 1_000, equity=5000.0, wallet=5000.0, unrealized=0)
        for i in range(1, res.equity.size):
            ts = int(res.timestamps[i]) + HOUR + 1_000  # recorded just after the bar close
            eq = float(res.equity[i])
            tx.record_rollout_equity(vid, ts=ts, equity=eq, wallet=eq, unrealized=0)
    data = pair(paper_track(led, vid, T0), sample_store(), CFG)
    assert data is not None and data.days == 4
    assert data.live_returns == pytest.approx(data.bt_returns, abs=1e-12)
    daily = res.equity[24::24]
    want = np.concatenate(([5000.0], daily))[:5]
    assert data.bt_returns == pytest.approx(want[1:] / want[:-1] - 1)
    led.close()


def test_a_window_the_store_does_not_cover_is_an_error(tmp_path: Path) -> None:
    led = open_ledger(default_url(tmp_path))
    vid = submit(led, CFG, source="test", now_ms=T0).version
    late = 1_777_590_000_000 - DAY_MS  # the sample ends a day later
    with led.transaction() as tx:
        for k in range(4):
            tx.record_rollout_equity(
                vid, ts=late + k * DAY_MS, equity=1.0, wallet=1.0, unrealized=0
            )
    with pytest.raises(DataError, match="does not hold every 1h bar"):
        pair(paper_track(led, vid, late), sample_store(), CFG)
    led.close()


def test_real_execution_at_small_charges_the_paper_track_by_hand(tmp_path: Path) -> None:
    panel = load_panel(sample_store(), "1h", SYMS, start_ms=T0 - HOUR, end_ms=T0 + 3 * DAY_MS)
    row = int(np.searchsorted(panel.timestamps, T0 + 5 * HOUR))
    o = float(panel.open[row, panel.symbols.index(SYMS[0])])
    ts = T0 + 5 * HOUR + 2_000
    # paper: a buy 0.1 above the open, fee 0.5 -> cost 0.52 on notional 0.2 x (o + 0.1)
    paper = (TrackFill(ts=ts, symbol=SYMS[0], qty=0.2, price=o + 0.1, fee=0.5),)
    # real (the blend's fills): a buy 5 above the open, fee 1 -> cost 1.5 on 0.1 x (o + 5)
    real = (TrackFill(ts=ts + 1, symbol=SYMS[0], qty=0.1, price=o + 5.0, fee=1.0),)
    bounds = [T0, T0 + DAY_MS, T0 + 2 * DAY_MS]
    p_track = Track(equity=(), fills=paper, source="paper")
    r_track = Track(equity=(), fills=real, source="account")
    extra, note = execution_gap(p_track, r_track, bounds, panel, 1000.0)
    n_p, n_r = 0.2 * (o + 0.1), 0.1 * (o + 5.0)
    want = (1.5 / n_r - 0.52 / n_p) * n_p / 1000.0
    assert extra == pytest.approx([want, 0.0]) and want > 0
    assert note.startswith(f"real fills at small cost {1.5 / n_r * 1e4:.3g} bps of notional")
    none, why = execution_gap(p_track, Track(equity=(), fills=(), source="x"), bounds, panel, 1.0)
    assert not none.any() and why.startswith("no real fills at small yet")


def test_pair_with_the_real_account_lowers_returns_and_raises_costs(tmp_path: Path) -> None:
    led = open_ledger(default_url(tmp_path))
    vid = submit(led, CFG, source="test", now_ms=T0).version
    panel = load_panel(sample_store(), "1h", SYMS, end_ms=T0 + 4 * DAY_MS)
    o = float(panel.open[int(np.searchsorted(panel.timestamps, T0 + 5 * HOUR)), 0])
    with led.transaction() as tx:
        for d in range(4):
            tx.record_rollout_equity(
                vid, ts=T0 + d * DAY_MS + 1_000, equity=1000.0, wallet=1000.0, unrealized=0
            )
        tx.record_rollout_fill(
            vid, symbol=SYMS[0], trade_id="p1", side="buy", qty=0.01, price=o, fee=0.1,
            ts=T0 + 5 * HOUR + 1, is_maker=False, client_id="c1",
        )  # fmt: skip
    track = paper_track(led, vid, T0)
    real = Track(
        equity=(),
        fills=(TrackFill(ts=T0 + 5 * HOUR + 2, symbol=SYMS[0], qty=0.01, price=o, fee=0.5),),
        source="account",
    )
    plain = pair(track, sample_store(), CFG)
    charged = pair(track, sample_store(), CFG, real=real)
    assert plain is not None and charged is not None and plain.note == ""
    extra = (0.5 - 0.1) / 1000.0  # same notional: the fee difference, on day 1 only
    assert charged.live_costs - plain.live_costs == pytest.approx([extra, 0, 0])
    assert plain.live_returns - charged.live_returns == pytest.approx([extra, 0, 0])
    assert charged.bt_returns == pytest.approx(plain.bt_returns)
    led.close()
