"""The in-memory outbox passes the contract the ledger's SQL outbox must pass too."""

from __future__ import annotations

import threading

import pytest

from xsmom.notify.testing import MemoryOutbox, OutboxContract


class TestMemoryOutbox(OutboxContract):
    @pytest.fixture
    def outbox(self) -> MemoryOutbox:
        return MemoryOutbox()


def test_unknown_severity_is_refused() -> None:
    with pytest.raises(ValueError, match="severity"):
        MemoryOutbox().enqueue(
            dedup_key="k", channels=["c"], kind="x", severity="loud", payload={}, now_ms=0
        )


def test_concurrent_enqueues_of_one_key_add_one_row() -> None:
    box = MemoryOutbox()
    added: list[int] = []

    def go() -> None:
        n = box.enqueue(
            dedup_key="same", channels=["d"], kind="x", severity="info", payload={}, now_ms=0
        )
        added.append(n)

    threads = [threading.Thread(target=go) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(added) == [0] * 7 + [1] and len(box.pending()) == 1
