"""``xsmom meta``: train a meta-labeler on the strategy's entries, and report on it."""

from __future__ import annotations

from pathlib import Path

import click

from xsmom.cli.options import parse_date_ms
from xsmom.config import load_config
from xsmom.data import load_panel
from xsmom.data.bundled import resolve_store
from xsmom.meta.labels import LabelSpec, default_spec
from xsmom.meta.models import TrainOptions
from xsmom.meta.report import write_report
from xsmom.meta.train import train_single, train_walk_forward


@click.group()
def meta() -> None:
    """Meta-labeling: which of the strategy's entries to take (docs/meta.md)."""


def _spec(base: LabelSpec, pt: float | None, stop: float | None, horizon: int | None) -> LabelSpec:
    return LabelSpec(
        profit_take=base.profit_take if pt is None else pt,
        stop=base.stop if stop is None else stop,
        horizon=base.horizon if horizon is None else horizon,
        catastrophic=base.catastrophic,
    )


@meta.command()
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="YAML config.")
@click.option("--store", required=True, help="Data store folder, or 'sample'.")
@click.option("--out", type=click.Path(path_type=Path), required=True, help="Models folder.")
@click.option("--start", help="First bar of the training data, UTC, YYYY-MM-DD[THH:MM].")
@click.option("--end", help="End of the training data (exclusive), UTC, YYYY-MM-DD[THH:MM].")
@click.option("--walk-forward", is_flag=True, help="One model per optimize.folds fold.")
@click.option(
    "--model",
    type=click.Choice(["auto", "logistic", "lightgbm"]),
    default="auto",
    help="Learner; auto keeps the better CV objective.",
)
@click.option(
    "--objective",
    type=click.Choice(["pnl", "f1"]),
    default="pnl",
    help="Threshold choice on CV: expected PnL or F1.",
)
@click.option("--calibration", type=click.Choice(["sigmoid", "isotonic"]), default="sigmoid")
@click.option("--cv-folds", type=click.IntRange(2, 20), default=5, help="Purged CV folds.")
@click.option("--embargo", type=click.IntRange(0), help="CV embargo in bars (default: horizon).")
@click.option("--profit-take", type=click.FloatRange(0), help="ATRs (default: exits.atr_stop).")
@click.option("--stop", type=click.FloatRange(0), help="ATRs (default: exits.atr_stop).")
@click.option("--horizon", type=click.IntRange(1), help="Max bars held (default: rebalance).")
@click.option("--seed", type=int, default=7, help="LightGBM seed.")
def train(
    config_path: Path | None,
    store: str,
    out: Path,
    start: str | None,
    end: str | None,
    walk_forward: bool,
    model: str,
    objective: str,
    calibration: str,
    cv_folds: int,
    embargo: int | None,
    profit_take: float | None,
    stop: float | None,
    horizon: int | None,
    seed: int,
) -> None:
    """Train on the strategy's entries and write OUT/meta-<version>/ atomically.

    A single model gates closes after its training data; --walk-forward trains one per
    fold of optimize.folds, each gating its own test window.

    \b
    Examples:
      xsmom meta train --store sample --out models
      xsmom meta train --config my.yaml --store store --start 2025-06-01 --walk-forward --out models
    """
    cfg = load_config(config_path)
    spec = _spec(default_spec(cfg), profit_take, stop, horizon)
    opts = TrainOptions(
        model=model,  # type: ignore[arg-type]  # click.Choice restricts the values
        objective=objective,  # type: ignore[arg-type]
        calibration=calibration,  # type: ignore[arg-type]
        cv_folds=cv_folds,
        embargo=spec.horizon if embargo is None else embargo,
        seed=seed,
    )
    symbols = list(cfg.data.symbols) or None
    panel = load_panel(
        resolve_store(store),
        cfg.data.timeframe,
        symbols,
        start_ms=parse_date_ms(start, "--start"),
        end_ms=parse_date_ms(end, "--end"),
    )
    run = train_walk_forward if walk_forward else train_single
    path = run(panel, cfg, spec, opts, out)
    click.echo(f"model folder: {path}")
    click.echo(f"use it: xsmom backtest --meta {path} ...  or strategy.meta.model: {path}")


@meta.command()
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path), help="HTML file (default: in MODEL_DIR).")
def report(model_dir: Path, out: Path | None) -> None:
    """Write an HTML report of a model folder (precision, recall, lift, calibration).

    \b
    Example:
      xsmom meta report models/meta-3f2a9c1b --out meta.html
    """
    target = out or model_dir / "report.html"
    write_report(model_dir, target)
    click.echo(f"wrote {target}")


@meta.command()
@click.argument("model_dir", type=click.Path(path_type=Path, exists=True, file_okay=False))
@click.option("--config", "config_path", type=click.Path(path_type=Path), help="YAML config.")
@click.option("--store", required=True, help="Data store folder, or 'sample'.")
@click.option("--start", help="First bar loaded, UTC, YYYY-MM-DD[THH:MM], as given to meta train.")
@click.option(
    "--end", help="End of the data (exclusive), UTC, YYYY-MM-DD[THH:MM], as given to meta train."
)
def compare(
    model_dir: Path, config_path: Path | None, store: str, start: str | None, end: str | None
) -> None:
    """Backtest each walk-forward test window with and without the filter (out of sample).

    \b
    Example:
      xsmom meta compare models/meta-3f2a9c1b --config my.yaml --store sample
    """
    from xsmom.cli.options import format_ms
    from xsmom.meta.compare import KEYS
    from xsmom.meta.compare import compare as run_compare

    cfg = load_config(config_path)
    symbols = list(cfg.data.symbols) or None
    panel = load_panel(
        resolve_store(store),
        cfg.data.timeframe,
        symbols,
        start_ms=parse_date_ms(start, "--start"),
        end_ms=parse_date_ms(end, "--end"),
    )
    click.echo("window  period                               " + "".join(f"{k:>22}" for k in KEYS))
    for r in run_compare(panel, cfg, model_dir):
        period = f"{format_ms(r.start_ms)} .. {format_ms(r.stop_ms)}"
        cells = "".join(f"{r.plain[k]:>10.4f} -> {r.gated[k]:<8.4f}" for k in KEYS)
        click.echo(f"{r.name:<7} {period:<36} {cells}")
    click.echo("each cell: without -> with the filter")
    from xsmom.meta.compare import oos_classification

    click.echo("\nout-of-sample classification of the strategy's entries, per window:")
    rows = oos_classification(panel, cfg, model_dir)
    cols = list(rows[0][1])
    click.echo("window  " + "".join(f"{k:>15}" for k in cols))
    for name, row in rows:
        click.echo(f"{name:<7} " + "".join(f"{row[k]:>15.4f}" for k in cols))
