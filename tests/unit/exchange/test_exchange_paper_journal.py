"""Paper state files: small snapshot + append-only journal; crash between the two steps;
the old single-file format; a save's size does not grow with the history."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from xsmom.data.bundled import sample_store
from xsmom.errors import CorruptStateError
from xsmom.exchange.paper import PaperExchange
from xsmom.exchange.paper_state import journal_path, read_engine
from xsmom.exchange.reports import OrderRequest, OrderSide
from xsmom.exchange.store_source import ManualClock, StoreMarketData

BTC = "BTC/USDT:USDT"
ETH = "ETH/USDT:USDT"
START = 1_748_736_000_000  # 2025-06-01 00:00 UTC
HOUR = 3_600_000


def open_paper(path: Path, clock: ManualClock) -> PaperExchange:
    return PaperExchange(StoreMarketData(sample_store(), clock, symbols=[BTC, ETH]), path, clock)


def trade(px: PaperExchange, clock: ManualClock, tag: str) -> None:
    """Market fills on two symbols, a resting limit, a canceled order, funding over 9 hours."""
    px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.02, f"{tag}-m1"))
    px.place_order(OrderRequest.market(ETH, OrderSide.SELL, 0.5, f"{tag}-m2"))
    last = px.ticker(ETH).last
    px.place_order(OrderRequest.limit(ETH, OrderSide.BUY, 0.3, last * 0.995, f"{tag}-l1"))
    px.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, 1000.0, f"{tag}-x1"))
    px.cancel_order(BTC, client_id=f"{tag}-x1")
    px.place_order(OrderRequest.limit(BTC, OrderSide.BUY, 0.01, 1000.0, f"{tag}-open"))
    clock.advance(9 * HOUR)
    px.balance()


def full(px: PaperExchange) -> dict[str, Any]:
    """Everything the old format saved: the engine's whole snapshot and the cursors."""
    return {
        "engine": json.loads(json.dumps(px.engine.snapshot())),
        "bar_cursor": dict(px._bar_cursor),
        "funding_cursor": dict(px._funding_cursor),
    }


def test_round_trip_restores_exactly_what_the_old_format_held(tmp_path: Path) -> None:
    clock = ManualClock(START)
    path = tmp_path / "paper.json"
    px = open_paper(path, clock)
    trade(px, clock, "a")
    px.close()
    before = full(px)
    eng = before["engine"]
    assert len(eng["fills"]) >= 3 and len(eng["account"]["funding"]) >= 1
    assert {o["status"] for o in eng["orders"]} >= {"filled", "canceled", "new"}
    # the snapshot holds no history: only the open order, no fills, no funding
    snap = json.loads(path.read_text(encoding="utf-8"))
    assert snap["version"] == 2
    assert [o["client_id"] for o in snap["engine"]["open_orders"]] == ["a-open"]
    assert "fills" not in snap["engine"] and "funding" not in snap["engine"]["account"]
    kinds = [json.loads(x)["k"] for x in journal_path(path).read_text().splitlines()]
    assert kinds.count("fill") == len(eng["fills"])
    assert kinds.count("order") == len(eng["orders"]) - 1
    assert kinds.count("funding") == len(eng["account"]["funding"])
    assert snap["journal"]["lines"] == len(kinds)

    again = open_paper(path, clock)
    assert full(again) == before
    assert again.balance() == px.balance() and again.fills(ETH) == px.fills(ETH)
    # it carries on: a second round of history appends, and a third process sees both
    trade(again, clock, "b")
    again.close()
    third = open_paper(path, clock)
    assert full(third) == full(again)
    assert read_engine(path).snapshot() == again.engine.snapshot()  # paper-status's reader


def test_crash_between_journal_append_and_snapshot_replace(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = ManualClock(START)
    path, jpath = tmp_path / "paper.json", journal_path(tmp_path / "paper.json")
    px = open_paper(path, clock)
    trade(px, clock, "a")
    px.close()
    saved, saved_size, before = path.read_bytes(), jpath.stat().st_size, full(px)
    trade(px, clock, "b")  # appends to the journal and replaces the snapshot ...
    px.close()
    assert jpath.stat().st_size > saved_size
    path.write_bytes(saved)  # ... but the crash came before the replace
    with open(jpath, "ab") as fh:  # and in the middle of a further line
        fh.write(b'{"k":"fill","trade_id":')

    with caplog.at_level(logging.WARNING):
        again = open_paper(path, clock)
    assert full(again) == before  # the pre-save state, the extra lines dropped
    assert jpath.stat().st_size == saved_size
    assert any("dropping" in r.getMessage() for r in caplog.records)
    # the next save is consistent: the same history again, once
    trade(again, clock, "c")
    again.close()
    assert full(open_paper(path, clock)) == full(again)
    trade_ids = [
        json.loads(x)["trade_id"] for x in jpath.read_text().splitlines() if '"k":"fill"' in x
    ]
    assert trade_ids == list(range(1, len(trade_ids) + 1))


def test_journal_shorter_than_the_snapshot_is_corrupt(tmp_path: Path) -> None:
    clock = ManualClock(START)
    path, jpath = tmp_path / "paper.json", journal_path(tmp_path / "paper.json")
    px = open_paper(path, clock)
    trade(px, clock, "a")
    px.close()
    lines = jpath.read_bytes().splitlines(keepends=True)
    jpath.write_bytes(b"".join(lines[:-1]))
    with pytest.raises(CorruptStateError, match="covers") as info:
        open_paper(path, clock)
    assert "\n" not in str(info.value)
    jpath.unlink()
    with pytest.raises(CorruptStateError, match="has 0 lines"):
        open_paper(path, clock)


def test_old_single_file_state_loads_and_is_converted_at_the_next_save(tmp_path: Path) -> None:
    clock = ManualClock(START)
    px = open_paper(tmp_path / "live.json", clock)
    trade(px, clock, "a")
    before = full(px)
    old = tmp_path / "paper.json"  # what version 1 wrote: everything in one file
    old.write_text(json.dumps({"version": 1, "config": {}, **before}), encoding="utf-8")
    assert read_engine(old).snapshot() == before["engine"]

    again = open_paper(old, clock)
    assert full(again) == before
    assert not journal_path(old).exists()  # nothing written until a save
    again.close()
    snap = json.loads(old.read_text(encoding="utf-8"))
    assert snap["version"] == 2 and "orders" not in snap["engine"]
    assert snap["journal"]["lines"] == len(journal_path(old).read_text().splitlines())
    assert full(open_paper(old, clock)) == before


def churn(px: PaperExchange, clock: ManualClock, n: int) -> None:
    """Add ``n`` market fills (buy and sell in turn, so the position stays small)."""
    for i in range(n):
        side = "buy" if (px.engine.next_ids[1] % 2) else "sell"
        px.engine.submit(symbol=BTC, side=side, type="market", qty=0.01, ts=clock.now + i)


def test_snapshot_size_does_not_grow_and_a_save_writes_only_new_history(tmp_path: Path) -> None:
    clock = ManualClock(START)
    path, jpath = tmp_path / "paper.json", journal_path(tmp_path / "paper.json")
    px = open_paper(path, clock)
    px.place_order(OrderRequest.market(BTC, OrderSide.BUY, 0.01, "first"))  # tracks BTC
    churn(px, clock, 9)
    px.save()
    size_10, journal_10 = path.stat().st_size, jpath.stat().st_size
    churn(px, clock, 10)
    px.save()
    appended_small = jpath.stat().st_size - journal_10
    churn(px, clock, 980)
    px.save()
    assert len(px.engine.fills()) == 1_000
    size_1000, journal_1000 = path.stat().st_size, jpath.stat().st_size
    assert abs(size_1000 - size_10) < 300
    churn(px, clock, 10)
    px.save()
    appended_big = jpath.stat().st_size - journal_1000
    # 10 fills and their 10 orders, whatever the history: within the width of the numbers
    assert abs(appended_big - appended_small) < 0.05 * appended_small
    assert len(jpath.read_text().splitlines()) == 2 * 1_010
    assert full(open_paper(path, clock)) == full(px)
