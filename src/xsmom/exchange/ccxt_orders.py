"""Exactly-once order placement over ccxt: pin the signed timestamp, look up before resending.

After a send whose outcome is unknown (timeout, dropped connection, 5xx) `OrderSender` waits
until the venue can no longer apply that request (its signed timestamp + ``recvWindow`` + a
clock margin), then looks the client id up, and sends again only if the order is not there, so
one intent never becomes two orders even on a venue that lets a filled order's id be used again
(Binance). `CcxtExchange.place_order` delegates here. See docs/exchange.md.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from xsmom.errors import NetworkError, RateLimitError, RejectedError, RetryableError
from xsmom.exchange import ccxt_parse as cp
from xsmom.exchange.ccxt_bybit import uses_link_id
from xsmom.exchange.ccxt_client import CcxtConfig
from xsmom.exchange.clock import ClockSync, wall_ms
from xsmom.exchange.precision import to_contracts
from xsmom.exchange.reports import MarketInfo, OrderReport, OrderRequest, OrderType
from xsmom.exchange.retry import Retrier

# the adapter's logger, as before the split: log configs and tests filter on its name
log = logging.getLogger("xsmom.exchange.ccxt_adapter")

# ccxt ids whose signed requests take ``timestamp`` and ``recvWindow`` parameters (Binance's
# sign()); there the adapter pins both, so it knows when an order can no longer be applied
_STAMPED = frozenset({"binanceusdm", "binance", "binancecoinm"})
# Binance's matching engine refused the order because its timestamp had expired on arrival:
# it was not applied, so it is resent like a 429 (no lookup needed for this send)
_STALE_AT_ENGINE = '"code":-5028'

# (symbol, ccxt type, side, amount, price, params) -> the raw ccxt order
CreateOrder = Callable[[str, str, str, float, float | None, dict[str, Any]], Any]
# (request name, request) -> its result, through the adapter's limiter and error mapping
RawRequest = Callable[[str, Callable[[], Any]], Any]
# (symbol, client id) -> the order, or None
LookupOrder = Callable[[str, str], OrderReport | None]


@dataclass
class _Attempts:
    """What the sends of one intent left behind: the last retryable error, and the local
    time after which no send with an unknown outcome can still be applied (None: none)."""

    last: RetryableError | None = None
    dead_after: int | None = None


@dataclass(frozen=True)
class _Send:
    """When one order request was sent: its pinned timestamp (venue ms), if any."""

    stamp_ms: int | None


@dataclass(frozen=True)
class OrderSender:
    """Place one prepared order at most once, however its sends fail."""

    config: CcxtConfig
    clock: ClockSync
    retrier: Retrier
    raw: RawRequest
    create: CreateOrder
    lookup: LookupOrder
    read_back: Callable[[str, str | None, str | None], Any]  # (symbol, client id, order id)
    local: Callable[[], int]
    sleep: Callable[[float], None]

    def place(self, req: OrderRequest, market: MarketInfo) -> OrderReport:
        """Send ``req`` (already rounded) until it is placed, looking it up after unknowns."""
        st = _Attempts()
        for attempt in range(self.config.retry.max_attempts):
            if st.last is not None:
                self.retrier.backoff(attempt - 1, st.last)
            found = self._lookup(req, st.dead_after)
            if found is not None:
                return found
            report = self._attempt(req, market, st)
            if report is not None:
                return report
        # out of attempts: one last look, so the caller never misses an order that exists
        found = self._lookup(req, st.dead_after)
        if found is not None:
            return found
        assert st.last is not None  # the loop only ends here after a retryable error
        raise st.last

    def _stamp(self) -> _Send:
        """Return the timestamp the next order request is signed with (venue ms), if pinned."""
        if self.config.exchange_id not in _STAMPED:
            return _Send(None)
        return _Send(self.local() + self.clock.offset_ms)

    def _create(self, req: OrderRequest, market: MarketInfo, sent: _Send) -> OrderReport:
        params: dict[str, Any] = {"clientOrderId": req.client_id}
        if sent.stamp_ms is not None:
            params["timestamp"] = sent.stamp_ms
            params["recvWindow"] = self.config.recv_window_ms
        if req.reduce_only:
            params["reduceOnly"] = True
        if req.post_only:
            params["postOnly"] = True
        ccxt_type = "limit" if req.type is OrderType.LIMIT else "market"
        if req.type is OrderType.STOP_MARKET:
            params["stopLossPrice"] = req.stop_price
        amount = to_contracts(market, req.qty)
        raw = self.raw(
            "create_order",
            lambda: self.create(req.symbol, ccxt_type, req.side.value, amount, req.price, params),
        )
        if raw.get("side") is None and uses_link_id(self.config.exchange_id):
            # Bybit answers ids only: read the order back (an error here is an unknown outcome)
            raw = self.read_back(req.symbol, req.client_id, None)
        report = cp.parse_order(raw, market, wall_ms())
        if report.client_id:
            return report
        return dataclasses.replace(report, client_id=req.client_id)

    def _dead_after(self, sent: _Send) -> int:
        """Return the local time (ms) after which the venue can no longer apply ``sent``.

        The venue refuses a request whose timestamp is older than ``recvWindow`` when it
        applies it, so nothing applies after ``stamp + recvWindow`` venue time; the margin
        covers the error of the measured clock offset. Without a pinned stamp the send is
        known to be signed before now, which bounds the stamp from above.
        """
        cfg = self.config
        signed_local = (
            self.local() if sent.stamp_ms is None else sent.stamp_ms - self.clock.offset_ms
        )
        return signed_local + cfg.recv_window_ms + cfg.clock_margin_ms

    def _lookup(self, req: OrderRequest, dead_after: int | None) -> OrderReport | None:
        """Return the order of ``req`` if an earlier send may have reached the venue.

        ``dead_after`` is None when every earlier send was refused or answered; else the
        lookup waits until then, so that its answer is final: an absent order can no longer
        appear and resending cannot double it.
        """
        if dead_after is None:
            return None
        wait_ms = dead_after - self.local()
        if wait_ms > 0:
            log.info("order %s: outcome unknown; looking it up in %d ms", req.client_id, wait_ms)
            self.sleep(wait_ms / 1000.0)
        found = self.lookup(req.symbol, req.client_id)
        if found is not None:
            log.warning(
                "order %s reached the venue despite the error; not resending", req.client_id
            )
        return found

    def _attempt(self, req: OrderRequest, market: MarketInfo, st: _Attempts) -> OrderReport | None:
        """Send ``req`` once; return its order, or None after a retryable failure (in ``st``)."""
        sent = self._stamp()
        try:
            return self._create(req, market, sent)
        except RateLimitError as err:
            st.last = err  # refused before it was applied: resend without a lookup
        except RetryableError as err:
            st.last, st.dead_after = err, self._dead_after(sent)
        except RejectedError as err:
            if _STALE_AT_ENGINE in str(err):  # refused unapplied: it arrived too late
                st.last = NetworkError(str(err))
                return None
            # e.g. "duplicate client id" after a lost answer: the order is ours
            found = self._lookup(req, st.dead_after)
            if found is not None:
                return found
            raise
        return None
