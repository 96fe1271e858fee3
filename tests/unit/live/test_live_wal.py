"""`LedgerFirst`: an intent the ledger already holds is looked up before any new send, so a
restart after a crash between send and record never trades it twice (Binance accepts a used
client id again once the first order is no longer open)."""

from __future__ import annotations

from pathlib import Path

from xsmom.data.bundled import sample_store
from xsmom.exchange import ManualClock, OrderRequest, OrderSide, PaperExchange, StoreMarketData
from xsmom.ledger import default_url, open_ledger
from xsmom.live.orders import IdScheme
from xsmom.live.wal import LedgerFirst

BTC = "BTC/USDT:USDT"
T0 = 1_748_736_000_000  # 2025-06-01 00:00 UTC


def test_a_recorded_intent_is_looked_up_not_sent_again(tmp_path: Path) -> None:
    clock = ManualClock(T0)
    paper = PaperExchange(
        StoreMarketData(sample_store(), clock, symbols=[BTC]), tmp_path / "paper.json", clock
    )
    ids = IdScheme("v1")
    cid = ids.trade_id(T0 - 3_600_000, BTC, 0)
    request = OrderRequest.market(BTC, OrderSide.BUY, 0.01, cid)
    with open_ledger(default_url(tmp_path)) as ledger:
        first = LedgerFirst(paper, ledger, lambda: ids, clock).place_order(request)
        # a new process (the old one died before recording the answer) sends the same intent
        again = LedgerFirst(paper, ledger, lambda: ids, clock).place_order(request)
        assert again.venue_order_id == first.venue_order_id
        assert len(paper.open_orders()) == 0 and len(paper.fills(BTC)) == 1
        (pos,) = paper.positions()
        assert pos.qty == 0.01
        # an intent the ledger does not hold is sent as usual (the first order of a symbol)
        other = OrderRequest.market(BTC, OrderSide.BUY, 0.01, ids.trade_id(T0, BTC, 0))
        LedgerFirst(paper, ledger, lambda: ids, clock).place_order(other)
        assert len(paper.fills(BTC)) == 2
