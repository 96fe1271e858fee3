"""Wire an `Engine` from a config and the command line, and run its loop.

The exchange side: the ccxt client of ``live.engine.exchange`` (keys from the environment or
a 0600 file), or of the simulated venue with ``--venue URL``; the paper adapter on that
market data with ``--paper``; always wrapped in the circuit breaker (`GuardedExchange`).
Time: the exchange's clock (``fetch_time``), or the venue's market clock (``/admin/clock``),
never the host clock alone.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx

from xsmom.config import Config
from xsmom.errors import ConfigError, NetworkError, RetryableError
from xsmom.exchange import (
    CcxtConfig,
    CcxtExchange,
    CircuitBreaker,
    GuardedExchange,
    PaperConfig,
    PaperExchange,
    load_credentials,
    make_client,
)
from xsmom.exchange.breaker import BreakerConfig
from xsmom.exchange.ccxt_client import bybit_venue_client
from xsmom.exchange.interface import Exchange
from xsmom.exchange.retry import RetryPolicy
from xsmom.exchange.state import TradingState
from xsmom.ledger import Ledger
from xsmom.live.cycle import Alerts
from xsmom.live.engine import Engine, EngineParts
from xsmom.live.feed import BarFeed, CachedStore
from xsmom.live.home import Home
from xsmom.live.signals import StopFlags, sd_notify, watchdog_interval_s
from xsmom.sim import FeeModel

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True)
class LiveOptions:
    """The command line of ``xsmom live``."""

    home: Path
    paper: bool = False
    venue: str | None = None
    keys_file: Path | None = None
    max_bars: int | None = None
    poll_s: float | None = None
    breaker: BreakerConfig | None = None  # default thresholds unless given
    venue_timeout_ms: int = 5000  # ccxt timeout against --venue


def venue_clock(url: str, timeout_s: float = 5.0) -> Callable[[], int]:
    """Return the simulated venue's market clock (``GET /admin/clock``) as a function."""
    client = httpx.Client(base_url=url.rstrip("/"), timeout=timeout_s)

    def now() -> int:
        try:
            r = client.get("/admin/clock")
            r.raise_for_status()
            return int(r.json()["now"])
        except (httpx.HTTPError, ValueError, KeyError, TypeError) as exc:
            raise NetworkError(f"venue clock at {url} unreadable: {exc}") from None

    return now


def _client(cfg: Config, opts: LiveOptions) -> tuple[Any, Any, Callable[[], int] | None]:
    ex_id = cfg.live.engine.exchange
    creds = load_credentials(ex_id, path=opts.keys_file)
    if creds is None and not opts.paper:
        raise ConfigError(
            f"no API keys for {ex_id}: set XSMOM_{ex_id.upper()}_API_KEY / _API_SECRET or "
            f"--keys-file (or trade --paper)"
        )
    if opts.venue is None:
        return make_client(CcxtConfig(exchange_id=ex_id), creds), creds, None
    if ex_id not in ("binanceusdm", "bybit"):
        raise ConfigError(
            "--venue speaks Binance USDT-M and Bybit v5: set live.engine.exchange: "
            "binanceusdm or bybit"
        )
    if ex_id == "bybit":
        client = bybit_venue_client(opts.venue, creds, timeout_ms=opts.venue_timeout_ms)
        return client, creds, venue_clock(opts.venue)
    import ccxt

    from xsmom.venue.testing import ccxt_config

    key, secret = (creds.api_key, creds.secret) if creds else ("", "")
    client = ccxt.binanceusdm(
        ccxt_config(opts.venue, key, secret, timeout_ms=opts.venue_timeout_ms)
    )
    return client, creds, venue_clock(opts.venue)


def paper_config(cfg: Config) -> PaperConfig:
    """Return the paper account of ``cfg``: ``live.engine.paper_balance``, the backtest's costs."""
    costs = cfg.costs
    fees = FeeModel(
        taker_fee_bps=costs.taker_fee_bps,
        maker_fee_bps=costs.maker_fee_bps,
        slippage_bps=costs.slippage_bps,
        impact_coef=costs.impact_coef,
    )
    if costs.unknown_volume_bps is not None:
        fees = replace(fees, unknown_volume_bps=costs.unknown_volume_bps)
    return PaperConfig(
        initial_balance=cfg.live.engine.paper_balance, fees=fees, timeframe=cfg.data.timeframe
    )


def loop_pause(poll_s: float, env: Mapping[str, str] | None = None) -> float:
    """Return the wait between looks: ``poll_s``, shorter if systemd's watchdog needs it."""
    dog = watchdog_interval_s(env)
    return min(poll_s, dog) if dog is not None else poll_s


def build_parts(cfg: Config, opts: LiveOptions, home: Home) -> EngineParts:
    """Return the guarded exchange, breaker, market-data client and clock of ``cfg``."""
    client, creds, vclock = _client(cfg, opts)
    ccfg = CcxtConfig(exchange_id=cfg.live.engine.exchange)
    if opts.venue:  # loopback: the venue's own weight limits are the only pacing needed
        ccfg = CcxtConfig(
            exchange_id=cfg.live.engine.exchange,
            max_clock_drift_ms=None,
            rate_per_s=500.0,
            burst=100.0,
            timeout_ms=opts.venue_timeout_ms,
            retry=RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.5),
        )
    market = CcxtExchange(ccfg, creds, client=client, bar_clock=vclock)
    clock: Callable[[], int] = vclock if vclock is not None else market.server_ms
    inner: Exchange = market
    if opts.paper:
        pcfg = paper_config(cfg)
        inner = PaperExchange(market, home.path / "paper.json", clock, config=pcfg)
    breaker = CircuitBreaker(opts.breaker)
    state = TradingState(cfg.live.guards.breaker_state)
    guarded = GuardedExchange(inner, breaker, open_state=state)
    name = f"paper on {market.name}" if opts.paper else market.name
    if opts.venue:
        name += f" (venue {opts.venue})"
    return EngineParts(
        exchange=guarded,
        breaker=breaker,
        client=client,
        clock=clock,
        mode="paper" if opts.paper else "live",
        name=name,
        close=guarded.close,
    )


def build_engine(
    cfg: Config,
    opts: LiveOptions,
    home: Home,
    ledger: Ledger,
    *,
    alerts: Alerts | None = None,
    reload: Callable[[], Config] | None = None,
    parts: EngineParts | None = None,
) -> Engine:
    """Return an engine for ``cfg`` in ``home`` (exchange side built unless given)."""
    parts = parts or build_parts(cfg, opts, home)
    e = cfg.live.engine
    feed = BarFeed(
        CachedStore(home.store_dir, write_behind=e.store_flush_bars > 1),
        parts.client,
        cfg.data.symbols,
        cfg.data.timeframe,
        warmup_bars=e.warmup_bars,
        history_bars=e.history_bars,
        observe=parts.breaker.record,  # market-data failures are exchange health too
    )
    return Engine(
        config=cfg,
        home=home,
        ledger=ledger,
        parts=parts,
        feed=feed,
        alerts=alerts,
        reload=reload,
    )


def run_loop(
    engine: Engine,
    flags: StopFlags,
    *,
    poll_s: float,
    max_bars: int | None = None,
    notify: Callable[[str], bool] = sd_notify,
    after_step: Callable[[], None] | None = None,
) -> int:
    """Start (reconcile), then process bars until a stop; return the bars processed.

    A retryable failure (network, exchange down, ledger busy) is logged and the step retried
    at the next look; anything else stops the engine, recorded as an unclean stop.
    """
    engine.start()
    notify("READY=1")
    pause = loop_pause(poll_s)
    done = 0
    try:
        while not flags.stop:
            if flags.reload:
                flags.reload = False
                engine.reload_config()
            try:
                done += int(engine.step())
            except RetryableError as exc:
                log.warning("step failed, retried at the next look: %s", exc)
            engine.beat()
            notify("WATCHDOG=1")
            if after_step is not None:
                after_step()
            if max_bars is not None and done >= max_bars:
                break
            flags.wait(pause)
    except BaseException as exc:
        log.exception("engine stopped by an error")
        engine.stop(clean=False, reason=f"{type(exc).__name__}: {exc}"[:500])
        raise
    finally:
        notify("STOPPING=1")
    engine.stop(clean=True, reason=f"stopped ({flags.signal_name or 'done'})")
    return done
