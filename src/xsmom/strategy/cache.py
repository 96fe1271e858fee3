"""Memoization of the strategy's parameter-dependent intermediate arrays, for one panel.

An optimizer runs the strategy hundreds of times on the same bars with a few parameters
changed; most stages (volatility, scores, universe, ATR) depend on other parameters and can be
reused. The cache changes no result: every entry is keyed by all the inputs of its stage.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

from xsmom.data.panel import MarketPanel
from xsmom.errors import StrategyError

T = TypeVar("T")


class StageCache:
    """A bounded LRU of stage results for one panel."""

    def __init__(self, panel: MarketPanel, max_entries: int = 48) -> None:
        self._panel = panel
        self._max = max_entries
        self._items: OrderedDict[Hashable, object] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def check(self, panel: MarketPanel) -> None:
        """Refuse to serve a different panel than the one the cache was made for."""
        if panel is not self._panel:
            raise StrategyError("a StageCache serves only the panel it was created for")

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """Return the cached value of ``key``, computing and storing it when missing."""
        if key in self._items:
            self._items.move_to_end(key)
            self.hits += 1
            return self._items[key]  # type: ignore[return-value]  # stored by this same key
        self.misses += 1
        value = compute()
        self._items[key] = value
        if len(self._items) > self._max:
            self._items.popitem(last=False)
        return value
