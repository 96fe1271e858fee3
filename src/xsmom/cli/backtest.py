"""``xsmom backtest``: run the strategy over stored bars and write a report."""

from __future__ import annotations

from pathlib import Path

import click
import numpy as np
from tqdm import tqdm

from xsmom.backtest import METRIC_KEYS, run_backtest
from xsmom.backtest.report import format_metric, write_outputs
from xsmom.cli.options import format_ms, parse_date_ms
from xsmom.config import load_config, version_id
from xsmom.data import load_panel
from xsmom.data.bundled import resolve_store
from xsmom.errors import DataError
from xsmom.meta.cli_support import check_meta_start, with_meta
from xsmom.strategy import compute_targets


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
    "--start", help="First bar to trade (UTC date); earlier bars still warm up the signals."
)
@click.option("--end", help="Stop before this UTC date; no bar at or after it is read.")
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="Folder for the outputs."
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
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
    quiet: bool,
    allow_funding_gaps: bool,
    meta_dir: Path | None = None,
) -> None:
    """Backtest the strategy and write metrics.json, equity.csv, weights.parquet,
    trades.parquet, funding.parquet, attribution.csv and report.html into OUT.

    Targets decided at the close of a bar fill at the next bar's open, with fees, slippage
    and the real funding payments of the data.
    """
    cfg = with_meta(load_config(config_path), meta_dir)
    if allow_funding_gaps:
        bt = cfg.backtest.model_copy(update={"allow_funding_gaps": True})
        cfg = cfg.model_copy(update={"backtest": bt})
    start_ms, end_ms = parse_date_ms(start, "--start"), parse_date_ms(end, "--end")
    steps = tqdm(total=4, desc="backtest", unit="step", disable=quiet, leave=False)
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
    result = run_backtest(panel, cfg, targets=targets, start=first)
    steps.update()
    steps.set_postfix_str("writing report")
    vid = version_id(cfg)
    meta = {
        "config": f"{config_path or 'built-in defaults'} (version {vid[:12]})",
        "store": store,
        "bars": f"{result.timestamps.size} x {panel.n_symbols} symbols, {panel.timeframe}",
        "period": f"{format_ms(int(result.timestamps[0]))} .. "
        f"{format_ms(int(result.timestamps[-1]))} UTC",
    }
    meta["funding data"] = funding_note(result.metrics)
    if cfg.strategy.meta.model:
        meta["meta model"] = f"{cfg.strategy.meta.model} ({cfg.strategy.meta.mode})"
    write_outputs(result, out, f"xsmom backtest: {cfg.name}", meta)
    steps.update()
    steps.close()
    for k, v in meta.items():
        click.echo(f"{k:>13}: {v}")
    for key in METRIC_KEYS:
        click.echo(f"{key:>13}: {format_metric(key, result.metrics[key])}")
    if meta["funding data"] != "complete":
        click.echo(f"WARNING: funding data: {meta['funding data']}", err=True)
    if result.liquidated:
        click.echo("WARNING: the account was liquidated during the backtest", err=True)
    unknown = int(result.metrics["unknown_volume_fills"])
    if unknown:
        click.echo(
            f"WARNING: {unknown} fill(s) had no reference volume and paid "
            f"costs.unknown_volume_bps = {cfg.costs.unknown_volume_bps} bps of impact",
            err=True,
        )
    click.echo(
        f"wrote {out}/ (metrics.json, equity.csv, weights.parquet, trades.parquet, "
        "funding.parquet, attribution.csv, report.html)"
    )


def funding_note(metrics: dict[str, float]) -> str:
    """Return the report line on funding coverage (uncovered and mark-fallback shares)."""
    share, mark = metrics["funding_uncovered_share"], metrics["funding_mark_fallback_share"]
    parts = []
    if share > 0:
        parts.append(f"{share:.2%} of position-time without funding data (charged 0; allowed)")
    if mark > 0:
        parts.append(f"{mark:.2%} of funding payments at the trade open (no mark candle)")
    return "; ".join(parts) or "complete"
