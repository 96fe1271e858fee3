"""`PaperExchange`: the `Exchange` interface with fills simulated on live market data.

Market data comes from any `MarketData` source (the ccxt adapter's public calls, or
`StoreMarketData` for replays); orders go to `xsmom.sim.MatchingEngine`, the same fill
model as the backtest and the simulated venue (`xsmom.backtest.costs`: fees, slippage with
participation impact, resting orders filled up to ``max_participation`` of each bar's volume,
so large orders fill partially over several bars). Before every call the engine catches up:
each new closed bar of a tracked symbol is matched, then the funding events up to its close
are settled. The state is saved after every change and read back on start, so a restart
continues where it stopped: a small snapshot rewritten atomically plus an append-only journal
of fills, closed orders and funding (`xsmom.exchange.paper_state`), so a save costs O(new fills).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from xsmom.backtest.costs import volume_known
from xsmom.data.timeframes import timeframe_ms
from xsmom.errors import (
    InvalidOrderError,
    OrderNotFoundError,
    OrderRejectedError,
)
from xsmom.exchange.interface import MarketData
from xsmom.exchange.paper_reports import fill_report, order_report, position_report
from xsmom.exchange.paper_state import PaperState
from xsmom.exchange.precision import prepare_order
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
from xsmom.sim import MARGIN_MODE_SAME, Bar, FeeModel, MarketSpec, MatchingEngine, reject_code

log = logging.getLogger(__name__)
TRACK_BARS = 24  # closed bars read when a symbol is first traded


@dataclass(frozen=True, kw_only=True)
class PaperConfig:
    """Paper account settings."""

    initial_balance: float = 10_000.0
    fees: FeeModel = field(default_factory=FeeModel)
    timeframe: str = "1h"
    default_leverage: int = 20
    settle: str = "USDT"


def _spec(m: MarketInfo) -> MarketSpec:
    # the engine works in base units (contract size folded into qty)
    return MarketSpec(
        symbol=m.symbol,
        venue_id=m.venue_id,
        price_tick=m.price_tick,
        qty_step=m.qty_step,
        min_qty=m.min_qty,
        min_notional=m.min_notional,
        contract_size=1.0,
        max_leverage=m.max_leverage,
    )


class PaperExchange:
    """Paper trading over a market-data source, persisted to ``state_path``."""

    def __init__(
        self,
        source: MarketData,
        state_path: Path | str,
        clock: Callable[[], int],
        *,
        config: PaperConfig | None = None,
    ) -> None:
        self.source = source
        self.state_path = Path(state_path)
        self._state = PaperState(self.state_path)
        self.clock = clock
        self.config = config or PaperConfig()
        self._bar_ms = timeframe_ms(self.config.timeframe)
        self._markets = dict(source.markets())
        self._bar_cursor: dict[str, int] = {}
        self._funding_cursor: dict[str, int] = {}
        self._synced_at: int | None = None
        self.engine = self._load() or MatchingEngine(
            {s: _spec(m) for s, m in self._markets.items()},
            self.config.fees,
            self.config.initial_balance,
            self.config.default_leverage,
        )

    @property
    def name(self) -> str:
        """Return ``paper``."""
        return "paper"

    # ---- persistence -------------------------------------------------------------------------
    def _load(self) -> MatchingEngine | None:
        loaded = self._state.load()
        if loaded is None:
            return None
        self._bar_cursor = loaded.bar_cursor
        self._funding_cursor = loaded.funding_cursor
        return loaded.engine

    def save(self) -> None:
        """Journal the new fills, closed orders and funding; replace the snapshot atomically."""
        extra: dict[str, Any] = {
            "config": {**asdict(self.config), "fees": asdict(self.config.fees)},
            "bar_cursor": self._bar_cursor,
            "funding_cursor": self._funding_cursor,
        }
        self._state.save(self.engine, extra)

    # ---- catching up with the market ---------------------------------------------------------
    def _track(self, symbol: str, now: int) -> None:
        if symbol in self._bar_cursor:
            return
        # closed bars of the last day (a source drops the forming bar, so ``limit=1`` can be
        # empty): the last one with volume is the impact reference of the first fill
        since = (now // self._bar_ms - TRACK_BARS) * self._bar_ms
        bars = self.source.ohlcv(symbol, self.config.timeframe, since=since)
        self._bar_cursor[symbol] = int(bars.timestamp[-1]) if len(bars) else now - self._bar_ms
        self._funding_cursor[symbol] = now
        qv = None
        for i in range(len(bars) - 1, -1, -1):
            if volume_known(float(bars.volume[i] * bars.close[i])):
                qv = float(bars.volume[i] * bars.close[i])
                break
        if qv is None:
            log.warning("%s: no closed bar with volume in the last %d bars", symbol, TRACK_BARS)
        self._price(symbol, now, qv)

    def _price(self, symbol: str, now: int, quote_volume: float | None = None) -> None:
        tick = self.source.ticker(symbol)
        mark = tick.mark if tick.mark is not None else self.source.mark_price(symbol).mark
        self.engine.update_price(
            symbol, last=tick.last, mark=mark, quote_volume=quote_volume, ts=now
        )

    def _catch_up(self, symbol: str, now: int) -> bool:
        since = self._bar_cursor[symbol] + self._bar_ms
        bars = self.source.ohlcv(symbol, self.config.timeframe, since=since)
        events = self.source.funding_history(symbol, since=self._funding_cursor[symbol] + 1)
        k = 0
        for i in range(len(bars)):
            ts = int(bars.timestamp[i])
            close_ts = ts + self._bar_ms
            bar = Bar(
                ts=ts,
                open=float(bars.open[i]),
                high=float(bars.high[i]),
                low=float(bars.low[i]),
                close=float(bars.close[i]),
                volume=float(bars.volume[i]),
            )
            self.engine.on_bar(symbol, bar, ts=close_ts)
            self._bar_cursor[symbol] = ts
            while k < len(events) and events[k].ts <= close_ts:
                mark = self.engine.mark_price(symbol) or bar.close
                self.engine.settle_funding(symbol, events[k].rate, mark, ts=events[k].ts)
                self._funding_cursor[symbol] = events[k].ts
                k += 1
        if len(bars):
            self._price(symbol, now)
        return bool(len(bars)) or k > 0

    def sync(self) -> None:
        """Match every new closed bar and settle funding for the tracked symbols; persist."""
        now = self.clock()
        if now == self._synced_at:
            return
        changed = False
        for symbol in list(self._bar_cursor):
            changed |= self._catch_up(symbol, now)
        self._synced_at = now
        if changed:
            self.save()

    # ---- market data -------------------------------------------------------------------------
    def markets(self) -> Mapping[str, MarketInfo]:
        """Return the source's markets."""
        return self._markets

    def market(self, symbol: str) -> MarketInfo:
        """Return one market or raise InvalidOrderError."""
        info = self._markets.get(symbol)
        if info is None:
            raise InvalidOrderError(f"paper has no market {symbol!r}")
        return info

    def ticker(self, symbol: str) -> Ticker:
        """Return the source's ticker."""
        return self.source.ticker(symbol)

    def tickers(self, symbols: Sequence[str]) -> dict[str, Ticker]:
        """Return the source's tickers: the ccxt adapter's carry the venue's touch; a store's
        have no bid/ask (trade them with ``quote_source: last``)."""
        return self.source.tickers(symbols)

    def ohlcv(
        self, symbol: str, timeframe: str, since: int | None = None, limit: int | None = None
    ) -> Candles:
        """Return the source's closed candles."""
        return self.source.ohlcv(symbol, timeframe, since, limit)

    def funding_history(
        self, symbol: str, since: int | None = None, limit: int | None = None
    ) -> list[FundingEvent]:
        """Return the source's funding events."""
        return self.source.funding_history(symbol, since, limit)

    def mark_price(self, symbol: str) -> MarkPrice:
        """Return the source's mark price."""
        return self.source.mark_price(symbol)

    def mark_prices(self, symbols: Sequence[str]) -> dict[str, MarkPrice]:
        """Return the source's mark prices."""
        return self.source.mark_prices(symbols)

    # ---- account -----------------------------------------------------------------------------
    def balance(self) -> BalanceReport:
        """Return the paper account."""
        self.sync()
        b = self.engine.balance()
        return BalanceReport(
            currency=self.config.settle,
            wallet=b.wallet,
            equity=b.equity,
            free=b.available,
            used_margin=b.position_margin + b.order_margin,
            unrealized=b.unrealized_pnl,
            ts=self.clock(),
        )

    def positions(self, symbols: Sequence[str] | None = None) -> list[PositionReport]:
        """Return the non-flat paper positions."""
        self.sync()
        now, b = self.clock(), self.engine.balance()
        out = [position_report(p, self.engine, b, now) for p in self.engine.positions()]
        return [p for p in out if symbols is None or p.symbol in symbols]

    def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Return the open paper orders."""
        self.sync()
        return [order_report(o) for o in self.engine.open_orders(symbol)]

    def order_by_client_id(self, symbol: str, client_id: str) -> OrderReport | None:
        """Return the paper order with ``client_id``, or None."""
        self.sync()
        try:
            order = self.engine.order(client_id=client_id)
        except OrderNotFoundError:
            return None
        return order_report(order) if order.symbol == symbol else None

    def fills(self, symbol: str, since: int | None = None) -> list[FillReport]:
        """Return paper executions on ``symbol`` from ``since`` on."""
        self.sync()
        return [
            fill_report(f, self.config.settle)
            for f in self.engine.fills(symbol)
            if since is None or f.ts >= since
        ]

    def funding_payments(self, since: int | None = None) -> list[FundingPaymentReport]:
        """Return the funding the paper account paid or received (its own settlements)."""
        self.sync()
        out = [
            FundingPaymentReport(
                payment_id=f"{p.symbol}@{p.ts}",  # one settlement per symbol and time
                symbol=p.symbol,
                amount=p.amount,
                currency=self.config.settle,
                ts=p.ts,
            )
            for p in self.engine.funding_payments()
            if since is None or p.ts >= since
        ]
        return sorted(out, key=lambda p: (p.ts, p.symbol))  # settled symbol by symbol

    # ---- trading -----------------------------------------------------------------------------
    def place_order(self, request: OrderRequest) -> OrderReport:
        """Round ``request`` and submit it to the matching engine at the current price."""
        market = self.market(request.symbol)
        now = self.clock()
        self.sync()
        self._track(request.symbol, now)
        req = prepare_order(market, request, ref_price=self.engine.last_price(request.symbol))
        try:
            order = self.engine.submit(
                symbol=req.symbol,
                side=req.side.value,
                type=req.type.value,
                qty=req.qty,
                price=req.price,
                stop_price=req.stop_price,
                post_only=req.post_only,
                reduce_only=req.reduce_only,
                client_id=req.client_id,
                ts=now,
            )
        finally:
            self.save()
        return order_report(order)

    def cancel_order(
        self, symbol: str, *, client_id: str | None = None, venue_order_id: str | None = None
    ) -> OrderReport:
        """Cancel a paper order by client id or venue id."""
        if (client_id is None) == (venue_order_id is None):
            raise InvalidOrderError("cancel_order needs exactly one of client_id, venue_order_id")
        self.sync()
        oid = int(venue_order_id) if venue_order_id is not None else None
        order = self.engine.cancel(
            symbol=symbol, order_id=oid, client_id=client_id, ts=self.clock()
        )
        self.save()
        return order_report(order)

    def set_leverage(self, symbol: str, leverage: int) -> None:
        """Set the paper leverage of ``symbol``."""
        self.market(symbol)
        self.engine.set_leverage(symbol, leverage)
        self.save()

    def set_margin_mode(self, symbol: str, mode: MarginMode) -> None:
        """Record the margin mode (margin is computed as cross; see the venue's limits)."""
        self.market(symbol)
        try:
            self.engine.set_margin_mode(symbol, mode.value)
        except OrderRejectedError as exc:  # only "already set" is fine
            if reject_code(exc) != MARGIN_MODE_SAME:
                raise
        self.save()

    def close(self) -> None:
        """Persist the state."""
        self.save()
