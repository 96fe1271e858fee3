"""The ``live`` section: the safety gate's guards and the execution of targets.

Read by :mod:`xsmom.live` (`Gate` reads ``live.guards``, the planner and `Executor` read
``live.execution``). None of these keys acts in a backtest; each is shown to act by the tests
of ``tests/unit/live``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field, model_validator

from xsmom.config.optimize import STRICT


class _Section(BaseModel):
    model_config = STRICT


class GuardsConfig(_Section):
    """Thresholds of the guards that move the trading state (xsmom.live.guards)."""

    daily_loss_limit: float = Field(
        0.05,
        ge=0,
        lt=1,
        description="HALTED until 00:00 UTC when equity is this fraction below the UTC day's "
        "opening equity (0 = off).",
    )
    max_drawdown: float = Field(
        0.25,
        ge=0,
        lt=1,
        description="HALTED when equity is this fraction below its peak over the window (0 = off).",
    )
    drawdown_window_days: int = Field(
        30,
        ge=0,
        le=3650,
        description="Days of equity the drawdown peak is taken over (0 = all-time peak).",
    )
    drawdown_resume: float = Field(
        0.8,
        gt=0,
        lt=1,
        description="A drawdown halt lifts when the drawdown is below this x max_drawdown.",
    )
    margin_soft: float = Field(
        0.5,
        ge=0,
        le=10,
        description="REDUCING at or above this margin ratio (used margin / equity; 0 = off).",
    )
    margin_hard: float = Field(
        0.8,
        ge=0,
        le=10,
        description="margin_hard_action at or above this margin ratio (0 = off).",
    )
    margin_hard_action: Literal["halt", "flatten"] = Field(
        "halt", description="At the hard margin limit: HALTED, or REDUCING with targets at zero."
    )
    breaker_state: Literal["reducing", "halted"] = Field(
        "reducing", description="Trading state while the exchange circuit breaker is not closed."
    )
    stale_bars: int = Field(
        3,
        ge=1,
        le=10_000,
        description="HALTED when the last closed bar seen closed more than this many bars ago.",
    )
    max_open_positions: int = Field(
        20,
        ge=0,
        le=1000,
        description="Orders opening a position beyond this many are denied (0 = off).",
    )
    no_trade_hours: float = Field(
        48.0,
        ge=0,
        le=8760,
        description="Alert when targets want trades but nothing filled for this long (0 = off).",
    )

    @model_validator(mode="after")
    def _soft_below_hard(self) -> GuardsConfig:
        if self.margin_soft > 0 and self.margin_hard > 0 and self.margin_soft > self.margin_hard:
            raise ValueError("live.guards.margin_soft must not exceed margin_hard")
        return self


class ExecutionConfig(_Section):
    """How targets become orders (xsmom.live.planner and xsmom.live.execution)."""

    drift_threshold: float = Field(
        0.05,
        ge=0,
        le=1,
        description="Start no order while abs(target - position) < this x abs(target).",
    )
    post_offset_ticks: int = Field(
        0,
        ge=0,
        le=1000,
        description="Post-only limits rest this many ticks behind the touch (0 = join).",
    )
    reprice_ticks: int = Field(
        2,
        ge=0,
        le=1000,
        description="Re-price a resting limit when it is more than this many ticks off.",
    )
    taker_after_s: int = Field(
        600,
        ge=0,
        le=86_400,
        description="Seconds a post-only limit may rest before it becomes a taker (0 = taker).",
    )
    taker_order: Literal["market", "limit"] = Field(
        "market", description="Taker orders as market orders or marketable limits."
    )
    taker_limit_bps: float = Field(
        20.0,
        gt=0,
        le=1000,
        description="A marketable limit's price beyond the touch, in basis points.",
    )
    quote_source: Literal["book", "last"] = Field(
        "book",
        description="Touch from the ticker's bid/ask (an error when missing), or the last "
        "price as both (venues without a book, such as paper on a store).",
    )
    stop_orders: bool = Field(
        True, description="Keep reduce-only stop-market orders at the strategy's stop levels."
    )
    client_id_prefix: str = Field(
        "xs",
        pattern=r"^[A-Za-z0-9]{1,8}$",
        description="Prefix of our client order ids; open orders without it are cancelled.",
    )


class EngineConfig(_Section):
    """The engine loop (xsmom.live.engine): home, exchange, history, pacing."""

    home: str | None = Field(
        None, description="The bot's home folder (default ./xsmom-home; --home wins)."
    )
    exchange: Literal["binanceusdm", "bybit"] = Field(
        "binanceusdm", description="ccxt id of the exchange traded (keys from env or a file)."
    )
    history_bars: int = Field(
        0,
        ge=0,
        le=1_000_000,
        description="Bars of the store the strategy reads each cycle (0 = the whole store, "
        "exactly what xsmom backtest reads; N = a rolling window, bounded cost).",
    )
    warmup_bars: int = Field(
        1500,
        ge=1,
        le=1_000_000,
        description="Bars of history downloaded into an empty store before the first cycle.",
    )
    reconcile_every: int = Field(
        6,
        ge=1,
        le=10_000,
        description="Reconcile the ledger with the exchange every N bars while running.",
    )
    poll_s: float = Field(
        2.0, gt=0, le=3600, description="Seconds between looks at the exchange clock for a new bar."
    )
    heartbeat_stale_s: float = Field(
        900.0,
        gt=0,
        le=86_400 * 7,
        description="xsmom health: the heartbeat is stale when older than this.",
    )
    store_flush_bars: int = Field(
        24,
        ge=1,
        le=10_000,
        description="Write the home store's new bars to disk every N bars and at stop (1 = "
        "every bar); a crash loses only unwritten bars, downloaded again at start.",
    )
    paper_balance: float = Field(
        10_000.0, gt=0, le=1e12, description="Starting USDT of a --paper account (first run only)."
    )


class LiveConfig(_Section):
    """Live and paper trading (xsmom.live)."""

    guards: GuardsConfig = GuardsConfig()
    execution: ExecutionConfig = ExecutionConfig()
    engine: EngineConfig = EngineConfig()
