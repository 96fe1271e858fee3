"""``xsmom optimize``: walk-forward optimization with Optuna (see docs/optimize.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xsmom.cli.options import DATE_HELP, check_out_dir, parse_date_ms, progress_option
from xsmom.config import Config, config_from_dict, load_config
from xsmom.config.history import DEFAULT_HISTORY
from xsmom.optimize.api import run_optimize

# Exit status when the search ran but the gate rejected the candidate (errors exit 2).
EXIT_REJECTED = 3


@click.command()
@click.option(
    "--config",
    "config_file",
    type=click.Path(path_type=Path),
    help="Base config (YAML); default: built-in defaults.",
)
@click.option("--store", required=True, help="Data store folder, or 'sample' for the bundled one.")
@click.option(
    "--trials", type=click.IntRange(min=1), help="Trials in the study (default: optimize.trials)."
)
@click.option(
    "--start", help=f"First bar used, {DATE_HELP} (sets optimize.folds.start; default: config)."
)
@click.option(
    "--end",
    help=f"End of the data used (exclusive), {DATE_HELP} (sets optimize.folds.end).",
)
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Output folder.")
@click.option(
    "--storage",
    help="Optuna storage URL (default: sqlite OUT/study.db); postgresql://... to share.",
)
@click.option(
    "--study", help="Study name (default: derived from config and data, so reruns resume)."
)
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Local worker processes.",
)
@click.option(
    "--history",
    type=click.Path(path_type=Path),
    default=DEFAULT_HISTORY,
    show_default=True,
    help="Config history folder for the candidate.",
)
@click.option("--no-history", is_flag=True, help="Do not record the candidate in the history.")
@progress_option()
@click.option("--force", is_flag=True, help="Write into an --out folder that holds other files.")
@click.option(
    "--allow-funding-gaps",
    is_flag=True,
    help="Backtest where the store lacks funding data (charged 0 there) instead of refusing; "
    "same as backtest.allow_funding_gaps.",
)
def optimize(
    config_file: Path | None,
    store: str,
    trials: int | None,
    start: str | None,
    end: str | None,
    out: Path,
    storage: str | None,
    study: str | None,
    workers: int,
    history: Path,
    no_history: bool,
    progress: bool,
    force: bool,
    allow_funding_gaps: bool,
) -> None:
    """Search the config's optimize.space on walk-forward folds; write the candidate config,
    study.json and report.html into OUT. Interrupted, the same command resumes the study.

    \b
    Accepted by the gate: OUT/best_config.yaml, exit status 0.
    Rejected: OUT/candidate_config.yaml (header says REJECTED and why), exit status 3.
    Errors exit with status 2. OUT also gets config.yaml, the resolved base config.

    \b
    Examples:
      xsmom optimize --store sample --trials 100 --out runs/opt
      xsmom optimize --config my.yaml --store store --trials 400 --workers 2 --out runs/opt2
      xsmom optimize --config my.yaml --store store --storage postgresql://u@db/optuna \\
        --study xs-1 --out runs/opt-pg
    """
    cfg = load_config(config_file)
    if allow_funding_gaps:
        bt = cfg.backtest.model_copy(update={"allow_funding_gaps": True})
        cfg = cfg.model_copy(update={"backtest": bt})
    cfg = _with_period(cfg, start, end)
    # a folder holding a study resumes it; anything else is not overwritten silently
    check_out_dir(out, force=force, keep=("study.db", "study.json"))
    run = run_optimize(
        cfg,
        store=store,
        out=out,
        trials=trials,
        storage=storage,
        study=study,
        workers=workers,
        progress=progress,
        history=None if no_history else history,
    )
    an = run.analysis
    click.echo(
        f"study {run.study}: {an.n_trials} trials ({an.n_failed} failed) in {run.seconds:.1f} s"
    )
    click.echo(
        f"walk-forward OOS Sharpe {an.oos_sharpe:.3f} "
        f"(current config {an.current_oos_sharpe:.3f}), "
        f"CI [{an.sharpe_ci[0]:.3f}, {an.sharpe_ci[1]:.3f}], "
        f"deflated Sharpe {an.deflated_sharpe:.3f}, PBO {an.pbo:.3f}"
    )
    verdict = "accepted" if an.gate.accepted else "REJECTED: " + "; ".join(an.gate.reasons())
    click.echo(f"candidate {run.doc['candidate']['version'][:12]} {verdict}")
    name = str(run.doc["candidate"]["file"])
    click.echo(f"wrote {out / name}, {out / 'study.json'}, {out / 'report.html'}")
    if not an.gate.accepted:
        click.echo(
            f"the gate rejected the candidate: {out / name} is not a best config "
            f"(exit status {EXIT_REJECTED})",
            err=True,
        )
        sys.exit(EXIT_REJECTED)


def _with_period(cfg: Config, start: str | None, end: str | None) -> Config:
    """Return ``cfg`` with ``optimize.folds.start/end`` set from --start/--end (validated)."""
    if start is None and end is None:
        return cfg
    parse_date_ms(start, "--start")
    parse_date_ms(end, "--end")
    raw = cfg.model_dump(mode="json")
    folds = raw["optimize"]["folds"]
    folds.update({k: v for k, v in (("start", start), ("end", end)) if v is not None})
    return config_from_dict(raw, "--start/--end")
