"""Download with the real ccxt binanceusdm client against a fake Binance server on loopback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from fake_binance_usdm_data import FakeBinanceUsdm, FakeMarketData

from xsmom.data.download import Downloader, RetryPolicy, make_exchange
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.errors import DataError, ExchangeUnavailableError

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "data"
H = 3_600_000
BARS = 1000
EVENTS = 120


@pytest.fixture(scope="module")
def real() -> FakeMarketData:
    """Real BTC and ETH candles, mark candles and funding from ../shared/data (tails)."""
    if not (SHARED / "README.md").is_file():
        pytest.fail(f"real market data not found at {SHARED} (expected ../shared/data)")
    data = FakeMarketData()
    for vid in ("BTCUSDT", "ETHUSDT"):
        o = pd.read_parquet(SHARED / f"ohlcv/binance_usdm/parquet/1h/{vid}.parquet")
        m = pd.read_parquet(SHARED / f"mark/binance_usdm/parquet/1h/{vid}.parquet")
        f = pd.read_parquet(SHARED / f"funding/binance_usdm/parquet/{vid}.parquet")
        end = min(int(o["timestamp"].iloc[-1]), int(m["timestamp"].iloc[-1]))
        start = end - (BARS - 1) * H
        data.ohlcv[(vid, "1h")] = o[o["timestamp"].between(start, end)].reset_index(drop=True)
        data.mark[(vid, "1h")] = m[m["timestamp"].between(start, end)].reset_index(drop=True)
        data.funding[vid] = f[f["timestamp"] <= end].tail(EVENTS).reset_index(drop=True)
    return data


@pytest.fixture
def fake(real: FakeMarketData) -> Iterator[FakeBinanceUsdm]:
    with FakeBinanceUsdm(real) as server:
        yield server


def _end(data: FakeMarketData) -> int:
    return int(data.ohlcv[("BTCUSDT", "1h")]["timestamp"].iloc[-1])


def _start(data: FakeMarketData) -> int:
    return int(data.ohlcv[("BTCUSDT", "1h")]["timestamp"].iloc[0])


def _downloader(
    fake: FakeBinanceUsdm, store: ParquetStore, now: int, **kw: object
) -> tuple[Downloader, list[float]]:
    ex = make_exchange("binanceusdm")
    fake.point(ex)
    sleeps: list[float] = []
    d = Downloader(
        ex,
        store,
        now_ms=lambda: now,
        sleep=sleeps.append,
        page_limit=200,
        progress=False,
        **kw,  # type: ignore[arg-type]  # test-only pass-through of keyword options
    )
    return d, sleeps


def _assert_same(got: pd.DataFrame, want: pd.DataFrame, cols: list[str]) -> None:
    np.testing.assert_array_equal(got["timestamp"], want["timestamp"])
    for c in cols:
        np.testing.assert_allclose(got[c].to_numpy(), want[c].to_numpy(float), rtol=1e-12)


def test_paginated_download_of_all_kinds(
    fake: FakeBinanceUsdm, real: FakeMarketData, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "store")
    now = _end(real) + H // 2  # the last candle is still forming
    d, _ = _downloader(fake, store, now)
    results = d.run(
        ["BTC/USDT:USDT", "ETH/USDT:USDT"], "1h", since_ms=_start(real) - 30 * 86_400_000
    )
    by = {(r.symbol, r.kind): r for r in results}
    assert by[("BTC/USDT:USDT", Kind.OHLCV)].pages >= 5
    for sym, vid in (("BTC/USDT:USDT", "BTCUSDT"), ("ETH/USDT:USDT", "ETHUSDT")):
        want = real.ohlcv[(vid, "1h")].iloc[:-1]  # forming candle dropped
        _assert_same(
            store.read(Kind.OHLCV, sym, "1h"), want, ["open", "high", "low", "close", "volume"]
        )
        wmark = real.mark[(vid, "1h")].iloc[:-1]
        _assert_same(store.read(Kind.MARK, sym, "1h"), wmark, ["open", "close"])
        assert (store.read(Kind.MARK, sym, "1h")["volume"] == 0).all()
        _assert_same(store.read(Kind.FUNDING, sym), real.funding[vid], ["rate"])
        assert by[(sym, Kind.OHLCV)].added == BARS - 1
    assert set(fake.state.paths) == {
        "/fapi/v1/exchangeInfo",
        "/fapi/v1/klines",
        "/fapi/v1/markPriceKlines",
        "/fapi/v1/fundingRate",
    }


def test_second_run_adds_only_new_rows(real: FakeMarketData, tmp_path: Path) -> None:
    cut = 600
    early = FakeMarketData(
        ohlcv={k: v.iloc[:cut] for k, v in real.ohlcv.items()},
        mark={k: v.iloc[:cut] for k, v in real.mark.items()},
        funding={k: v.iloc[: EVENTS // 2] for k, v in real.funding.items()},
    )
    store = ParquetStore(tmp_path / "store")
    t_cut = int(early.ohlcv[("BTCUSDT", "1h")]["timestamp"].iloc[-1]) + H  # all 600 closed
    with FakeBinanceUsdm(early) as server:
        d, _ = _downloader(server, store, t_cut)
        first = d.run(["BTC/USDT:USDT"], "1h", since_ms=_start(real))
    assert {r.kind: r.added for r in first} == {
        Kind.OHLCV: cut,
        Kind.MARK: cut,
        Kind.FUNDING: EVENTS // 2,
    }
    with FakeBinanceUsdm(real) as server:
        d, _ = _downloader(server, store, _end(real) + H)
        second = d.run(["BTC/USDT:USDT"], "1h")
        requested = [p for p in server.state.paths if p == "/fapi/v1/klines"]
    assert {r.kind: r.added for r in second} == {
        Kind.OHLCV: BARS - cut,
        Kind.MARK: BARS - cut,
        Kind.FUNDING: EVENTS - EVENTS // 2,
    }
    assert len(requested) == 2  # 400 new rows at 200 per page, nothing refetched
    got = store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h")
    _assert_same(got, real.ohlcv[("BTCUSDT", "1h")], ["close"])


def test_resume_after_the_venue_fails_mid_download(
    fake: FakeBinanceUsdm, real: FakeMarketData, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "store")
    now = _end(real) + H
    fake.state.fail_after = 3  # three data pages, then the venue answers 503 for good
    d, sleeps = _downloader(fake, store, now, retry=RetryPolicy(attempts=3, base_delay=0.5))
    with pytest.raises(ExchangeUnavailableError):
        d.run(["BTC/USDT:USDT"], "1h", kinds=[Kind.OHLCV], since_ms=_start(real))
    assert sleeps == [0.5, 1.0]
    part = store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h")
    assert len(part) == 3 * 200  # every page that arrived was kept
    fake.state.fail_after = None
    d, _ = _downloader(fake, store, now)
    (res,) = d.run(["BTC/USDT:USDT"], "1h", kinds=[Kind.OHLCV], since_ms=_start(real))
    assert res.added == BARS - 600
    got = store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h")
    ts = got["timestamp"].to_numpy()
    assert (np.diff(ts) == H).all()  # no duplicates, no gaps
    _assert_same(got, real.ohlcv[("BTCUSDT", "1h")], ["open", "high", "low", "close", "volume"])


def test_ctrl_c_keeps_the_pages_already_fetched(
    fake: FakeBinanceUsdm, real: FakeMarketData, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "store")

    def interrupt(_: float) -> None:
        raise KeyboardInterrupt

    ex = make_exchange("binanceusdm")
    fake.point(ex)
    d = Downloader(ex, store, now_ms=lambda: _end(real) + H, sleep=interrupt, page_limit=200)
    fake.state.fail_after = 2
    with pytest.raises(KeyboardInterrupt):
        d.run(["BTC/USDT:USDT"], "1h", kinds=[Kind.OHLCV], since_ms=_start(real))
    assert len(store.read(Kind.OHLCV, "BTC/USDT:USDT", "1h")) == 400
    assert not list(store.root.rglob("*.tmp"))


def test_transient_errors_and_rate_limits_are_retried(
    fake: FakeBinanceUsdm, real: FakeMarketData, tmp_path: Path
) -> None:
    store = ParquetStore(tmp_path / "store")
    d, sleeps = _downloader(fake, store, _end(real) + H, flush_rows=250)
    fake.state.fail_next = 2
    (r1,) = d.run(["ETH/USDT:USDT"], "1h", kinds=[Kind.MARK], since_ms=_start(real))
    fake.state.fail_status = 429
    fake.state.retry_after = 3  # the venue asks for 3 s: longer than the first backoff
    fake.state.fail_next = 1
    (r2,) = d.run(["ETH/USDT:USDT"], "1h", kinds=[Kind.FUNDING], since_ms=0)
    assert sleeps == [1.0, 2.0, 3.0]
    assert r1.added == BARS and r2.added == EVENTS


def test_unknown_symbol_is_refused(
    fake: FakeBinanceUsdm, real: FakeMarketData, tmp_path: Path
) -> None:
    d, _ = _downloader(fake, ParquetStore(tmp_path / "store"), _end(real))
    with pytest.raises(DataError, match="no market DOGE/USDT:USDT"):
        d.run(["DOGE/USDT:USDT"], "1h")
