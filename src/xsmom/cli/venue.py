"""``xsmom venue``: serve the simulated venue (Binance USDT-M and Bybit v5) on 127.0.0.1."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from types import FrameType

import click

from xsmom.config import load_config
from xsmom.errors import ConfigError
from xsmom.redaction import MASK
from xsmom.sim import FeeModel
from xsmom.venue.app import create_server
from xsmom.venue.auth import Credentials
from xsmom.venue.faults import load_plan
from xsmom.venue.persist import StateSaver

KEY_ENV = "XSMOM_VENUE_API_KEY"
SECRET_ENV = "XSMOM_VENUE_API_SECRET"  # the name of the variable, not a secret


def fees_from_config(path: Path | None) -> FeeModel:
    """Return the venue's fill costs from a config's ``costs`` section (the backtest's)."""
    costs = load_config(path).costs
    return FeeModel(
        taker_fee_bps=costs.taker_fee_bps,
        maker_fee_bps=costs.maker_fee_bps,
        slippage_bps=costs.slippage_bps,
        impact_coef=costs.impact_coef,
    )


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@click.group()
def venue() -> None:
    """Simulated exchange that the real ccxt binanceusdm and bybit clients can trade against."""


@venue.command()
@click.option("--store", required=True, help="Parquet store folder, or 'sample'.")
@click.option("--port", type=int, default=8765, show_default=True, help="Port on 127.0.0.1.")
@click.option(
    "--speed",
    type=float,
    default=1.0,
    show_default=True,
    help="Venue seconds per wall second (0 freezes the clock; admin can step it).",
)
@click.option(
    "--start",
    default=None,
    help="Replay start, UTC, YYYY-MM-DD[THH:MM]; default 30 days before the data ends.",
)
@click.option("--timeframe", default="1h", show_default=True, help="Bar size the engine replays.")
@click.option(
    "--faults",
    "faults_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Fault plan (YAML or JSON); see docs/venue.md.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Take fees and slippage from this config's costs section (default: built-in).",
)
@click.option(
    "--balance", type=float, default=10_000.0, show_default=True, help="Initial USDT wallet."
)
@click.option(
    "--state",
    "state_file",
    type=click.Path(path_type=Path),
    default=None,
    help="Keep the account and replay time in FILE across restarts.",
)
@click.option("--api-key", default=None, help=f"API key (or ${KEY_ENV}).")
@click.option("--api-secret", default=None, help=f"API secret (or ${SECRET_ENV}).")
@click.option(
    "--time-source",
    type=click.Choice(["wall", "venue"]),
    default="wall",
    show_default=True,
    help="Clock for /fapi/v1/time and signature timestamps.",
)
@click.option(
    "--client-id-rule",
    type=click.Choice(["open", "ever"]),
    default="open",
    show_default=True,
    help="Client order ids unique among open orders (Binance) or ever (strict).",
)
@click.option(
    "--half-spread-ticks",
    type=click.IntRange(1, 1000),
    default=1,
    show_default=True,
    help="Best bid and ask of the synthetic book: this many ticks from the last price.",
)
def serve(
    store: str,
    port: int,
    speed: float,
    start: str | None,
    timeframe: str,
    faults_file: Path | None,
    config_file: Path | None,
    balance: float,
    state_file: Path | None,
    api_key: str | None,
    api_secret: str | None,
    time_source: str,
    client_id_rule: str,
    half_spread_ticks: int,
) -> None:
    """Serve the venue until interrupted (Ctrl-C).

    \b
    Examples:
      xsmom venue serve --store sample --port 8765 --api-key demo --api-secret demo-secret
      xsmom venue serve --store store --start 2026-01-01 --speed 60
    """
    key = api_key or os.environ.get(KEY_ENV)
    secret = api_secret or os.environ.get(SECRET_ENV)
    if not key or not secret:
        raise ConfigError(f"venue needs --api-key/--api-secret or ${KEY_ENV}/${SECRET_ENV}")
    server = create_server(
        store,
        credentials=Credentials(key, secret),
        start=start,
        speed=speed,
        timeframe=timeframe,
        faults=load_plan(faults_file) if faults_file else None,
        initial_balance=balance,
        fees=fees_from_config(config_file),
        port=port,
        time_source=time_source,
        state_file=state_file,
        client_id_rule="open" if client_id_rule == "open" else "ever",
        half_spread_ticks=half_spread_ticks,
    )
    saver = StateSaver(server.venue, server.state).start() if server.state else None
    data = server.venue.data
    click.echo(
        f"venue: {server.url} ({len(data.symbols)} symbols, {timeframe}, speed {speed:g}, "
        f"api key {MASK}, replay from {server.venue.clock.now_ms()} ms)"
    )
    signal.signal(signal.SIGTERM, _interrupt)  # a service stop saves state like Ctrl-C
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        click.echo("venue: stopped")
    finally:
        server.httpd.server_close()
        if saver is not None:
            saver.stop()
        server.close_state()
