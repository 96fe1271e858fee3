"""The exported API of xsmom.exchange (what the live engine and the CLI may import)."""

from __future__ import annotations

import xsmom.exchange as xex
from xsmom.exchange import Exchange, GuardedExchange, MarketData


def test_all_names_resolve() -> None:
    for name in xex.__all__:
        assert getattr(xex, name) is not None
    assert len(set(xex.__all__)) == len(xex.__all__)


def test_every_implementation_satisfies_the_protocol() -> None:
    names = {n for n in dir(Exchange) if not n.startswith("_")}
    for cls in (xex.CcxtExchange, xex.PaperExchange, GuardedExchange):
        missing = {n for n in names if not hasattr(cls, n)}
        assert missing == set(), (cls.__name__, missing)
    md = {n for n in dir(MarketData) if not n.startswith("_")}
    assert md <= {n for n in dir(xex.StoreMarketData)}
