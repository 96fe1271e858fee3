"""ParquetStore merge semantics: stored rows win, funding matched within a minute, staged writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from xsmom.data.importers import import_data
from xsmom.data.store import ParquetStore
from xsmom.data.validate import Kind
from xsmom.errors import DataError

H = 3_600_000
T0 = 1_700_006_400_000 - (1_700_006_400_000 % (8 * H))
SYM = "BTC/USDT:USDT"


def events(times: list[int], rate: float = 1e-4) -> pd.DataFrame:
    return pd.DataFrame({"timestamp": np.array(times, dtype=np.int64), "rate": rate})


def test_funding_event_with_other_jitter_is_not_stored_twice(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.merge(Kind.FUNDING, SYM, events([T0, T0 + 8 * H + 10]))
    added, _ = store.merge(Kind.FUNDING, SYM, events([T0 + 8 * H, T0 + 16 * H + 3], 2e-4))
    assert added == 1
    got = store.read(Kind.FUNDING, SYM)
    assert got["timestamp"].tolist() == [T0, T0 + 8 * H + 10, T0 + 16 * H + 3]
    assert got["rate"].tolist() == [1e-4, 1e-4, 2e-4]  # the stored event wins


def test_older_rows_are_inserted_in_order(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.merge(Kind.FUNDING, SYM, events([T0 + 16 * H]))
    added, _ = store.merge(Kind.FUNDING, SYM, events([T0, T0 + 8 * H]))
    assert added == 2
    assert store.read(Kind.FUNDING, SYM)["timestamp"].tolist() == [T0, T0 + 8 * H, T0 + 16 * H]


def test_plan_writes_nothing_until_applied(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    plan = store.plan(Kind.FUNDING, SYM, events([T0]))
    assert plan.added == 1 and not store.exists(Kind.FUNDING, SYM)
    store.apply([plan])
    assert store.last_timestamp(Kind.FUNDING, SYM) == T0
    again = store.plan(Kind.FUNDING, SYM, events([T0 + 5]))
    assert again.added == 0 and again.frame is None


def test_invalid_incoming_rows_are_refused_and_store_kept(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.merge(Kind.FUNDING, SYM, events([T0]))
    before = store.path(Kind.FUNDING, SYM).read_bytes()
    with pytest.raises(DataError, match=r"upstream\.csv: funding rate"):
        store.merge(Kind.FUNDING, SYM, events([T0 + 8 * H], 0.5), source="upstream.csv")
    assert store.path(Kind.FUNDING, SYM).read_bytes() == before


def test_a_second_writer_is_refused_while_the_lock_is_held(tmp_path: Path) -> None:
    src = tmp_path / "src" / "funding"
    src.mkdir(parents=True)
    events([T0]).assign(symbol="BTCUSDT").to_csv(src / "all.csv", index=False)
    store = ParquetStore(tmp_path / "store")
    with store.writer_lock(), pytest.raises(DataError, match="another import or download"):
        import_data(src, store)
    assert import_data(src, store).added == 1  # released afterwards


def test_a_damaged_store_file_is_a_data_error(tmp_path: Path) -> None:
    store = ParquetStore(tmp_path)
    store.merge(Kind.FUNDING, SYM, events([T0]))
    store.path(Kind.FUNDING, SYM).write_bytes(b"PAR1 not really")
    with pytest.raises(DataError, match=r"BTC_USDT_USDT\.parquet: unreadable"):
        store.last_timestamp(Kind.FUNDING, SYM)
    with pytest.raises(DataError, match=r"BTC_USDT_USDT\.parquet: unreadable"):
        store.merge(Kind.FUNDING, SYM, events([T0 + 8 * H]))


@settings(max_examples=25, deadline=None)
@given(
    bars=st.sets(st.integers(0, 200), min_size=1, max_size=80),
    n_chunks=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_merging_chunks_in_any_order_gives_their_union(
    tmp_path_factory: pytest.TempPathFactory, bars: set[int], n_chunks: int, seed: int
) -> None:
    rng = np.random.default_rng(seed)
    idx = np.array(sorted(bars))
    close = 100 + idx.astype(float)
    full = pd.DataFrame(
        {
            "timestamp": T0 + H * idx,
            "open": close,
            "high": close + 1,
            "low": close - 1,
            "close": close,
            "volume": 1.0,
        }
    )
    store = ParquetStore(tmp_path_factory.mktemp("prop"))
    labels = rng.integers(0, n_chunks, len(full))
    total = 0
    for k in rng.permutation(n_chunks):
        chunk = full[labels == k]
        if len(chunk):
            total += store.merge(Kind.OHLCV, SYM, chunk, "1h")[0]
        if len(chunk) and rng.random() < 0.5:  # a repeated chunk adds nothing
            assert store.merge(Kind.OHLCV, SYM, chunk, "1h")[0] == 0
    assert total == len(full)
    pd.testing.assert_frame_equal(store.read(Kind.OHLCV, SYM, "1h"), full.reset_index(drop=True))
