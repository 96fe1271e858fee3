"""The ccxt client an adapter drives: its settings (`CcxtConfig`) and its construction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import ccxt

from xsmom.errors import ConfigError
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.retry import RetryPolicy


@dataclass(frozen=True, kw_only=True)
class CcxtConfig:
    """How to build and drive the ccxt client."""

    exchange_id: str = "binanceusdm"
    settle: str = "USDT"
    timeout_ms: int = 10_000
    rate_per_s: float = 10.0
    burst: float = 10.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    max_clock_drift_ms: int | None = 1_000
    clock_samples: int = 5
    clock_max_rtt_ms: int = 1_000
    ccxt_rate_limit: bool = True
    conditional_params: Mapping[str, Any] | None = field(default_factory=lambda: {"trigger": True})
    options: Mapping[str, Any] = field(default_factory=dict)
    recv_window_ms: int = 5_000
    clock_margin_ms: int = 1_000

    def __post_init__(self) -> None:
        if not 0 < self.recv_window_ms <= 60_000:
            raise ConfigError("recv_window_ms must lie in (0, 60000] (Binance's bound)")
        if self.clock_margin_ms < 0:
            raise ConfigError("clock_margin_ms must be >= 0")


def make_client(config: CcxtConfig, credentials: ApiCredentials | None = None) -> Any:
    """Return a ccxt client for ``config`` (keys only in the client, never logged)."""
    if config.exchange_id not in ccxt.exchanges:
        raise ConfigError(
            f"ccxt has no exchange {config.exchange_id!r} (ids are lower case: binanceusdm, "
            "bybit, okx, ...)"
        )
    cls = getattr(ccxt, config.exchange_id)
    opts: dict[str, Any] = {
        "defaultType": "swap",
        "warnOnFetchOpenOrdersWithoutSymbol": False,
        **config.options,
    }
    if config.exchange_id == "bybit":  # Bybit's signer sends it as X-BAPI-RECV-WINDOW
        opts.setdefault("recvWindow", config.recv_window_ms)
    params: dict[str, Any] = {
        "enableRateLimit": config.ccxt_rate_limit,
        "timeout": config.timeout_ms,
        "options": opts,
    }
    if credentials is not None:
        params.update(credentials.ccxt_config())
    return cls(params)


BYBIT_VENUE_OPTIONS: dict[str, Any] = {
    "fetchMarkets": {"types": ["linear"]},  # no spot, inverse or option instruments
    "defaultType": "swap",
    "defaultSubType": "linear",
    "adjustForTimeDifference": False,
}


def bybit_venue_client(
    url: str,
    credentials: ApiCredentials | None = None,
    *,
    timeout_ms: int = 10_000,
    recv_window_ms: int = 5_000,
) -> Any:
    """Return a ccxt ``bybit`` client whose every API points at ``url`` (the simulated venue's
    Bybit v5 dialect), loading linear swaps only; rate limiting is left to the venue.

    ``recv_window_ms`` must equal the adapter's ``CcxtConfig.recv_window_ms``: the adapter
    waits that long before it looks up an order whose send had an unknown outcome.
    """
    params: dict[str, Any] = {
        "enableRateLimit": False,
        "timeout": timeout_ms,
        "options": {**BYBIT_VENUE_OPTIONS, "recvWindow": recv_window_ms},
    }
    if credentials is not None:
        params.update(credentials.ccxt_config())
    client = ccxt.bybit(params)
    base = url.rstrip("/")
    client.urls["api"] = {k: base for k in client.urls["api"]}
    return client
