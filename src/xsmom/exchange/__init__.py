"""The exchange layer: one narrow interface, normalized reports, and its implementations.

- `Exchange` / `MarketData`: the interface (`interface`), returning the frozen reports of
  `reports`; every error comes from `xsmom.errors`.
- `CcxtExchange`: any ccxt exchange with linear swaps (binanceusdm, bybit, ...), with the one
  ccxt error mapping, retries with backoff and jitter, a token-bucket rate limit, clock sync
  and lookup-before-resend order placement.
- `PaperExchange`: fills simulated by the shared matching engine (`xsmom.sim`) on live (or replayed)
  market data, persisted across restarts; `StoreMarketData` replays a Parquet store.
- `GuardedExchange` + `CircuitBreaker`: every call counted, orders gated by `TradingState`.
- `client_order_id`: deterministic ids; `load_credentials`: keys from env or a 0600 file.
- `xsmom.exchange.testing.ExchangeContract`: the contract tests every implementation passes.
"""

from xsmom.exchange.breaker import (
    BreakerClosed,
    BreakerConfig,
    BreakerOpened,
    BreakerState,
    BreakerStatus,
    CircuitBreaker,
)
from xsmom.exchange.ccxt_adapter import CcxtConfig, CcxtExchange, make_client
from xsmom.exchange.ccxt_errors import map_ccxt_error
from xsmom.exchange.client_ids import BINANCE, BYBIT, ClientIdRules, client_order_id, rules_for
from xsmom.exchange.clock import ClockSync
from xsmom.exchange.guarded import GuardedExchange, GuardStatus, OrderDenied
from xsmom.exchange.interface import Exchange, MarketData
from xsmom.exchange.keys import ApiCredentials, RedactingFilter, load_credentials
from xsmom.exchange.paper import PaperConfig, PaperExchange
from xsmom.exchange.precision import prepare_order, round_price, round_qty
from xsmom.exchange.ratelimit import TokenBucket
from xsmom.exchange.reports import (
    BalanceReport,
    Candles,
    FillReport,
    FundingEvent,
    MarginMode,
    MarketInfo,
    MarkPrice,
    OrderReport,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    PositionReport,
    Ticker,
)
from xsmom.exchange.retry import Retrier, RetryPolicy
from xsmom.exchange.state import TradingState
from xsmom.exchange.store_source import ManualClock, StoreMarketData

__all__ = [
    "BINANCE",
    "BYBIT",
    "ApiCredentials",
    "BalanceReport",
    "BreakerClosed",
    "BreakerConfig",
    "BreakerOpened",
    "BreakerState",
    "BreakerStatus",
    "Candles",
    "CcxtConfig",
    "CcxtExchange",
    "CircuitBreaker",
    "ClientIdRules",
    "ClockSync",
    "Exchange",
    "FillReport",
    "FundingEvent",
    "GuardStatus",
    "GuardedExchange",
    "ManualClock",
    "MarginMode",
    "MarkPrice",
    "MarketData",
    "MarketInfo",
    "OrderDenied",
    "OrderReport",
    "OrderRequest",
    "OrderSide",
    "OrderStatus",
    "OrderType",
    "PaperConfig",
    "PaperExchange",
    "PositionReport",
    "RedactingFilter",
    "Retrier",
    "RetryPolicy",
    "StoreMarketData",
    "Ticker",
    "TokenBucket",
    "TradingState",
    "client_order_id",
    "load_credentials",
    "make_client",
    "map_ccxt_error",
    "prepare_order",
    "round_price",
    "round_qty",
    "rules_for",
]
