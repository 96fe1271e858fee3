"""What ccxt ``bybit`` (4.5) needs from the adapter that ccxt ``binanceusdm`` does not.

* ``create_order`` and ``cancel_order`` answer only ``orderId`` and ``orderLinkId`` (Bybit's
  v5 answer): side, amount and status are unknown until the order is read back.
* ``cancel_order`` and the order lists take the client id as ``orderLinkId``; ccxt passes a
  ``clientOrderId`` parameter through unchanged there, which Bybit ignores.
* ``fetch_order`` / ``fetch_open_order`` send ``orderId=None`` when asked by client id, so an
  order is found by client id through the open list, then the closed list (both by
  ``orderLinkId``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

LINK_ID_VENUES = frozenset({"bybit"})


def uses_link_id(exchange_id: str) -> bool:
    """Return True if ``exchange_id`` names client order ids ``orderLinkId`` (Bybit)."""
    return exchange_id in LINK_ID_VENUES


def find_by_link_id(
    call: Callable[[str, Callable[[], Any]], Any],
    client: Any,
    symbol: str,
    client_id: str | None,
    order_id: str | None = None,
) -> Mapping[str, Any] | None:
    """Return the ccxt order with ``client_id`` (or venue ``order_id``), open first, or None.

    ``call(name, fn)`` runs one client request (the adapter's guarded call).
    """
    if client_id is not None:
        query, field, value = {"orderLinkId": client_id}, "clientOrderId", client_id
    else:
        query, field, value = {"orderId": str(order_id)}, "id", str(order_id)
    rows = call("fetch_open_orders", lambda: client.fetch_open_orders(symbol, None, None, query))
    if not any(r.get(field) == value for r in rows):
        rows = call(
            "fetch_canceled_and_closed_orders",
            lambda: client.fetch_canceled_and_closed_orders(symbol, None, None, query),
        )
    found = [r for r in rows if r.get(field) == value]
    return found[0] if found else None
