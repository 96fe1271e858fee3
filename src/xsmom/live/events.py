"""Immutable events of the live package (past tense, each with ``ts_event`` and ``ts_init``).

The gate and the executor return them; the engine writes them to the ledger. Both times come
from the exchange clock the caller passed in (nothing here reads a clock).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import Enum
from typing import Any

from xsmom.exchange.state import TradingState


@dataclass(frozen=True, kw_only=True)
class GuardTripped:
    """A guard asked for a restricted state (or changed its reason while restricting)."""

    ts_event: int
    ts_init: int
    guard: str
    state: TradingState
    reason: str
    flatten: bool = False


@dataclass(frozen=True, kw_only=True)
class GuardRecovered:
    """A guard no longer restricts trading."""

    ts_event: int
    ts_init: int
    guard: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class GuardAlerted:
    """A guard wants a human to look (no state change), e.g. no fills for a long time."""

    ts_event: int
    ts_init: int
    guard: str
    message: str


@dataclass(frozen=True, kw_only=True)
class TradingStateChanged:
    """The gate's trading state changed."""

    ts_event: int
    ts_init: int
    old: TradingState
    new: TradingState
    reason: str
    flatten: bool


@dataclass(frozen=True, kw_only=True)
class Allowed:
    """The gate lets a command through."""


ALLOWED = Allowed()


@dataclass(frozen=True, kw_only=True)
class Denied:
    """The gate refused a command: an event with its reason."""

    ts_event: int
    ts_init: int
    symbol: str
    client_id: str | None
    state: TradingState
    reason: str


Decision = Allowed | Denied


@dataclass(frozen=True, kw_only=True)
class OrderRejected:
    """The venue (or the local precision check) refused an order or a cancel."""

    ts_event: int
    ts_init: int
    symbol: str
    client_id: str | None
    error: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class RetryLater:
    """A call failed transiently; the symbol's remaining actions wait for the next cycle."""

    ts_event: int
    ts_init: int
    symbol: str
    client_id: str | None
    error: str
    reason: str


@dataclass(frozen=True, kw_only=True)
class ActionSkipped:
    """A planned action was not sent because the state it was planned on changed."""

    ts_event: int
    ts_init: int
    symbol: str
    client_id: str | None
    reason: str


GateEvent = GuardTripped | GuardRecovered | GuardAlerted | TradingStateChanged
ExecutionEvent = Denied | OrderRejected | RetryLater | ActionSkipped


def to_record(event: GateEvent | ExecutionEvent) -> dict[str, Any]:
    """Return ``event`` as a JSON-safe dict with its ``kind`` (for a ledger events row)."""
    out: dict[str, Any] = {"kind": type(event).__name__}
    for f in fields(event):
        value = getattr(event, f.name)
        out[f.name] = value.value if isinstance(value, Enum) else value
    return out
