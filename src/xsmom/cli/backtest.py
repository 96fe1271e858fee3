"""``xsmom backtest``: run the strategy over stored bars and write a report."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import click
import numpy as np
import pandas as pd
from tqdm import tqdm

from xsmom.backtest import METRIC_KEYS, BacktestResult, run_backtest
from xsmom.backtest.report import format_metric, funding_frame, trades_frame, write_outputs
from xsmom.cli.options import (
    DATE_HELP,
    check_out_dir,
    format_ms,
    parse_date_ms,
    progress_option,
)
from xsmom.config import Config, dump_yaml, load_config, version_id
from xsmom.data import MarketPanel, load_panel
from xsmom.data.atomic import atomic_write_text
from xsmom.data.bundled import resolve_store
from xsmom.errors import DataError
from xsmom.meta.cli_support import check_meta_start, with_meta
from xsmom.strategy import compute_targets

OUTPUTS = (
    "metrics.json, equity.csv, weights.parquet, trades.parquet, funding.parquet, "
    "attribution.csv, config.yaml, report.html, round_trips.csv"
)


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    help="YAML config (default: built-in defaults).",
)
@click.option(
    "--store", required=True, help="Data store folder, or 'sample' for the bundled sample."
)
@click.option(
    "--start",
    help=f"First bar to trade, {DATE_HELP}; earlier bars still warm up the signals.",
)
@click.option("--end", help=f"Stop before this time, {DATE_HELP}; no bar at or after it is read.")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    required=True,
    help="Folder for the outputs (new or empty, or --force).",
)
@click.option("--force", is_flag=True, help="Write into an --out folder that holds files.")
@progress_option()
@click.option("--quiet", is_flag=True, hidden=True, help="Same as --no-progress.")
@click.option(
    "--allow-funding-gaps",
    is_flag=True,
    help="Run even where positions are held with no funding data in the store (charged 0 "
    "there); metrics.json reports funding_uncovered_share. Same as backtest.allow_funding_gaps.",
)
@click.option(
    "--meta",
    "meta_dir",
    type=click.Path(path_type=Path),
    help="Gate entries with this model folder (sets strategy.meta.model; docs/meta.md).",
)
def backtest(
    config_path: Path | None,
    store: str,
    start: str | None,
    end: str | None,
    out: Path,
    force: bool,
    progress: bool,
    quiet: bool,
    allow_funding_gaps: bool,
    meta_dir: Path | None = None,
) -> None:
    """Backtest the strategy and write metrics.json, equity.csv, weights.parquet,
    trades.parquet, funding.parquet, attribution.csv, config.yaml (the resolved config),
    report.html and round_trips.csv into OUT.

    Targets decided at the close of a bar fill at the next bar's open, with fees, slippage
    and the real funding payments of the data.

    \b
    Examples:
      xsmom backtest --store sample --out runs/demo
      xsmom backtest --config my.yaml --store store --start 2025-09-01 --end 2026-03-01 \\
        --out runs/b --force
    """
    cfg = with_meta(load_config(config_path), meta_dir)
    if allow_funding_gaps:
        bt = cfg.backtest.model_copy(update={"allow_funding_gaps": True})
        cfg = cfg.model_copy(update={"backtest": bt})
    start_ms, end_ms = parse_date_ms(start, "--start"), parse_date_ms(end, "--end")
    check_out_dir(out, force=force)
    steps = tqdm(total=4, desc="backtest", unit="step", disable=quiet or not progress, leave=False)
    steps.set_postfix_str("loading data")
    symbols = list(cfg.data.symbols) or None
    panel = load_panel(resolve_store(store), cfg.data.timeframe, symbols, end_ms=end_ms)
    first = 0 if start_ms is None else int(np.searchsorted(panel.timestamps, start_ms))
    if first >= panel.n_bars:
        raise DataError(f"no bars at or after --start {start} in the store")
    if cfg.strategy.meta.model:
        check_meta_start(cfg.strategy.meta.model, panel, first)
    steps.update()
    steps.set_postfix_str("strategy (first run compiles, ~10 s)")
    targets = compute_targets(panel, cfg.strategy)
    steps.update()
    steps.set_postfix_str("simulating")
    result = run_backtest(panel, cfg, targets=targets, start=first, record_held=True)
    steps.update()
    steps.set_postfix_str("writing report")
    meta = _write(result, panel, cfg, config_path, store, out, first)
    steps.update()
    steps.close()
    _echo(result, meta, out)
    unknown = int(result.metrics["unknown_volume_fills"])
    if unknown:
        click.echo(
            f"WARNING: {unknown} fill(s) had no reference volume and paid "
            f"costs.unknown_volume_bps = {cfg.costs.unknown_volume_bps} bps of impact",
            err=True,
        )


def run_info(
    result: BacktestResult, panel: MarketPanel, cfg: Config, config_path: Path | None, store: str
) -> dict[str, Any]:
    """Return what metrics.json says about the run: period, store, symbols, config."""
    ts = result.timestamps
    iso = pd.to_datetime(np.array([ts[0], ts[-1]]), unit="ms", utc=True)
    return {
        "start": iso[0].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "last_bar": iso[1].strftime("%Y-%m-%dT%H:%M:%SZ"),
        "bars": int(ts.size),
        "timeframe": panel.timeframe,
        "store": store,
        "symbols": list(panel.symbols),
        "config_file": str(config_path) if config_path else None,
        "config_version": version_id(cfg),
        "config_name": cfg.name,
        "initial_equity": result.initial_equity,
    }


def _write(
    result: BacktestResult,
    panel: MarketPanel,
    cfg: Config,
    config_path: Path | None,
    store: str,
    out: Path,
    first: int,
) -> dict[str, str]:
    from xsmom.reports.backtest_page import run_series, write_backtest_report
    from xsmom.reports.trades import round_trips

    vid = version_id(cfg)
    meta = {
        "config": f"{config_path or 'built-in defaults'} (version {vid[:12]})",
        "store": store,
        "bars": f"{result.timestamps.size} x {panel.n_symbols} symbols, {panel.timeframe}",
        "period": f"{format_ms(int(result.timestamps[0]))} .. "
        f"{format_ms(int(result.timestamps[-1]))} UTC",
        "funding data": funding_note(result.metrics),
    }
    if cfg.strategy.meta.model:
        meta["meta model"] = f"{cfg.strategy.meta.model} ({cfg.strategy.meta.mode})"
    write_outputs(result, out, run_info(result, panel, cfg, config_path, store))
    atomic_write_text(out / "config.yaml", f"# version {vid}\n{dump_yaml(cfg)}")
    close = pd.DataFrame(panel.close[first:], columns=list(panel.symbols))
    run = run_series(result, close, panel.timeframe)
    last = close.ffill().iloc[-1]
    trips = round_trips(
        trades_frame(result),
        funding_frame(result),
        {str(s): float(v) for s, v in last.items() if np.isfinite(v)},
    )
    write_backtest_report(result, run, trips, out, f"xsmom backtest: {cfg.name}", meta)
    return meta


def _echo(result: BacktestResult, meta: dict[str, str], out: Path) -> None:
    for k, v in meta.items():
        click.echo(f"{k:>13}: {v}")
    for key in METRIC_KEYS:
        click.echo(f"{key:>13}: {format_metric(key, result.metrics[key])}")
    if meta["funding data"] != "complete":
        click.echo(f"WARNING: funding data: {meta['funding data']}", err=True)
    if result.liquidated:
        click.echo("WARNING: the account was liquidated during the backtest", err=True)
    click.echo(f"wrote {out}/ ({OUTPUTS})")


def funding_note(metrics: dict[str, float]) -> str:
    """Return the report line on funding coverage (uncovered and mark-fallback shares)."""
    share, mark = metrics["funding_uncovered_share"], metrics["funding_mark_fallback_share"]
    parts = []
    if share > 0:
        parts.append(f"{share:.2%} of position-time without funding data (charged 0; allowed)")
    if mark > 0:
        parts.append(f"{mark:.2%} of funding payments at the trade open (no mark candle)")
    return "; ".join(parts) or "complete"
