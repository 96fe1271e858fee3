"""`LedgerFirst`: every order is in the ledger before it is sent (write-ahead).

The executor places orders through this wrapper. Before a request leaves the process its
intent (client id, symbol, side, type, rounded quantity and prices, bar, attempt, config
version) is committed as a ``new`` order; a refusal is recorded as ``rejected``. So a crash
between the venue accepting an order and the cycle's transaction leaves the order in the
ledger, and the restart's reconciliation looks it up by client id (filled, open, or never
arrived: ``expired``). Everything else is passed through unchanged.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, cast

from xsmom.errors import InvalidOrderError, RejectedError
from xsmom.exchange.interface import Exchange
from xsmom.exchange.precision import prepare_order
from xsmom.exchange.reports import OrderReport, OrderRequest
from xsmom.ledger import Ledger
from xsmom.live.orders import IdScheme

log = logging.getLogger(__name__)


class LedgerFirst:
    """Wrap an `Exchange` so that ``place_order`` commits the intent to the ledger first."""

    def __init__(
        self,
        inner: Exchange,
        ledger: Ledger,
        ids: Callable[[], IdScheme],
        clock: Callable[[], int],
    ) -> None:
        self.inner, self.ledger, self._ids, self._clock = inner, ledger, ids, clock

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def as_exchange(self) -> Exchange:
        """Return self typed as an `Exchange` (every other call is the inner one's)."""
        return cast(Exchange, self)

    def place_order(self, request: OrderRequest) -> OrderReport:
        """Record the intent (committed), then send; record a refusal.

        An intent the ledger already holds was sent before, perhaps by a process that died
        before it learnt the outcome: the venue is asked for the id first, and an order it
        has is returned instead of being sent again (Binance accepts a used id once the
        first order is no longer open, so a second send would trade twice).
        """
        if self.ledger.order(request.client_id) is not None:
            found = self.inner.order_by_client_id(request.symbol, request.client_id)
            if found is not None:
                log.warning(
                    "%s: %s was sent before (the venue has it: %s); not sending again",
                    request.symbol,
                    request.client_id,
                    found.status.value,
                )
                return found
        self._record(request)
        try:
            return self.inner.place_order(request)
        except RejectedError as exc:
            with self.ledger.transaction() as tx:
                known = tx.order(request.client_id)
                if known is not None and known.is_open:
                    tx.record_transition(
                        request.client_id,
                        status="rejected",
                        ts=self._clock(),
                        reason=f"{type(exc).__name__}: {exc}"[:500],
                    )
            raise

    def _record(self, request: OrderRequest) -> None:
        market = self.inner.markets().get(request.symbol)
        rounded = request
        if market is not None:
            try:
                rounded = prepare_order(market, request)
            except InvalidOrderError:
                rounded = request  # the send raises the same refusal, recorded then
        ids = self._ids()
        parsed = ids.parse(request.client_id)
        with self.ledger.transaction() as tx:
            if tx.order(request.client_id) is not None:
                return  # a retry of an uncertain send: the intent is recorded already
            tx.record_order(
                client_id=request.client_id,
                symbol=request.symbol,
                side=request.side.value,
                type=request.type.value,
                qty=rounded.qty,
                price=rounded.price,
                stop_price=rounded.stop_price,
                reduce_only=request.reduce_only,
                post_only=request.post_only,
                bar_ts=parsed[0] if parsed else None,
                attempt=parsed[2] if parsed else 0,
                config_version=ids.version if parsed else None,
                ts=self._clock(),
                reason="sending",
            )
