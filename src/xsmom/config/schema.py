"""The configuration schema: frozen, keyword-only models that refuse unknown keys.

Each field's description is its documentation (see docs/config.md); every field is read by
the code its section names.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, model_validator

from xsmom.config.live import LiveConfig
from xsmom.config.meta import MetaConfig
from xsmom.config.notify import NotifyConfig
from xsmom.config.optimize import MAX_BARS, STRICT, OptimizeConfig

Bars = Annotated[int, Field(ge=1, le=MAX_BARS)]
Weight = Annotated[float, Field(ge=-1000, le=1000)]
LotSize = Annotated[float, Field(gt=0, le=1e9)]


class Section(BaseModel):
    """Base of every config section: immutable, strict (types, finite numbers, no unknown keys)."""

    model_config = STRICT


class DataConfig(Section):
    """Which bars the strategy runs on (read by xsmom.data.load_panel via the CLI)."""

    timeframe: str = Field("1h", description="Bar timeframe, e.g. 1h, 15m.")
    symbols: tuple[str, ...] = Field(
        (), description="Unified symbols to load; empty means every symbol in the store."
    )


class UniverseConfig(Section):
    """Which symbols may be traded at a bar (xsmom.strategy.universe)."""

    max_symbols: int = Field(
        20, ge=2, le=10_000, description="Keep the N most liquid symbols by trailing quote volume."
    )
    liquidity_lookback: int = Field(
        720, ge=1, le=MAX_BARS, description="Bars of trailing quote volume for the ranking."
    )
    min_quote_volume: float = Field(
        0.0, ge=0, le=1e15, description="Minimum average quote volume per bar."
    )
    min_price: float = Field(0.0, ge=0, le=1e9, description="Minimum last close price.")
    min_history: int = Field(
        720, ge=1, le=MAX_BARS, description="Minimum bars of history before a symbol is eligible."
    )
    allow: tuple[str, ...] = Field((), description="If non-empty, only these symbols may trade.")
    deny: tuple[str, ...] = Field((), description="These symbols never trade.")


class SignalConfig(Section):
    """Momentum scores and their cross-sectional standardization (xsmom.strategy.signals)."""

    lookbacks: tuple[Bars, ...] = Field(
        (168, 336, 504, 672),
        min_length=1,
        description="Return lookbacks in bars (default: 1 to 4 weeks of hourly bars).",
    )
    lookback_weights: tuple[Weight, ...] = Field(
        (), description="Weight of each lookback; empty means equal weights."
    )
    vol_lookback: int = Field(
        720, ge=2, le=MAX_BARS, description="Bars of bar returns for volatility."
    )
    zscore_clip: float = Field(
        3.0, gt=0, le=100, description="Clip cross-sectional z-scores to +/- this."
    )
    power: float = Field(1.0, gt=0, le=10, description="Signed power p applied as sign(z)*|z|^p.")

    @model_validator(mode="after")
    def _weights_match(self) -> SignalConfig:
        if self.lookback_weights and len(self.lookback_weights) != len(self.lookbacks):
            raise ValueError("lookback_weights must have one weight per lookback")
        if any(lb < 1 for lb in self.lookbacks):
            raise ValueError("lookbacks must be positive")
        return self


class RegimeConfig(Section):
    """Cross-sectional vs time-series momentum (xsmom.strategy.regime)."""

    mode: Literal["xsmom", "tsmom", "auto"] = Field(
        "xsmom", description="Fixed mode or auto switch."
    )
    corr_lookback: int = Field(
        168, ge=10, le=MAX_BARS, description="Bars for the average pairwise correlation."
    )
    corr_threshold: float = Field(
        0.6, ge=-1, le=1, description="auto: tsmom needs avg correlation >= this."
    )
    dispersion_lookback: int = Field(
        720, ge=10, le=MAX_BARS, description="Bars for the median of dispersion."
    )
    dispersion_threshold: float = Field(
        1.0, gt=0, le=100, description="auto: tsmom needs dispersion / its trailing median <= this."
    )
    trend_lookback: int = Field(
        168, ge=2, le=MAX_BARS, description="Bars of the BTC/ETH trend proxy."
    )
    trend_threshold: float = Field(
        1.0, ge=0, le=100, description="auto: tsmom needs |trend t-stat| >= this."
    )
    trend_symbols: tuple[str, ...] = Field(
        ("BTC/USDT:USDT", "ETH/USDT:USDT"), min_length=1, description="Symbols of the trend proxy."
    )


class FundingConfig(Section):
    """Funding-rate tilt of the scores (xsmom.strategy.funding)."""

    tilt: float = Field(
        0.0, ge=0, le=100, description="Score penalty per unit of funding z-score (0 = off)."
    )
    lookback: int = Field(72, ge=1, le=MAX_BARS, description="Bars of trailing published funding.")


class SelectionConfig(Section):
    """Which names get a weight (xsmom.strategy.selection)."""

    mode: Literal["all", "top_bottom"] = Field(
        "top_bottom", description="All names or top/bottom K."
    )
    k: int = Field(3, ge=1, le=10_000, description="K for fixed top/bottom selection.")
    k_mode: Literal["fixed", "dispersion"] = Field(
        "fixed", description="Fixed K or K from dispersion."
    )
    k_min: int = Field(2, ge=1, le=10_000, description="Smallest K in dispersion mode.")
    k_max: int = Field(6, ge=1, le=10_000, description="Largest K in dispersion mode.")
    exit_band: int = Field(
        1,
        ge=0,
        le=10_000,
        description="Hysteresis: a held name stays until its rank passes K + band.",
    )
    weight_band: float = Field(
        0.25,
        ge=0,
        le=10,
        description="No-trade band: keep the old weight if the change is smaller (see band_mode).",
    )
    band_mode: Literal["relative", "absolute"] = Field(
        "relative",
        description="relative: the band is a fraction of the size of the new target "
        "weight; absolute: in weight units.",
    )


class PortfolioConfig(Section):
    """Sizing of the book (xsmom.strategy.weights)."""

    gross_leverage: float = Field(1.0, gt=0, le=20, description="Target sum of |weights|.")
    max_weight: float = Field(
        0.25, gt=0, le=5, description="Cap on |weight| per symbol, after scaling."
    )
    market_neutral: bool = Field(
        True,
        description="In xsmom mode, long and short books each get half the gross (sum of "
        "weights = 0).",
    )
    rebalance_every: int = Field(
        168,
        ge=1,
        le=MAX_BARS,
        description="Recompute targets only at closes on a multiple of this many bars (UTC clock).",
    )


class ExitConfig(Section):
    """Stops and exits on closed bars (xsmom.strategy.exits); 0 disables a rule."""

    atr_period: int = Field(
        168, ge=1, le=MAX_BARS, description="Bars of the average true range (of bar ranges)."
    )
    atr_stop: float = Field(
        12.0, ge=0, le=100, description="Initial stop at entry -/+ this many ATRs."
    )
    trail_atr: float = Field(
        15.0,
        ge=0,
        le=100,
        description="Chandelier trailing stop: extreme since entry -/+ this many ATRs.",
    )
    breakeven_r: float = Field(
        0.0, ge=0, le=100, description="Move the stop to entry after this many R of gain."
    )
    catastrophic_stop: float = Field(
        0.2, ge=0, lt=1, description="Hard stop at this fraction from entry."
    )
    max_bars_held: int = Field(0, ge=0, le=MAX_BARS, description="Time exit after this many bars.")
    reenter: Literal["next_rebalance", "after_cooldown"] = Field(
        "next_rebalance",
        description="After a stop or time exit: no new position in the symbol before the next "
        "rebalance close, or for cooldown_bars closes.",
    )
    cooldown_bars: int = Field(
        12,
        ge=0,
        le=MAX_BARS,
        description="Bars without re-entry after a stop (used when reenter is after_cooldown).",
    )


class CostConfig(Section):
    """Fees and slippage (xsmom.backtest.costs)."""

    taker_fee_bps: float = Field(
        5.0, ge=0, le=1000, description="Taker fee in basis points of notional."
    )
    maker_fee_bps: float = Field(
        2.0, ge=-5, le=1000, description="Maker fee in basis points (negative = rebate)."
    )
    order_type: Literal["market", "limit"] = Field(
        "market", description="Rebalances as market (taker) or limit (maker) orders."
    )
    slippage_bps: float = Field(
        2.0, ge=0, le=1000, description="Fixed slippage in bps on every fill."
    )
    impact_coef: float = Field(
        0.1,
        ge=0,
        le=100,
        description="Extra slippage = coef * participation of the reference quote volume (the "
        "last closed bar with volume before the fill).",
    )
    unknown_volume_bps: float | None = Field(
        10.0,
        ge=0,
        le=10_000,
        description="Impact in bps charged instead when no reference volume is known (counted "
        "as unknown_volume_fills in metrics.json, with a warning); null refuses such fills.",
        json_schema_extra={"searchable": False},
    )


class BacktestConfig(Section):
    """Simulation settings (xsmom.backtest.engine)."""

    initial_equity: float = Field(10_000.0, gt=0, le=1e12, description="Starting equity in USDT.")
    max_leverage: float = Field(
        5.0, gt=0, le=125, description="Targets are scaled down to this gross leverage."
    )
    maintenance_margin: float = Field(
        0.005, ge=0, lt=1, description="Maintenance margin rate of notional."
    )
    liquidation_fee: float = Field(
        0.0125, ge=0, lt=1, description="Fee on notional when liquidated."
    )
    min_notional: float = Field(
        0.0, ge=0, le=1e9, description="Skip orders smaller than this (USDT)."
    )
    lot_sizes: dict[str, LotSize] = Field(
        default_factory=dict, description="Quantity step per symbol; empty means no rounding."
    )
    funding: bool = Field(True, description="Charge real funding payments from the data.")
    allow_funding_gaps: bool = Field(
        False,
        description="Run even if a position is held where the store has no funding data "
        "(charged 0 there; metrics report funding_uncovered_share); false = refuse.",
    )


class StrategyConfig(Section):
    """Every strategy parameter, grouped as the strategy package reads them."""

    universe: UniverseConfig = UniverseConfig()
    signal: SignalConfig = SignalConfig()
    regime: RegimeConfig = RegimeConfig()
    funding: FundingConfig = FundingConfig()
    selection: SelectionConfig = SelectionConfig()
    portfolio: PortfolioConfig = PortfolioConfig()
    exits: ExitConfig = ExitConfig()
    meta: MetaConfig = MetaConfig()


class Config(Section):
    """The whole configuration of one xsmom deployment."""

    name: str = Field("default", description="A label for reports and history.")
    data: DataConfig = DataConfig()
    strategy: StrategyConfig = StrategyConfig()
    costs: CostConfig = CostConfig()
    backtest: BacktestConfig = BacktestConfig()
    optimize: OptimizeConfig = OptimizeConfig()
    notify: NotifyConfig = NotifyConfig()
    live: LiveConfig = LiveConfig()
