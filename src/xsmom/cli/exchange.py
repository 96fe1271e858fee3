"""``xsmom exchange``: check an exchange connection (keys, clock, markets) and paper state."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import click

from xsmom.errors import ClockDriftError, ConfigError, RetryableError
from xsmom.exchange import CcxtConfig, CcxtExchange, load_credentials, make_client
from xsmom.exchange.ccxt_client import bybit_venue_client
from xsmom.exchange.keys import ApiCredentials
from xsmom.exchange.retry import RetryPolicy


def check_url(url: str) -> str:
    """Return ``url`` if it is an ``http(s)://host[:port]`` base URL, else raise ConfigError."""
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        port_ok = False
        parts = urlsplit("")
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise ConfigError(f"--venue-url {url!r} is not an http(s)://host:port URL")
    return url.rstrip("/")


def _client(
    exchange_id: str, venue_url: str | None, creds: ApiCredentials | None, cfg: CcxtConfig
) -> Any:
    if venue_url is None:
        return make_client(cfg, creds)
    venue_url = check_url(venue_url)
    if exchange_id == "bybit":
        return bybit_venue_client(venue_url, creds)
    if exchange_id != "binanceusdm":
        raise ConfigError(
            "--venue-url speaks Binance USDT-M and Bybit v5: use --exchange binanceusdm or bybit"
        )
    import ccxt

    from xsmom.venue.testing import ccxt_config

    key, secret = (creds.api_key, creds.secret) if creds else ("", "")
    return ccxt.binanceusdm(ccxt_config(venue_url, key, secret))


@click.group()
def exchange() -> None:
    """Exchange connection checks and paper-account state."""


@exchange.command()
@click.option(
    "--exchange",
    "exchange_id",
    default="binanceusdm",
    show_default=True,
    help="ccxt exchange id with linear swaps (binanceusdm, bybit, ...).",
)
@click.option(
    "--venue-url",
    default=None,
    help="Point binanceusdm or bybit at the simulated venue (http://127.0.0.1:PORT).",
)
@click.option(
    "--keys-file",
    type=click.Path(path_type=Path),
    default=None,
    help="JSON key file (mode 0600); default: XSMOM_<ID>_API_KEY/_SECRET.",
)
@click.option("--symbol", default="BTC/USDT:USDT", show_default=True)
@click.option(
    "--max-drift-ms",
    type=click.IntRange(min=1),
    default=1000,
    show_default=True,
    help="Fail when the host clock is further than this from the venue's.",
)
def check(
    exchange_id: str,
    venue_url: str | None,
    keys_file: Path | None,
    symbol: str,
    max_drift_ms: int,
) -> None:
    """Load markets, measure the clock offset, read a ticker and (with keys) the account.

    \b
    Examples:
      xsmom exchange check --exchange binanceusdm
      xsmom exchange check --venue-url http://127.0.0.1:8765 --keys-file keys.json
    """
    creds = load_credentials(exchange_id, path=keys_file)
    # a check answers quickly: three attempts, not the trading default of five
    retry = RetryPolicy(max_attempts=3)
    cfg = CcxtConfig(exchange_id=exchange_id, max_clock_drift_ms=max_drift_ms, retry=retry)
    ex = CcxtExchange(cfg, creds, client=_client(exchange_id, venue_url, creds, cfg))
    where = venue_url or exchange_id
    try:
        click.echo(f"exchange   {exchange_id}{' at ' + venue_url if venue_url else ''}")
        try:
            click.echo(f"markets    {len(ex.markets())} linear {cfg.settle} swaps")
        except RetryableError as err:
            raise type(err)(f"cannot reach {where}: {err}") from None
        ex.sync_clock()
        sample = ex.clock.last
        assert sample is not None
        drift_ok = not sample.drift_beyond(max_drift_ms)
        click.echo(
            f"clock      {sample.offset_ms:+d} ms +- {sample.error_ms} ms vs venue, best of "
            f"{sample.samples} ({'ok' if drift_ok else 'TOO FAR'})"
        )
        t, mp = ex.ticker(symbol), ex.mark_price(symbol)
        click.echo(f"{symbol:<10} last {t.last}  mark {mp.mark}  funding {mp.funding_rate}")
        if creds is None:
            click.echo("keys       none: public checks only (set XSMOM_<ID>_API_KEY/_SECRET)")
        else:
            b = ex.balance()
            click.echo(f"keys       ok ({creds!r})")
            click.echo(f"balance    equity {b.equity:.2f} free {b.free:.2f} {b.currency}")
            click.echo(f"positions  {len(ex.positions())}; open orders {len(ex.open_orders())}")
        if not drift_ok:
            raise ClockDriftError(
                f"host clock {sample.offset_ms} ms (+- {sample.error_ms} ms) off the venue's; "
                "fix NTP"
            )
    finally:
        ex.close()


@exchange.command("paper-status")
@click.argument("state", type=click.Path(path_type=Path, exists=True, dir_okay=False))
def paper_status(state: Path) -> None:
    """Show the balance, positions and open orders of a paper-account STATE file.

    \b
    Example:
      xsmom exchange paper-status xsmom-home/paper.json
    """
    from xsmom.exchange.paper_state import read_engine

    engine = read_engine(state)  # the snapshot and its journal, files left as they are
    b = engine.balance()
    click.echo(f"wallet {b.wallet:.2f}  equity {b.equity:.2f}  available {b.available:.2f} USDT")
    for p in engine.positions():
        click.echo(f"position {p.symbol} {p.qty:+g} @ {p.entry_price:g} (mark {p.mark_price:g})")
    for o in engine.open_orders():
        px = o.price if o.price is not None else o.stop_price
        click.echo(f"order {o.client_id} {o.side} {o.type} {o.remaining:g} {o.symbol} @ {px}")
    click.echo(f"fills {len(engine.fills())}")
