"""The batched append (one validation and write-behind for all symbols of a bar) stores what the
per-series merge of ``xsmom data download`` stores, gives the strategy the same panel and
weights, refuses a bad row for the whole batch, and survives a restart before its flush."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from xsmom.config import config_from_dict
from xsmom.data import Kind, ParquetStore, load_panel
from xsmom.data.bundled import sample_store
from xsmom.data.cached import CachedStore
from xsmom.data.download import Downloader
from xsmom.data.panel import MarketPanel
from xsmom.data.store import rows_frame
from xsmom.data.testing import StoreClient
from xsmom.data.validate import validate_frame
from xsmom.errors import DataError
from xsmom.live.feed import BarFeed
from xsmom.strategy import compute_targets

H = 3_600_000
SYMS = ["BTC/USDT:USDT", "ETH/USDT:USDT", "XRP/USDT:USDT", "ADA/USDT:USDT"]
WARM = 300
BARS = 30
SERIES = [(k, s, None if k is Kind.FUNDING else "1h") for s in SYMS for k in Kind]


class Clock:
    def __init__(self, t: int) -> None:
        self.t = t

    def __call__(self) -> int:
        return self.t


def _client(start: int) -> tuple[StoreClient, Clock]:
    clock = Clock(start)
    client = StoreClient(sample_store(), SYMS, clock)
    # a hole: XRP's exchange never serves five bars in the middle of the run (a gap warning)
    xrp = client.candles[SYMS[2]]
    hole = (xrp[:, 0] >= start + 10 * H) & (xrp[:, 0] < start + 15 * H)
    client.candles[SYMS[2]] = xrp[~hole]
    return client, clock


def _start() -> int:
    end = int(sample_store().read(Kind.OHLCV, SYMS[0], "1h")["timestamp"].iloc[-1])
    return end - 100 * H


def _reference(root: Path, bars: int) -> ParquetStore:
    """Download bar by bar into a plain store: every series merged on its own, no cache."""
    start = _start()
    client, clock = _client(start)
    store = ParquetStore(root)
    for i in range(bars + 1):
        clock.t = start + i * H
        feed = BarFeed(CachedStore(root), client, SYMS, "1h", warmup_bars=WARM)
        since = feed.since(clock.t)
        Downloader(client, store, now_ms=clock, progress=False).run(SYMS, "1h", since_ms=since)
        for kind, sym, tf in SERIES:  # the per-series merge of every new row, as before batching
            assert store.exists(kind, sym, tf)
    return store


def _run(
    root: Path,
    bars: range,
    *,
    flush_every: int,
    history_bars: int = 0,
    on_bar: Callable[[int, MarketPanel], None] | None = None,
) -> CachedStore:
    start = _start()
    client, clock = _client(start)
    store = CachedStore(root, write_behind=True)
    feed = BarFeed(store, client, SYMS, "1h", warmup_bars=WARM, history_bars=history_bars)
    for i in bars:
        clock.t = start + i * H
        feed.update(clock.t)
        last = feed.last_bar()
        assert last is not None
        if on_bar is not None:
            on_bar(last, feed.panel(last))
        if (i + 1) % flush_every == 0:
            store.flush()
    return store


def _assert_same_store(a: ParquetStore, b: ParquetStore) -> None:
    for kind, sym, tf in SERIES:
        x, y = a.read(kind, sym, tf), b.read(kind, sym, tf)
        assert x.equals(y), (kind, sym)
        assert list(x.dtypes) == list(y.dtypes)


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> ParquetStore:
    return _reference(tmp_path_factory.mktemp("ref"), BARS)


def _same_panel(a: MarketPanel, b: MarketPanel) -> None:
    for f in ("timestamps", "open", "high", "low", "close", "volume", "mark_open", "mark_close"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    np.testing.assert_array_equal(a.funding_rate, b.funding_rate)
    np.testing.assert_array_equal(a.funding_event, b.funding_event)
    np.testing.assert_array_equal(a.funding_gaps, b.funding_gaps)


def test_batched_append_stores_what_the_per_series_merge_stores(
    tmp_path: Path, reference: ParquetStore
) -> None:
    cfg = config_from_dict({"data": {"symbols": SYMS}}).strategy
    seen: list[int] = []

    def check(bar: int, panel: MarketPanel) -> None:
        want = load_panel(reference, "1h", SYMS, end_ms=bar + H)  # the backtest's reader
        _same_panel(panel, want)
        got_w = compute_targets(panel, cfg).weights[-1]
        np.testing.assert_array_equal(got_w, compute_targets(want, cfg).weights[-1])
        seen.append(bar)

    store = _run(tmp_path, range(BARS + 1), flush_every=7, on_bar=check)
    assert store.pending_rows() > 0  # the last bars wait for the flush
    store.flush()
    assert store.pending_rows() == 0
    _assert_same_store(ParquetStore(tmp_path), reference)
    assert len(seen) == BARS + 1 and seen[-1] - seen[0] == BARS * H
    gaps = validate_frame(
        Kind.OHLCV,
        ParquetStore(tmp_path).read(Kind.OHLCV, SYMS[2], "1h"),
        source="x",
        timeframe="1h",
    ).gaps
    assert [n for _, n in gaps][-1:] == [5]  # the hole was stored as a gap, as download does


def test_rolling_window_panel_equals_the_backtest_reader(
    tmp_path: Path, reference: ParquetStore
) -> None:
    def check(bar: int, panel: MarketPanel) -> None:
        start = bar - 49 * H
        _same_panel(panel, load_panel(reference, "1h", SYMS, start_ms=start, end_ms=bar + H))

    store = _run(tmp_path, range(BARS + 1), flush_every=5, history_bars=50, on_bar=check)
    assert store.memory_rows(Kind.OHLCV, SYMS[0], "1h") == 50
    store.flush()  # old rows left memory but not the files
    _assert_same_store(ParquetStore(tmp_path), reference)


def test_restart_between_append_and_flush_loses_nothing(
    tmp_path: Path, reference: ParquetStore
) -> None:
    crashed = _run(tmp_path, range(0, 23), flush_every=10)  # flushed after bar 19 only
    assert crashed.pending_rows() > 0
    on_disk = ParquetStore(tmp_path)
    flushed = _start() + 18 * H  # the last bar closed at the clock of bar 19
    for kind, sym, tf in SERIES:  # the files are whole and valid; the unflushed bars are lost
        df = on_disk.read(kind, sym, tf)
        validate_frame(kind, df, source=sym, timeframe=tf)
        if kind is not Kind.FUNDING:
            assert int(df["timestamp"].iloc[-1]) == flushed
    del crashed  # the process died: memory gone, no flush
    restarted = _run(tmp_path, range(23, BARS + 1), flush_every=1000)
    restarted.flush()
    _assert_same_store(ParquetStore(tmp_path), reference)


def _bar_rows(sym: str, ts: int) -> np.ndarray:
    df = sample_store().read(Kind.OHLCV, sym, "1h", start_ms=ts, end_ms=ts + H)
    return df.to_numpy(np.float64)


def _seed(root: Path, end: int) -> None:
    src = sample_store()
    plain = ParquetStore(root)
    for sym in SYMS[:3]:
        plain.write(Kind.OHLCV, sym, src.read(Kind.OHLCV, sym, "1h", end_ms=end), "1h")


def test_a_bad_row_refuses_the_whole_batch(tmp_path: Path) -> None:
    end = _start()
    _seed(tmp_path, end)
    store = CachedStore(tmp_path, write_behind=True)
    good = _bar_rows(SYMS[0], end)
    bad = _bar_rows(SYMS[1], end)
    bad[0, 2], bad[0, 3] = bad[0, 3] * 0.9, bad[0, 2]  # high < low
    with pytest.raises(DataError, match=r"ETH/USDT:USDT.*appended to .*: high < low at row 1"):
        store.merge_batch(Kind.OHLCV, {SYMS[0]: good, SYMS[1]: bad}, "1h")
    assert store.pending_rows() == 0
    assert store.last_timestamp(Kind.OHLCV, SYMS[0], "1h") == end - H
    assert ParquetStore(tmp_path).last_timestamp(Kind.OHLCV, SYMS[0], "1h") == end - H


def test_a_batch_mixing_appends_overlaps_and_new_series(tmp_path: Path) -> None:
    end = _start()
    _seed(tmp_path, end)
    (tmp_path / "plain").mkdir()
    _seed(tmp_path / "plain", end)
    plain = ParquetStore(tmp_path / "plain")
    store = CachedStore(tmp_path, write_behind=True)
    src = sample_store()
    batch = {
        SYMS[0]: _bar_rows(SYMS[0], end),  # a clean append: waits for the flush
        # three stored bars again and two new ones: the per-series plan, written at once
        SYMS[1]: src.read(
            Kind.OHLCV, SYMS[1], "1h", start_ms=end - 3 * H, end_ms=end + 2 * H
        ).to_numpy(np.float64),
        SYMS[3]: _bar_rows(SYMS[3], end),  # no file yet: written at once
    }
    added = store.merge_batch(Kind.OHLCV, batch, "1h")
    assert added == {SYMS[0]: 1, SYMS[1]: 2, SYMS[3]: 1}
    assert store.pending_rows() == 1
    assert ParquetStore(tmp_path).last_timestamp(Kind.OHLCV, SYMS[1], "1h") == end + H
    assert ParquetStore(tmp_path).last_timestamp(Kind.OHLCV, SYMS[0], "1h") == end - H
    store.flush()
    for sym, rows in batch.items():  # what merging each series on its own stores
        plain.merge(Kind.OHLCV, sym, rows_frame(Kind.OHLCV, rows), "1h")
    for sym in batch:
        got = ParquetStore(tmp_path).read(Kind.OHLCV, sym, "1h")
        assert got.equals(plain.read(Kind.OHLCV, sym, "1h"))


def test_background_flush_writes_what_the_synchronous_flush_writes(
    tmp_path: Path, reference: ParquetStore
) -> None:
    start = _start()
    client, clock = _client(start)
    store = CachedStore(tmp_path, write_behind=True)
    feed = BarFeed(store, client, SYMS, "1h", warmup_bars=WARM, history_bars=24)
    for i in range(BARS + 1):
        clock.t = start + i * H
        feed.update(clock.t)
        feed.panel(feed.last_bar() or 0)  # the rolling window: the flush reads the files
        if i % 6 == 5:
            assert store.flush_behind() >= 2 * len(SYMS) - 1  # candles and mark, funding at 8 h
    store.close()
    assert store.pending_rows() == 0
    _assert_same_store(ParquetStore(tmp_path), reference)


def test_a_failed_background_flush_is_raised_and_its_rows_kept(tmp_path: Path) -> None:
    end = _start()
    _seed(tmp_path, end)
    store = CachedStore(tmp_path, write_behind=True)
    store.forget_before(Kind.OHLCV, SYMS[0], "1h", end - 10 * H)  # the flush reads the file
    path = store.path(Kind.OHLCV, SYMS[0], "1h")
    good = path.read_bytes()
    store.merge_batch(Kind.OHLCV, {SYMS[0]: _bar_rows(SYMS[0], end)}, "1h")
    path.write_bytes(b"not parquet")  # the file is damaged behind the engine's back
    assert store.flush_behind() == 1
    with pytest.raises(DataError, match="unreadable Parquet file"):
        store.flush()
    assert store.pending_rows() == 1  # queued again, not lost
    path.write_bytes(good)
    store.merge_batch(Kind.OHLCV, {SYMS[0]: _bar_rows(SYMS[0], end + H)}, "1h")
    assert store.flush() == 1
    want = sample_store().read(Kind.OHLCV, SYMS[0], "1h", end_ms=end + 2 * H)
    assert ParquetStore(tmp_path).read(Kind.OHLCV, SYMS[0], "1h").equals(want)


@pytest.mark.parametrize(("kill_after", "window"), [(7, 0), (14, 24)])
def test_kill_9_between_appends_and_background_flushes(
    tmp_path: Path, reference: ParquetStore, kill_after: int, window: int
) -> None:
    child = Path(__file__).with_name("feed_crash_child.py")
    args = [sys.executable, str(child), str(tmp_path), "0", str(BARS), str(window)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= kill_after:
            break
    proc.send_signal(signal.SIGKILL)  # mid-bar, maybe mid-flush: no clean stop
    proc.wait(timeout=60)
    on_disk = ParquetStore(tmp_path)
    for kind, sym, tf in SERIES:  # every file whole and valid, whatever was cut
        validate_frame(kind, on_disk.read(kind, sym, tf), source=sym, timeframe=tf)
    restarted = _run(tmp_path, range(kill_after, BARS + 1), flush_every=1000)
    restarted.close()
    _assert_same_store(ParquetStore(tmp_path), reference)
