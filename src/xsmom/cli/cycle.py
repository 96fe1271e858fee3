"""``xsmom cycle``: refresh data, optimize, gate, stage and notify (see docs/optimize.md)."""

from __future__ import annotations

from pathlib import Path

import click

from xsmom.config import load_config
from xsmom.optimize.cycle import CycleInputs, run_cycle
from xsmom.optimize.notify import ConsoleNotifier


@click.command()
@click.option(
    "--config", "config_file", type=click.Path(path_type=Path), help="Current config (YAML)."
)
@click.option("--store", required=True, help="Data store folder, or 'sample'.")
@click.option("--trials", type=click.IntRange(min=1), help="Trials (default: optimize.trials).")
@click.option(
    "--state",
    type=click.Path(path_type=Path),
    default=Path("xsmom-state"),
    show_default=True,
    help="State folder: cycles, runs, config history.",
)
@click.option("--storage", help="Optuna storage URL (default: sqlite in the cycle's run folder).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Local worker processes.",
)
@click.option("--exchange", help="ccxt exchange id to refresh data from (default: no refresh).")
@click.option("--api-base", help="Base URL replacing the exchange's API host (mirror, local fake).")
@click.option("--progress/--no-progress", default=False, show_default=True, help="Progress bar.")
def cycle(
    config_file: Path | None,
    store: str,
    trials: int | None,
    state: Path,
    storage: str | None,
    workers: int,
    exchange: str | None,
    api_base: str | None,
    progress: bool,
) -> None:
    """Run one optimization cycle; rerunning the same inputs repeats nothing.

    \b
    Examples:
      xsmom cycle --store store --state xsmom-state
      xsmom cycle --config my.yaml --store store --exchange binanceusdm --progress
    """
    cfg = load_config(config_file)
    inp = CycleInputs(
        config=cfg,
        store=store,
        state=state,
        trials=trials or cfg.optimize.trials,
        storage=storage,
        workers=workers,
        exchange=exchange,
        api_base=api_base,
        progress=progress,
    )
    st = run_cycle(inp, ConsoleNotifier(), echo=click.echo)
    click.echo(f"cycle {st.cycle}: done ({state / 'cycles' / (st.cycle + '.json')})")
