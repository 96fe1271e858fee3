"""Each validation rule: fatal problems are refused naming the source, warnings are reported."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from xsmom.data.validate import Kind, validate_frame
from xsmom.errors import DataError

H = 3_600_000
T0 = 1_700_000_000_000 - (1_700_000_000_000 % H)


def candles(n: int = 50, start: int = T0, step: int = H) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.005, n)))
    open_ = np.r_[close[0], close[:-1]]
    return pd.DataFrame(
        {
            "timestamp": start + step * np.arange(n, dtype=np.int64),
            "open": open_,
            "high": np.maximum(open_, close) * 1.002,
            "low": np.minimum(open_, close) * 0.998,
            "close": close,
            "volume": rng.uniform(1, 10, n),
        }
    )


def funding(n: int = 10, step: int = 8 * H) -> pd.DataFrame:
    return pd.DataFrame(
        {"timestamp": T0 + step * np.arange(n, dtype=np.int64), "rate": np.full(n, 1e-4)}
    )


def refused(kind: Kind, df: pd.DataFrame, match: str, timeframe: str | None = "1h") -> None:
    with pytest.raises(DataError, match=match) as info:
        validate_frame(kind, df, source="src/BTC_USDT_USDT-1h-futures.feather", timeframe=timeframe)
    assert str(info.value).startswith("src/BTC_USDT_USDT-1h-futures.feather: ")


def test_clean_candles_pass_without_warnings() -> None:
    rep = validate_frame(Kind.OHLCV, candles(), source="x", timeframe="1h")
    assert rep.rows == 50 and rep.gaps == [] and rep.spikes == []


def test_empty_frame_refused() -> None:
    refused(Kind.OHLCV, candles().iloc[:0], "empty")


def test_missing_column_refused() -> None:
    refused(Kind.OHLCV, candles().drop(columns=["volume"]), "missing columns")


def test_nan_refused() -> None:
    df = candles()
    df.loc[5, "close"] = np.nan
    refused(Kind.OHLCV, df, "NaN")


def test_non_positive_price_refused() -> None:
    df = candles()
    df.loc[3, "low"] = 0.0
    refused(Kind.OHLCV, df, "non-positive")


def test_high_below_low_refused() -> None:
    df = candles()
    df.loc[4, ["high", "low"]] = [90.0, 110.0]
    refused(Kind.OHLCV, df, "high < low at row 4")


def test_close_outside_range_refused() -> None:
    df = candles()
    df.loc[6, "close"] = df.loc[6, "high"] * 1.5
    refused(Kind.OHLCV, df, "outside")


def test_negative_volume_refused() -> None:
    df = candles()
    df.loc[2, "volume"] = -1.0
    refused(Kind.OHLCV, df, "negative volume")


def test_duplicate_timestamp_refused() -> None:
    df = candles()
    df.loc[10, "timestamp"] = df.loc[9, "timestamp"]
    refused(Kind.OHLCV, df, "duplicate timestamp")


def test_unsorted_timestamps_refused() -> None:
    df = candles()
    df.loc[[10, 11], "timestamp"] = df.loc[[11, 10], "timestamp"].to_numpy()
    refused(Kind.OHLCV, df, "not sorted")


def test_seconds_instead_of_ms_refused() -> None:
    df = candles()
    df["timestamp"] //= 1000
    refused(Kind.OHLCV, df, "not ms since the epoch")


def test_off_grid_timestamp_refused() -> None:
    df = candles()
    df.loc[7, "timestamp"] += 60_000
    refused(Kind.OHLCV, df, "off the 1h grid")


def test_gap_is_a_warning() -> None:
    df = candles().drop(index=[20, 21, 22]).reset_index(drop=True)
    rep = validate_frame(Kind.OHLCV, df, source="x", timeframe="1h")
    assert rep.gaps == [(T0 + 19 * H, 3)]
    assert rep.missing_bars == 3


def test_spike_is_a_warning() -> None:
    df = candles(200)
    df.loc[100, "high"] = df.loc[100, "high"] * 1.5
    rep = validate_frame(Kind.OHLCV, df, source="x", timeframe="1h")
    assert 100 in rep.spikes


def test_funding_duplicate_within_a_minute_refused() -> None:
    df = funding()
    df.loc[3, "timestamp"] = df.loc[2, "timestamp"] + 10  # the same event with 10 ms jitter
    refused(Kind.FUNDING, df, "duplicate funding event", timeframe=None)


def test_funding_rate_beyond_cap_refused() -> None:
    df = funding()
    df.loc[4, "rate"] = 0.2
    refused(Kind.FUNDING, df, "beyond 5%", timeframe=None)


def test_funding_jitter_is_kept_and_long_pause_is_a_gap() -> None:
    df = funding()
    df.loc[1, "timestamp"] += 10
    df.loc[5:, "timestamp"] += 10 * 8 * H
    rep = validate_frame(Kind.FUNDING, df, source="x")
    assert rep.gaps == [(T0 + 4 * 8 * H, 10)]
