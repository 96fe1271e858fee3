"""ParquetStore merge semantics: stored rows win, funding matched within a minute, staged writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

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
