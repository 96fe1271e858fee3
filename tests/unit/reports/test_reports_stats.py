"""Round trips and the statistics table on small cases worked by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from xsmom.errors import DataError
from xsmom.reports.stats import (
    RunSeries,
    benchmarks,
    compute_stats,
    daily_exposure,
    max_dd_duration_days,
    monthly_returns,
    stats_rows,
)
from xsmom.reports.trades import round_trips

H = 3_600_000
T0 = 1_748_736_000_000  # 2025-06-01 00:00 UTC
A, B = "AAA/USDT:USDT", "BTC/USDT:USDT"


def fills(rows: list[tuple[int, str, str, float, float, float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["timestamp", "symbol", "side", "quantity", "price", "fee", "slippage"]
    ).assign(reason="rebalance")


def funding(rows: list[tuple[int, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["timestamp", "symbol", "payment"]).assign(
        quantity=0.0, mark=0.0, rate=0.0
    )


def hand_trips() -> pd.DataFrame:
    tr = fills(
        [
            (T0, A, "buy", 2.0, 100.0, 0.2, 0.1),
            (T0, B, "buy", 1.0, 50.0, 0.05, 0.0),
            (T0 + 2 * H, A, "sell", 3.0, 110.0, 0.33, 0.15),  # closes 2, opens short 1
            (T0 + 3 * H, A, "buy", 1.0, 115.0, 0.115, 0.0),  # closes the short at a loss
        ]
    )
    fu = funding([(T0 + H, A, 0.5), (T0 + 2 * H, A, 0.1)])  # both on the long held into the bar
    return round_trips(tr, fu, last_prices={B: 55.0})


def test_round_trips_by_hand() -> None:
    t = hand_trips()
    assert list(t["symbol"]) == [A, B, A]
    long_a, open_b, short_a = (t.iloc[i] for i in range(3))
    # long 2 @100: -200 - 0.2, funding -0.6, closing 2 of 3 @110: +220 - 0.22
    assert long_a["pnl"] == pytest.approx(-200 - 0.2 - 0.6 + 220 - 0.22)
    assert long_a["direction"] == "long" and long_a["status"] == "closed"
    assert long_a["exit_time"] == T0 + 2 * H and long_a["fees"] == pytest.approx(0.42)
    assert long_a["slippage"] == pytest.approx(0.1 + 0.1) and long_a["funding"] == 0.6
    assert long_a["return_pct"] == pytest.approx(long_a["pnl"] / 200 * 100)
    # short 1 @110 (the flip's last third, fee 0.11): bought back @115
    assert short_a["pnl"] == pytest.approx(110 - 0.11 - 115 - 0.115)
    assert short_a["direction"] == "short" and short_a["entry_time"] == T0 + 2 * H
    # still open: marked at the last price
    assert open_b["status"] == "open" and open_b["pnl"] == pytest.approx(5 - 0.05)
    assert math.isnan(open_b["exit_price"])


def test_funding_on_no_position_is_an_error() -> None:
    with pytest.raises(DataError, match="no open position"):
        round_trips(fills([(T0, A, "buy", 1.0, 1.0, 0.0, 0.0)]), funding([(T0, B, 0.1)]))


def run_series() -> RunSeries:
    ts = T0 + H * np.arange(4, dtype=np.int64)
    close = pd.DataFrame({A: [np.nan, 10.0, 12.0, 11.0], B: [100.0, 110.0, 90.0, 120.0]})
    return RunSeries(
        timestamps=ts,
        equity=np.array([10_100.0, 9_900.0, 10_200.0, 10_000.0]),
        initial=10_000.0,
        bars_per_year=8760.0,
        fees=np.array([1.0, 0.0, 2.0, 0.5]),
        slippage=np.array([0.5, 0.0, 0.0, 0.25]),
        funding=np.array([0.0, -0.3, 0.2, 0.0]),
        traded=np.array([5000.0, 0.0, 8000.0, 1000.0]),
        long_exposure=np.array([0.5, 0.0, 1.0, 0.2]),
        short_exposure=np.array([0.5, 0.0, 0.4, 0.0]),
        close=close,
    )


METRICS = {
    "max_drawdown": 0.02,
    "cagr": 0.1,
    "sharpe": 1.5,
    "sortino": 2.0,
    "calmar": 5.0,
    "turnover": 300.0,
}


def test_statistics_by_hand() -> None:
    run = run_series()
    s = compute_stats(run, hand_trips(), METRICS)
    assert s["period_days"] == pytest.approx(3 / 24)
    assert s["end_value"] == 10_000.0 and s["total_return"] == pytest.approx(0.0)
    # only BTC has a price at the first bar: the equal-weight benchmark is BTC alone
    assert s["bench_ew"] == pytest.approx(20.0) and s["bench_btc"] == pytest.approx(20.0)
    assert s["max_gross_exposure"] == pytest.approx(1.4)
    assert s["avg_gross_exposure"] == pytest.approx((1.0 + 0 + 1.4 + 0.2) / 4)
    assert s["exposure_time"] == pytest.approx(75.0)
    assert s["total_fees"] == 3.5 and s["total_slippage"] == 0.75
    assert s["total_funding"] == pytest.approx(-0.1)
    # peak 10,100 at bar 0, back above it at bar 2: 2 hours under water
    assert s["max_dd_days"] == pytest.approx(2 / 24)
    assert s["max_drawdown"] == pytest.approx(2.0) and s["cagr"] == pytest.approx(10.0)
    pnl = [-200 - 0.2 - 0.6 + 220 - 0.22, 110 - 0.11 - 115 - 0.115]
    assert s["trades"] == 2 and s["open_trades"] == 1
    assert s["win_rate"] == 50.0
    assert s["best_trade"] == pytest.approx(pnl[0]) and s["worst_trade"] == pytest.approx(pnl[1])
    assert s["avg_trade"] == pytest.approx(sum(pnl) / 2)
    assert s["profit_factor"] == pytest.approx(pnl[0] / -pnl[1])
    assert s["expectancy"] == pytest.approx(0.5 * pnl[0] + 0.5 * pnl[1])
    assert s["long_trades"] == 1 and s["long_pnl"] == pytest.approx(pnl[0])
    assert s["short_trades"] == 1 and s["short_win_rate"] == 0.0
    assert s["avg_hold_hours"] == pytest.approx((2 + 1) / 2)
    rows = dict(stats_rows(s))
    assert rows["Start"] == "2025-06-01 00:00 UTC"
    assert rows["Costs: fees"] == "3.50 USDT" and rows["Win rate"] == "50.00 %"
    assert rows["Max drawdown duration"] == "0.1 days"


def test_no_trades_reads_n_a() -> None:
    empty = round_trips(fills([]), funding([]))
    rows = dict(stats_rows(compute_stats(run_series(), empty, METRICS)))
    assert rows["Trades (closed round trips)"] == "0" and rows["Win rate"] == "n/a"
    assert rows["Profit factor (gross wins / gross losses)"] == "n/a"


def test_max_dd_duration_counts_to_the_end_when_never_recovered() -> None:
    ts = np.array([0, 86_400_000, 2 * 86_400_000], dtype=np.int64)
    assert max_dd_duration_days(ts, np.array([90.0, 95.0, 99.0]), 100.0) == 2.0


def test_benchmarks_start_from_the_initial_equity() -> None:
    b = benchmarks(run_series())
    assert b["buy & hold BTC"].iloc[0] == 10_000.0
    assert b["buy & hold BTC"].iloc[-1] == pytest.approx(12_000.0)


def test_monthly_returns_compound_from_the_initial_equity() -> None:
    idx = pd.to_datetime(["2025-01-15", "2025-01-31", "2025-02-10", "2025-03-31"], utc=True)
    eq = pd.Series([105.0, 110.0, 99.0, 108.9], index=idx)
    m = monthly_returns(eq, 100.0)
    assert m.loc[2025, "Jan"] == pytest.approx(10.0)
    assert m.loc[2025, "Feb"] == pytest.approx(-10.0)
    assert m.loc[2025, "Mar"] == pytest.approx(10.0)
    assert math.isnan(m.loc[2025, "Apr"])


def test_daily_exposure_shows_short_below_zero() -> None:
    d = daily_exposure(run_series())
    assert d["short"].iloc[0] == pytest.approx(-(0.5 + 0 + 0.4 + 0) / 4)
    assert d["net"].iloc[0] == pytest.approx((0 + 0 + 0.6 + 0.2) / 4)
