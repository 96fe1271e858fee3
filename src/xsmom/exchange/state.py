"""The trading state: the one gate every order passes (the live engine moves it too).

- ACTIVE: any order may go out.
- REDUCING: only orders that cannot grow exposure (reduce-only) and cancels.
- HALTED: no new orders at all; cancels and reads still work.
"""

from __future__ import annotations

from enum import StrEnum


class TradingState(StrEnum):
    """How much trading is allowed right now."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"

    def allows(self, *, reduce_only: bool) -> bool:
        """Return True if an order (reduce-only or not) may be sent in this state."""
        if self is TradingState.ACTIVE:
            return True
        return self is TradingState.REDUCING and reduce_only

    @staticmethod
    def worst(*states: TradingState) -> TradingState:
        """Return the most restrictive of ``states`` (ACTIVE if none)."""
        order = (TradingState.ACTIVE, TradingState.REDUCING, TradingState.HALTED)
        return max(states, key=order.index, default=TradingState.ACTIVE)
