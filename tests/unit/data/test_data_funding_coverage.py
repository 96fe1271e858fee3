"""Funding coverage on hand-built timelines and on a store with a funding file deleted."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from xsmom.data import Kind, ParquetStore, load_panel
from xsmom.data.bundled import SAMPLE_DIR
from xsmom.data.coverage import (
    COVERED,
    NO_FUNDING,
    NO_MARK,
    funding_coverage,
    gap_spacings,
    mark_gaps,
)

H = 3_600_000
T0 = 1_746_057_600_000  # 2025-05-01 00:00 UTC
JIT = 10  # the venue's ms jitter on funding times


def events(*hours: int) -> np.ndarray:
    return np.array([T0 + h * H + JIT for h in hours], dtype=np.int64)


def test_regular_8h_funding_is_complete_with_jitter() -> None:
    cov = funding_coverage("X", events(*range(0, 97, 8)), T0, T0 + 100 * H, H)
    assert cov.complete and cov.interval_ms == 8 * H and not cov.changes


def test_one_missing_event_is_one_stretch_at_its_funding_time() -> None:
    hours = [h for h in range(0, 97, 8) if h != 40]
    cov = funding_coverage("X", events(*hours), T0, T0 + 100 * H, H)
    assert len(cov.gaps) == 1
    g = cov.gaps[0]
    assert (g.first_ms, g.last_ms, g.missing, g.code) == (T0 + 40 * H + JIT,) * 2 + (1, NO_FUNDING)


def test_a_single_8h_step_among_4h_steps_is_a_gap_but_a_lasting_change_is_not() -> None:
    hours = [0, 4, 8, 16, 20, 24]  # 12 missing
    cov = funding_coverage("X", events(*hours), T0, T0 + 27 * H, H)
    assert [(g.first_ms - T0 - JIT, g.missing) for g in cov.gaps] == [(12 * H, 1)]
    assert cov.interval_ms == 4 * H
    # 8h, 8h, 8h then 4h, 4h, 4h: the venue changed the interval; nothing is missing
    hours = [0, 8, 16, 24, 28, 32, 36]
    cov = funding_coverage("X", events(*hours), T0, T0 + 39 * H, H)
    assert cov.complete
    assert [(c.at_ms - T0 - JIT, c.before_ms, c.after_ms) for c in cov.changes] == [
        (24 * H, 8 * H, 4 * H)
    ]


def test_a_long_pause_counts_the_missing_times_at_the_local_interval() -> None:
    hours = [0, 4, 8, 8 + 4004, 8 + 4008]
    cov = funding_coverage("X", events(*hours), T0, T0 + 4019 * H, H)
    (g,) = cov.gaps
    assert g.first_ms == T0 + 12 * H + JIT and g.last_ms == T0 + 4008 * H + JIT
    assert g.missing == 4004 // 4 - 1


def test_missing_events_before_the_first_and_after_the_last() -> None:
    # bars 00:00 .. 47:00; events only at 16, 24: 00 and 08 missing before, 32 and 40 after
    cov = funding_coverage("X", events(16, 24), T0, T0 + 47 * H, H)
    got = [(g.first_ms - T0 - JIT, g.last_ms - T0 - JIT, g.missing) for g in cov.gaps]
    assert got == [(0, 8 * H, 2), (32 * H, 40 * H, 2)]
    # the next event due after the last bar closes (48:00) is not missing
    cov = funding_coverage("X", events(0, 8, 16, 24, 32, 40), T0, T0 + 47 * H, H)
    assert cov.complete


def test_no_funding_at_all_is_one_stretch_over_every_bar() -> None:
    cov = funding_coverage("X", np.zeros(0, np.int64), T0, T0 + 47 * H, H)
    (g,) = cov.gaps
    assert (g.first_ms, g.last_ms, g.missing) == (T0, T0 + 47 * H, 6)


def test_gap_rule_on_raw_spacings() -> None:
    d = np.array([8, 8, 16, 8, 8, 9, 4, 4, 8, 4, 4000], dtype=np.int64) * H
    assert gap_spacings(d).tolist() == [
        False, False, True, False, False, True, False, False, True, False, True
    ]  # fmt: skip


def test_mark_gaps_are_runs_of_funding_times_without_a_mark_candle() -> None:
    f = events(0, 8, 16, 24, 32)
    marks = np.array([T0 + h * H for h in range(40) if h not in (8, 16, 32)], np.int64)
    got = [
        (g.first_ms - T0 - JIT, g.last_ms - T0 - JIT, g.missing, g.code)
        for g in mark_gaps(f, marks, T0, T0 + 40 * H, H)
    ]
    assert got == [(8 * H, 16 * H, 2, NO_MARK), (32 * H, 32 * H, 1, NO_MARK)]


def copy_sample(tmp_path: Path) -> Path:
    dest = tmp_path / "store"
    shutil.copytree(SAMPLE_DIR, dest)
    return dest


def test_panel_marks_a_deleted_funding_file_and_a_hole(tmp_path: Path) -> None:
    root = copy_sample(tmp_path)
    store = ParquetStore(root)
    assert not load_panel(store).funding_gaps.any()  # type: ignore[union-attr]
    (root / "funding" / "BTC_USDT_USDT.parquet").unlink()
    eth = store.read(Kind.FUNDING, "ETH/USDT:USDT")
    ts = eth["timestamp"].to_numpy(np.int64)
    hole = (ts >= T0 + 30 * 24 * H) & (ts < T0 + 32 * 24 * H)  # 6 events on 2025-05-31..06-01
    assert hole.sum() == 6
    (root / "funding" / "ETH_USDT_USDT.parquet").unlink()
    store.write(Kind.FUNDING, "ETH/USDT:USDT", eth.loc[~hole].reset_index(drop=True))
    panel = load_panel(store)
    gaps = panel.funding_gaps
    assert gaps is not None
    btc, eth_i = panel.symbols.index("BTC/USDT:USDT"), panel.symbols.index("ETH/USDT:USDT")
    assert (gaps[:, btc] == NO_FUNDING).all()
    bad = np.flatnonzero(gaps[:, eth_i] == NO_FUNDING)
    # from the first missing funding time to the last one, on the bar grid
    first = pd.Timestamp(int(panel.timestamps[bad[0]]), unit="ms")
    last = pd.Timestamp(int(panel.timestamps[bad[-1]]), unit="ms")
    assert (str(first), str(last)) == ("2025-05-31 00:00:00", "2025-06-01 16:00:00")
    assert bad.size == bad[-1] - bad[0] + 1 == 41
    others = np.delete(np.arange(panel.n_symbols), [btc, eth_i])
    assert (gaps[:, others] == COVERED).all()
    # a window keeps the marks of its bars
    part = panel.slice(700, 800)
    assert part.funding_gaps is not None and part.funding_gaps.shape == (100, panel.n_symbols)
