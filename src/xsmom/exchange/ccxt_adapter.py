"""`CcxtExchange`: the `Exchange` interface over any ccxt exchange with linear swaps.

Every request goes through `_raw` (rate limiter, ccxt error mapping, call observers) and,
for everything but order placement, through the `Retrier` (backoff with jitter, retryable
errors only). `place_order` has its own loop (`xsmom.exchange.ccxt_orders.OrderSender`): after
an attempt whose outcome is unknown it looks the client id up before sending again, so one
intent never becomes two orders. See docs/exchange.md.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

import ccxt

from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import (
    DataError,
    FatalError,
    InvalidOrderError,
    NetworkError,
    OrderNotFoundError,
    RejectedError,
    RetryableError,
)
from xsmom.exchange import ccxt_parse as cp
from xsmom.exchange.ccxt_bybit import find_by_link_id, uses_link_id
from xsmom.exchange.ccxt_client import CcxtConfig as CcxtConfig
from xsmom.exchange.ccxt_client import make_client as make_client
from xsmom.exchange.ccxt_errors import is_clock_skew, map_ccxt_error
from xsmom.exchange.ccxt_fills import all_trades
from xsmom.exchange.ccxt_funding import all_payments
from xsmom.exchange.ccxt_orders import OrderSender
from xsmom.exchange.clock import ClockSync, wall_ms
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.precision import prepare_order
from xsmom.exchange.ratelimit import TokenBucket
from xsmom.exchange.reports import (
    BalanceReport,
    Candles,
    FillReport,
    FundingEvent,
    FundingPaymentReport,
    MarginMode,
    MarketInfo,
    MarkPrice,
    OrderReport,
    OrderRequest,
    PositionReport,
    Ticker,
)
from xsmom.exchange.retry import Retrier, VenueHold

T = TypeVar("T")
log = logging.getLogger(__name__)
CallObserver = Callable[[str, bool], None]
TRADES_PAGE = 1000  # Binance's largest userTrades page
FUNDING_PAGE = 1000  # Binance's largest income page


class CcxtExchange:
    """The `Exchange` interface over one ccxt client."""

    def __init__(
        self,
        config: CcxtConfig,
        credentials: ApiCredentials | None = None,
        *,
        client: Any = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], int] = wall_ms,
        rng: random.Random | None = None,
        bar_clock: Callable[[], int] | None = None,
    ) -> None:
        """Build over ``client`` (default: `make_client`); ``bar_clock`` judges bar closes.

        ``bar_clock`` defaults to the venue's clock (local clock plus the measured offset);
        a replaying venue passes its market clock instead.
        """
        self.config = config
        self._bar_clock = bar_clock
        self._creds = credentials
        self.client = client if client is not None else make_client(config, credentials)
        self._retrier = Retrier(config.retry, sleep=sleep, rng=rng)
        # the real default: the bucket reads the monotonic clock; an injected one is used as is
        bucket_clock = time.monotonic if clock is wall_ms else (lambda: clock() / 1000.0)
        self._limiter = TokenBucket(
            config.rate_per_s, config.burst, clock=bucket_clock, sleep=sleep
        )
        self.clock = ClockSync(
            self._fetch_time,
            max_drift_ms=config.max_clock_drift_ms or 2**62,
            local_ms=clock,
            samples=config.clock_samples,
            max_rtt_ms=config.clock_max_rtt_ms,
        )
        self._hold = VenueHold(config.retry, clock)
        self._observers: list[CallObserver] = []
        self._markets: dict[str, MarketInfo] | None = None
        self.requests = 0
        self._orders = OrderSender(
            config=config,
            clock=self.clock,
            retrier=self._retrier,
            raw=self._raw,
            create=lambda *args: self.client.create_order(*args),
            lookup=self.order_by_client_id,
            read_back=self._read_back,
            local=clock,
            sleep=sleep,
        )

    def __repr__(self) -> str:
        return f"CcxtExchange({self.config.exchange_id}, keys={'set' if self._creds else 'none'})"

    @property
    def name(self) -> str:
        """Return the ccxt exchange id."""
        return self.config.exchange_id

    def observe_calls(self, observer: CallObserver) -> None:
        """Call ``observer(name, ok)`` after every raw request (retries included)."""
        self._observers.append(observer)

    # ---- plumbing ----------------------------------------------------------------------------
    def _redact(self, text: str) -> str:
        return self._creds.redact(text) if self._creds is not None else text

    def _notify(self, name: str, ok: bool) -> None:
        for obs in self._observers:
            obs(name, ok)

    def _raw(self, name: str, fn: Callable[[], T]) -> T:
        """Make one request: honour a venue hold, rate limit, map errors, notify observers."""
        self._hold.check(name)
        self._limiter.acquire()
        self.requests += 1
        if hasattr(self.client, "last_response_headers"):
            self.client.last_response_headers = None  # never read an earlier answer's headers
        try:
            result = fn()
        except ccxt.BaseError as exc:
            headers = getattr(self.client, "last_response_headers", None)
            err = map_ccxt_error(exc, headers=headers, redact=self._redact)
            self._notify(name, not isinstance(err, RetryableError | FatalError))
            if is_clock_skew(exc):
                self._resync_quietly()
            if isinstance(err, RetryableError):
                self._hold.hold_if_asked(name, err)
            # the vendor exception may carry request details: raise only the redacted copy
            raise err from None
        self._notify(name, True)
        return result

    def _call(self, name: str, fn: Callable[[], T]) -> T:
        return self._retrier.call(lambda: self._raw(name, fn), what=name)

    def _fetch_time(self) -> int:
        return int(self._raw("fetch_time", self.client.fetch_time))

    def _apply_offset(self) -> None:
        # ccxt signs with milliseconds() - options["timeDifference"]
        self.client.options["timeDifference"] = -self.clock.offset_ms

    def _resync_quietly(self) -> None:
        try:
            self.clock.measure()
        except RetryableError as err:
            log.warning("clock resync failed: %s", err)
            return
        self._apply_offset()

    def sync_clock(self) -> int:
        """Measure the clock offset now, hand it to ccxt and return it (ms, server - local)."""
        sample = self._retrier.call(self.clock.measure, what="fetch_time")
        self._apply_offset()
        return sample.offset_ms

    def server_ms(self) -> int:
        """Return the venue's time (measured once on first use)."""
        if self.clock.last is None:
            self.sync_clock()
        return self.clock.server_ms()

    def _check_clock(self) -> None:
        stale = self.clock.last
        try:
            self._retrier.call(self.clock.ensure_synced, what="fetch_time")
        finally:
            if self.clock.last is not stale:  # a new measurement: sign with it either way
                self._apply_offset()

    # ---- markets -----------------------------------------------------------------------------
    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the linear swaps settled in the configured currency (loaded once)."""
        if self._markets is None:
            raw = self._call("load_markets", self.client.load_markets)
            mode = int(getattr(self.client, "precisionMode", cp.TICK_SIZE))
            self._markets = {
                m["symbol"]: cp.parse_market(m, mode)
                for m in raw.values()
                if cp.is_linear_swap(m) and m.get("settle") == self.config.settle
            }
        return self._markets

    def market(self, symbol: str) -> MarketInfo:
        """Return one market or raise InvalidOrderError."""
        info = self.markets().get(symbol)
        if info is None:
            raise InvalidOrderError(f"{self.name} has no linear swap {symbol!r}")
        return info

    # ---- market data -------------------------------------------------------------------------
    def ticker(self, symbol: str) -> Ticker:
        """Return the ticker of ``symbol`` with the touch (see `tickers`)."""
        self.market(symbol)
        raw = self._call("fetch_ticker", lambda: self.client.fetch_ticker(symbol))
        return self._touch({symbol: cp.parse_ticker(raw, symbol, wall_ms())})[symbol]

    def tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Return the tickers of ``symbols``, bid and ask filled from the book when needed.

        A venue whose tickers carry no bid/ask (binanceusdm's 24hr ticker) is asked once more,
        for all of them at once, through ccxt's ``fetchBidsAsks`` (Binance: bookTicker). A
        symbol the answer lacks keeps no bid/ask (logged), so a caller that needs the book
        fails on it instead of trading on the last price. DataError if a ticker is missing.
        """
        for s in symbols:
            self.market(s)
        raw = self._call("fetch_tickers", lambda: self.client.fetch_tickers(list(symbols)))
        missing = [s for s in symbols if s not in raw]
        if missing:
            raise DataError(f"{self.name}: fetch_tickers answered without {missing}")
        return self._touch({s: cp.parse_ticker(raw[s], s, wall_ms()) for s in symbols})

    def _touch(self, tickers: dict[str, Ticker]) -> dict[str, Ticker]:
        """Return ``tickers`` with bid/ask from one bids/asks request where they lack them."""
        bare = [s for s, t in tickers.items() if t.bid is None or t.ask is None]
        has = getattr(self.client, "has", None) or {}
        if not bare or has.get("fetchBidsAsks") is not True:  # "emulated" = fetch_tickers again
            return tickers
        book = self._call("fetch_bids_asks", lambda: self.client.fetch_bids_asks(bare))
        out = {s: cp.with_touch(t, book.get(s)) if s in bare else t for s, t in tickers.items()}
        lacking = [s for s in bare if out[s].bid is None or out[s].ask is None]
        if lacking:
            log.warning("%s: the book ticker has no bid/ask for %s", self.name, lacking)
        return out

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        """Return closed candles (the forming one, judged by the venue's clock, is dropped)."""
        self.market(symbol)
        tf = timeframe_ms(timeframe)
        rows = self._call(
            "fetch_ohlcv", lambda: self.client.fetch_ohlcv(symbol, timeframe, since, limit)
        )
        now = self._bar_clock() if self._bar_clock is not None else self.server_ms()
        closed = [r for r in rows if int(r[0]) + tf <= now]
        return Candles.from_rows(symbol, timeframe, closed)

    def funding_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingEvent]:
        """Return settled funding events, oldest first."""
        self.market(symbol)
        raw = self._call(
            "fetch_funding_rate_history",
            lambda: self.client.fetch_funding_rate_history(symbol, since, limit),
        )
        events = [cp.parse_funding_event(r, symbol) for r in raw]
        return sorted(events, key=lambda e: e.ts)

    def mark_price(self, symbol: str) -> MarkPrice:
        """Return the mark price and current funding rate of ``symbol``."""
        self.market(symbol)
        raw = self._call("fetch_funding_rate", lambda: self.client.fetch_funding_rate(symbol))
        return cp.parse_funding_rate(raw, symbol, wall_ms())

    def mark_prices(self, symbols: Sequence[str]) -> dict[str, MarkPrice]:
        """Return mark prices of ``symbols``."""
        for s in symbols:
            self.market(s)
        raw = self._call(
            "fetch_funding_rates", lambda: self.client.fetch_funding_rates(list(symbols))
        )
        return {s: cp.parse_funding_rate(raw[s], s, wall_ms()) for s in symbols if s in raw}

    # ---- account -----------------------------------------------------------------------------
    def balance(self) -> BalanceReport:
        """Return the margin account in the settlement currency."""
        raw = self._call("fetch_balance", self.client.fetch_balance)
        return cp.parse_balance(raw, self.config.settle, wall_ms())

    def positions(self, symbols: Sequence[str] | None = None) -> list[PositionReport]:
        """Return the non-zero positions."""
        wanted = list(symbols) if symbols is not None else None
        raw = self._call("fetch_positions", lambda: self.client.fetch_positions(wanted))
        mkts = self.markets()
        out = [
            cp.parse_position(p, mkts[p["symbol"]], wall_ms())
            for p in raw
            if p.get("symbol") in mkts and cp.f0(p.get("contracts")) != 0.0
        ]
        return [p for p in out if wanted is None or p.symbol in wanted]

    def _cond(self) -> list[dict[str, Any]]:
        """Return the params sets that cover plain and (if separate) conditional orders."""
        if uses_link_id(self.config.exchange_id):
            return [{}]  # Bybit's lists hold conditional orders too: asking twice would double
        extra = self.config.conditional_params
        return [{}] if not extra else [{}, dict(extra)]

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Return the open orders, conditional ones included."""
        if symbol is not None:
            self.market(symbol)
        mkts, out = self.markets(), []
        for params in self._cond():
            raw = self._call(
                "fetch_open_orders",
                lambda p=params: self.client.fetch_open_orders(symbol, None, None, p),  # type: ignore[misc]  # default binds the loop value
            )
            out += [
                cp.parse_order(o, mkts[o["symbol"]], wall_ms())
                for o in raw
                if o.get("symbol") in mkts
            ]
        return out

    def order_by_client_id(self, symbol: str, client_id: str) -> OrderReport | None:
        """Return the order with ``client_id`` (plain, then conditional), or None."""
        market = self.market(symbol)
        if uses_link_id(self.config.exchange_id):
            raw = find_by_link_id(self._call, self.client, symbol, client_id)
            return None if raw is None else cp.parse_order(raw, market, wall_ms())
        for params in self._cond():
            query = {**params, "clientOrderId": client_id}
            try:
                raw = self._call(
                    "fetch_order",
                    lambda q=query: self.client.fetch_order(None, symbol, q),  # type: ignore[misc]  # default binds the loop value
                )
            except OrderNotFoundError:
                continue
            return cp.parse_order(raw, market, wall_ms())
        return None

    def fills(self, symbol: str, since: int | None = None) -> list[FillReport]:
        """Return every execution on ``symbol`` from ``since`` on (all kept when None).

        Binance venues are paged by time windows and trade ids until complete (see
        `ccxt_fills`); other venues rely on ccxt's own pagination (``paginate``).
        """
        market = self.market(symbol)
        if self.config.exchange_id.startswith("binance"):
            until = self.server_ms() + 60_000  # the venue may stamp a trade a little ahead
            raw = all_trades(lambda s, e, f: self._trade_page(symbol, s, e, f), since, until)
        else:
            log.warning("%s: fills are paged by ccxt's paginate (untested here)", self.name)
            params = {"paginate": True, "paginationCalls": 1000}
            raw = self._call(
                "fetch_my_trades",
                lambda: self.client.fetch_my_trades(symbol, since, None, params),
            )
        unique = {str(t.get("id")): t for t in raw}
        fills = (cp.parse_fill(t, market) for t in unique.values())
        # numeric ids as strings: "9" before "10"
        return sorted(fills, key=lambda f: (f.ts, len(f.trade_id), f.trade_id))

    def _trade_page(
        self, symbol: str, start: int | None, end: int | None, from_id: int | None
    ) -> list[Any]:
        params: dict[str, Any] = {"fromId": from_id} if from_id is not None else {"until": end}
        page: list[Any] = self._call(
            "fetch_my_trades",
            lambda: self.client.fetch_my_trades(symbol, start, TRADES_PAGE, params),
        )
        return page

    def funding_payments(self, since: int | None = None) -> list[FundingPaymentReport]:
        """Return the account's funding payments from ``since`` on (income ``FUNDING_FEE``)."""
        mkts = self.markets()
        raw = all_payments(
            lambda start: self._call(
                "fetch_funding_history",
                lambda: self.client.fetch_funding_history(None, start, FUNDING_PAGE),
            ),
            since,
            FUNDING_PAGE,
        )
        other = sorted({str(r.get("symbol")) for r in raw if r.get("symbol") not in mkts})
        if other:
            log.warning("%s: funding on markets it does not trade, not recorded: %s", self, other)
        return [
            cp.parse_funding_payment(r, str(r.get("symbol")))
            for r in raw
            if r.get("symbol") in mkts
        ]

    # ---- trading -----------------------------------------------------------------------------
    def _read_back(self, symbol: str, client_id: str | None, order_id: str | None) -> Any:
        """Return the full order after an answer that carried its ids only (Bybit)."""
        found = find_by_link_id(self._raw, self.client, symbol, client_id, order_id)
        if found is None:
            raise NetworkError(f"order {client_id or order_id} acknowledged but not found")
        return found

    def place_order(self, request: OrderRequest) -> OrderReport:
        """Round and place ``request``; after an unknown outcome, look it up before resending.

        The lookup waits until the unknown send can no longer be applied (see `OrderSender`).
        """
        market = self.market(request.symbol)
        if self.config.max_clock_drift_ms is not None:
            self._check_clock()
        return self._orders.place(prepare_order(market, request), market)

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderReport:
        """Cancel an order by client id or venue id (plain, then conditional)."""
        if (client_id is None) == (venue_order_id is None):
            raise InvalidOrderError("cancel_order needs exactly one of client_id, venue_order_id")
        market = self.market(symbol)
        last: OrderNotFoundError | None = None
        for params in self._cond():
            query = dict(params)
            if client_id is not None:
                key = "orderLinkId" if uses_link_id(self.config.exchange_id) else "clientOrderId"
                query[key] = client_id
            try:
                raw = self._call(
                    "cancel_order",
                    lambda q=query: self.client.cancel_order(venue_order_id, symbol, q),  # type: ignore[misc]  # default binds the loop value
                )
            except OrderNotFoundError as err:
                last = err
                continue
            if raw.get("side") is None and uses_link_id(self.config.exchange_id):
                raw = self._read_back(symbol, client_id, raw.get("id") or venue_order_id)
            return cp.parse_order(raw, market, wall_ms())
        assert last is not None
        raise last

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the leverage of ``symbol``."""
        market = self.market(symbol)
        if not 1 <= leverage <= market.max_leverage:
            raise InvalidOrderError(
                f"{symbol}: leverage {leverage} outside 1..{market.max_leverage}"
            )
        self._call("set_leverage", lambda: self.client.set_leverage(leverage, symbol))

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Set the margin mode of ``symbol``; 'already set' counts as success."""
        self.market(symbol)
        try:
            self._call("set_margin_mode", lambda: self.client.set_margin_mode(mode.value, symbol))
        except RejectedError as err:
            if "no need to change" not in str(err).lower():
                raise

    def close(self) -> None:
        """Close the HTTP session."""
        session = getattr(self.client, "session", None)
        if session is not None:
            session.close()
