"""``xsmom optimize``: walk-forward optimization with Optuna (see docs/optimize.md)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from xsmom.config import load_config
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
@click.option(
    "--progress/--no-progress", default=True, show_default=True, help="Progress bar on stderr."
)
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
    out: Path,
    storage: str | None,
    study: str | None,
    workers: int,
    history: Path,
    no_history: bool,
    progress: bool,
    allow_funding_gaps: bool,
) -> None:
    """Search the config's optimize.space on walk-forward folds; write the candidate config,
    study.json and report.html into OUT. Interrupted, the same command resumes the study.

    \b
    Accepted by the gate: OUT/best_config.yaml, exit status 0.
    Rejected: OUT/candidate_config.yaml (header says REJECTED and why), exit status 3.
    Errors exit with status 2."""
    cfg = load_config(config_file)
    if allow_funding_gaps:
        bt = cfg.backtest.model_copy(update={"allow_funding_gaps": True})
        cfg = cfg.model_copy(update={"backtest": bt})
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
