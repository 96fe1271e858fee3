"""validate_stacked checks many series in one pass with the rules of validate_frame: for any one
broken series among clean ones it refuses with the very message validate_frame gives for that
series alone, accepts what validate_frame accepts, and never compares rows across series."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.data.validate import Kind, columns_for, validate_frame, validate_stacked
from xsmom.errors import DataError

H = 3_600_000
T0 = 1_700_000_000_000 - (1_700_000_000_000 % H)


def candles(n: int, seed: int, start: int = T0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    open_ = np.r_[close[0], close[:-1]]
    ts = start + H * np.arange(n)
    high, low = np.maximum(open_, close) * 1.002, np.minimum(open_, close) * 0.998
    return np.column_stack([ts, open_, high, low, close, rng.uniform(1, 10, n)]).astype(float)


def funding(n: int, start: int = T0) -> np.ndarray:
    return np.column_stack([start + 8 * H * np.arange(n), np.full(n, 1e-4)]).astype(float)


def _frame(kind: Kind, rows: np.ndarray) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=list(columns_for(kind)))
    return df.astype({"timestamp": "int64"}) if not np.isnan(rows[:, 0]).any() else df


def _outcome(fn: object) -> str:
    try:
        fn()  # type: ignore[operator]
    except DataError as exc:
        return str(exc)
    return "ok"


CANDLE_BREAKS = [
    "nan",
    "zero_price",
    "inf_price",
    "high_below_low",
    "close_above_high",
    "negative_volume",
    "duplicate_ts",
    "unsorted_ts",
    "seconds_ts",
    "off_grid",
    "gap",
    "none",
]


def _break(rows: np.ndarray, how: str, row: int, col: int) -> None:
    if how == "nan":
        rows[row, col] = np.nan
    elif how == "zero_price":
        rows[row, 1 + col % 4] = 0.0
    elif how == "inf_price":
        rows[row, 1 + col % 4] = np.inf
    elif how == "high_below_low":
        rows[row, 2] = rows[row, 3] * 0.5
    elif how == "close_above_high":
        rows[row, 4] = rows[row, 2] * 1.1
    elif how == "negative_volume":
        rows[row, 5] = -1.0
    elif how == "duplicate_ts" and row > 0:
        rows[row, 0] = rows[row - 1, 0]
    elif how == "unsorted_ts" and row > 0:
        rows[row, 0] = rows[row - 1, 0] - H
    elif how == "seconds_ts":
        rows[row, 0] = rows[row, 0] // 1000
    elif how == "off_grid":
        rows[row, 0] += 1
    elif how == "gap":
        rows[row:, 0] += 3 * H


@settings(max_examples=150, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 6), min_size=1, max_size=5),
    victim=st.integers(0, 4),
    how=st.sampled_from(CANDLE_BREAKS),
    row=st.integers(0, 5),
    col=st.integers(0, 5),
)
def test_candles_refused_or_accepted_exactly_as_validate_frame(
    sizes: list[int], victim: int, how: str, row: int, col: int
) -> None:
    series = [(f"S{i}", candles(n, seed=i, start=T0 + i * 7 * H)) for i, n in enumerate(sizes)]
    v = victim % len(series)
    _break(series[v][1], how, row % sizes[v], col)
    alone = [
        _outcome(
            lambda s=s, r=r: validate_frame(
                Kind.OHLCV, _frame(Kind.OHLCV, r), source=s, timeframe="1h"
            )
        )
        for s, r in series
    ]
    stacked = _outcome(lambda: validate_stacked(Kind.OHLCV, series, timeframe="1h"))
    refused = [o for o in alone if o != "ok"]
    assert stacked == (refused[0] if refused else "ok")


@settings(max_examples=60, deadline=None)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=1, max_size=4),
    victim=st.integers(0, 3),
    how=st.sampled_from(["rate", "nan", "close", "none", "pause"]),
    row=st.integers(0, 4),
)
def test_funding_refused_or_accepted_exactly_as_validate_frame(
    sizes: list[int], victim: int, how: str, row: int
) -> None:
    series = [(f"F{i}", funding(n, start=T0 + i * H)) for i, n in enumerate(sizes)]
    v = victim % len(series)
    rows, r = series[v][1], row % sizes[v]
    if how == "rate":
        rows[r, 1] = 0.06
    elif how == "nan":
        rows[r, 1] = np.nan
    elif how == "close" and r > 0:
        rows[r, 0] = rows[r - 1, 0] + 59_000
    elif how == "pause":
        rows[r:, 0] += 2 * 86_400_000
    alone = [
        _outcome(lambda s=s, x=x: validate_frame(Kind.FUNDING, _frame(Kind.FUNDING, x), source=s))
        for s, x in series
    ]
    stacked = _outcome(lambda: validate_stacked(Kind.FUNDING, series))
    refused = [o for o in alone if o != "ok"]
    assert stacked == (refused[0] if refused else "ok")


def test_reports_give_each_series_its_gaps_and_rows() -> None:
    a = candles(10, seed=1)
    b = candles(10, seed=2)
    b[4:, 0] += 2 * H  # two bars missing after row 3
    reps = validate_stacked(Kind.OHLCV, [("a", a), ("b", b)], timeframe="1h")
    assert [(r.source, r.rows, r.gaps) for r in reps] == [
        ("a", 10, []),
        ("b", 10, [(T0 + 3 * H, 2)]),
    ]


def test_rows_are_not_compared_across_series() -> None:
    later, earlier = candles(3, seed=1, start=T0 + 100 * H), candles(3, seed=2)
    validate_stacked(Kind.OHLCV, [("later", later), ("earlier", earlier)], timeframe="1h")


def test_an_empty_series_is_refused_by_name() -> None:
    with pytest.raises(DataError, match=r"^b: empty: no rows$"):
        validate_stacked(Kind.OHLCV, [("a", candles(2, 1)), ("b", np.empty((0, 6)))])
