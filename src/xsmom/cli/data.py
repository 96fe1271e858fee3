"""``xsmom data``: import, download, list and validate market data in a Parquet store."""

from __future__ import annotations

from pathlib import Path

import click
import pandas as pd

from xsmom.cli.options import progress_option
from xsmom.data.bundled import SAMPLE_NAME, resolve_store
from xsmom.data.store import ParquetStore
from xsmom.data.symbols import from_venue_id, is_unified
from xsmom.data.validate import Kind
from xsmom.errors import ConfigError, DataError

STORE_HELP = "Store folder, or 'sample' for the bundled sample (read-only)."


def _writable_store(spec: str) -> ParquetStore:
    if spec == SAMPLE_NAME:
        raise ConfigError("the bundled sample store is read-only; give a folder with --store")
    return resolve_store(spec)


def _symbols(value: str | None) -> list[str] | None:
    if not value:
        return None
    out = []
    for raw in value.split(","):
        name = raw.strip().upper()
        if name:
            out.append(name if is_unified(name) else from_venue_id(name))
    return out


def _since_ms(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        ts = pd.Timestamp(value)
    except ValueError as exc:
        raise click.BadParameter(f"not a date: {value!r}", param_hint="--since") from exc
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
    return int(ts.value // 1_000_000)


def _kinds(value: str) -> list[Kind]:
    try:
        return [Kind(k.strip()) for k in value.split(",") if k.strip()]
    except ValueError as exc:
        raise click.BadParameter(
            f"{value!r}: choose from ohlcv, mark, funding", param_hint="--kinds"
        ) from exc


@click.group()
def data() -> None:
    """Market data: import files, download over ccxt, list and validate the store."""


@data.command("import")
@click.argument("src", type=click.Path(exists=True, path_type=Path))
@click.option("--store", "store_spec", required=True, help="Store folder to import into.")
@click.option(
    "--timeframe",
    "timeframes",
    multiple=True,
    help="Import only these candle timeframes (repeatable); funding is always imported.",
)
@click.option("--symbols", help="Comma-separated symbols (BTC/USDT:USDT or BTCUSDT); default all.")
@click.option("--dry-run", is_flag=True, help="Read and validate everything, write nothing.")
def import_cmd(
    src: Path, store_spec: str, timeframes: tuple[str, ...], symbols: str | None, dry_run: bool
) -> None:
    """Import freqtrade, Parquet or CSV files found under SRC into the store.

    Every file is read and validated before anything is written: one bad file aborts the
    import and leaves the store as it was. Importing the same files again adds 0 rows.

    \b
    Examples:
      xsmom data import ../shared/data --store store
      xsmom data import ~/freqtrade/user_data/data/binance --store store --dry-run
    """
    from xsmom.data.importers import format_result, import_data

    store = _writable_store(store_spec)
    result = import_data(
        src, store, timeframes=list(timeframes) or None, symbols=_symbols(symbols), dry_run=dry_run
    )
    for line in format_result(result):
        click.echo(line)


@data.command("download")
@click.option("--store", "store_spec", required=True, help="Store folder to download into.")
@click.option(
    "--exchange", "exchange_id", default="binanceusdm", show_default=True, help="ccxt exchange id."
)
@click.option("--symbols", help="Comma-separated symbols; default: the symbols already stored.")
@click.option("--timeframe", default="1h", show_default=True, help="Candle timeframe.")
@click.option(
    "--since",
    help="Start for series not stored yet, UTC, YYYY-MM-DD[THH:MM]; default 365 days ago.",
)
@click.option(
    "--kinds",
    default="ohlcv,mark,funding",
    show_default=True,
    help="What to download: trade candles, mark-price candles, funding events.",
)
@progress_option()
@click.option(
    "--api-base",
    help="Send every API request to this scheme://host[:port] instead (a proxy, a mirror, a fake).",
)
def download_cmd(
    store_spec: str,
    exchange_id: str,
    symbols: str | None,
    timeframe: str,
    since: str | None,
    kinds: str,
    progress: bool,
    api_base: str | None,
) -> None:
    """Download candles, mark candles and funding over ccxt, from the last stored bar on.

    \b
    Examples:
      xsmom data download --store store --symbols BTC/USDT:USDT,ETH/USDT:USDT
      xsmom data download --store store --since 2025-01-01 --no-progress
    """
    from xsmom.data.download import Downloader, make_exchange
    from xsmom.data.inventory import fmt_ms

    wanted_kinds, since_ms = _kinds(kinds), _since_ms(since)
    store = _writable_store(store_spec)
    names = _symbols(symbols) or store.symbols(Kind.OHLCV, timeframe)
    if not names:
        raise ConfigError("no symbols: give --symbols (the store holds none to update)")
    exchange = make_exchange(exchange_id, api_base=api_base)
    downloader = Downloader(exchange, store, progress=progress)
    results = downloader.run(names, timeframe, wanted_kinds, since_ms)

    for r in results:
        click.echo(
            f"{r.symbol:<22} {r.kind.value:<8} {r.timeframe or '-':<4} added {r.added:>7}"
            f"  last {fmt_ms(r.last_timestamp)}"
        )


@data.command("list")
@click.option("--store", "store_spec", required=True, help=STORE_HELP)
def list_cmd(store_spec: str) -> None:
    """List every stored series: rows, first and last bar, gaps, spikes.

    \b
    Examples:
      xsmom data list --store store
      xsmom data list --store sample
    """
    from xsmom.data.inventory import fmt_ms, inspect

    store = resolve_store(store_spec)
    infos, problems = inspect(store)
    click.echo(
        f"{'symbol':<22} {'kind':<8} {'tf':<4} {'rows':>8}  {'first (UTC)':<16}  "
        f"{'last (UTC)':<16} {'gaps':>5} {'missing':>7} {'spikes':>6}"
    )
    for i in infos:
        click.echo(
            f"{i.symbol:<22} {i.kind.value:<8} {i.timeframe or '-':<4} {i.rows:>8}  "
            f"{fmt_ms(i.first_ms):<16}  {fmt_ms(i.last_ms):<16} {i.gaps:>5} {i.missing:>7} "
            f"{i.spikes:>6}"
        )
    for p in problems:
        click.echo(f"INVALID {p.error}")
    click.echo(
        f"{len(infos)} series in {store.root}" + (f", {len(problems)} invalid" if problems else "")
    )


@data.command("validate")
@click.option("--store", "store_spec", required=True, help=STORE_HELP)
def validate_cmd(store_spec: str) -> None:
    """Re-read and re-validate every file of the store, and check funding coverage.

    Fails (exit status 2) if a file is invalid or a symbol's candles lack funding data
    (no funding file, or funding times missing against the symbol's own interval). Mark
    candles missing at funding times and funding interval changes are reported as warnings.

    \b
    Example:
      xsmom data validate --store store
    """
    from xsmom.data.inventory import coverage_report, inspect

    store = resolve_store(store_spec)
    infos, problems = inspect(store)
    for p in problems:
        click.echo(f"INVALID {p.error}", err=True)
    warned = sum(1 for i in infos if i.gaps or i.spikes)
    click.echo(f"{len(infos)} series valid ({warned} with gap or spike warnings) in {store.root}")
    covs, _ = coverage_report(store)
    for c in covs:
        for line in c.lines():
            click.echo(line)
    short = [c for c in covs if c.funding.gaps]
    intervals = sorted({c.funding.interval_ms for c in covs if c.funding.interval_ms})
    click.echo(
        f"funding: {len(covs)} candle series checked, intervals "
        f"{', '.join(f'{ms // 3_600_000}h' for ms in intervals) or '-'}; "
        f"{len(short)} with missing funding, {sum(1 for c in covs if c.mark)} with mark gaps"
    )
    if problems:
        raise DataError(f"{len(problems)} invalid series in {store.root} (listed above)")
    if short:
        names = ", ".join(sorted({c.symbol for c in short}))
        raise DataError(
            f"funding data missing for {len(short)} candle series ({names}); listed above: "
            "backtests holding them there refuse unless --allow-funding-gaps"
        )
