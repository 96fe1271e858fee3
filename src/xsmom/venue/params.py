"""Request parameters with Binance's validation errors, and the route table type."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from xsmom.venue.binance import ApiError

if TYPE_CHECKING:
    from xsmom.venue.service import Venue


class Params:
    """The query/body parameters of one request."""

    def __init__(self, raw: Mapping[str, str]) -> None:
        self.raw = dict(raw)

    def get(self, name: str) -> str | None:
        """Return a parameter or None."""
        value = self.raw.get(name)
        return value if value not in (None, "") else None

    def req(self, name: str) -> str:
        """Return a mandatory parameter (-1102 if missing)."""
        value = self.get(name)
        if value is None:
            raise ApiError(
                400,
                -1102,
                f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
            )
        return value

    def int_(self, name: str, default: int | None = None) -> int | None:
        """Return an integer parameter (-1100 if malformed)."""
        value = self.get(name)
        if value is None:
            return default
        try:
            return int(value)
        except ValueError as exc:
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from exc

    def float_(self, name: str) -> float | None:
        """Return a decimal parameter (-1100 if malformed)."""
        value = self.get(name)
        if value is None:
            return None
        try:
            return float(value)
        except ValueError as exc:
            raise ApiError(400, -1100, f"Illegal characters found in parameter '{name}'.") from exc

    def bool_(self, name: str) -> bool:
        """Return a ``true``/``false`` parameter (absent: False)."""
        return (self.get(name) or "false").lower() == "true"

    def limit(self, default: int, maximum: int) -> int:
        """Return ``limit`` clipped to ``maximum``."""
        value = self.int_("limit", default) or default
        return max(1, min(value, maximum))


Handler = Callable[["Venue", Params], Any]


@dataclass(frozen=True)
class Route:
    """One endpoint: its handler, request weight and whether it must be signed."""

    handler: Handler
    weight: int | Callable[[Params], int] = 1
    signed: bool = False

    def weight_of(self, params: Params) -> int:
        """Return the weight this request costs."""
        return self.weight(params) if callable(self.weight) else self.weight
