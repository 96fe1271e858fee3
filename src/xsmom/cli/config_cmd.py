"""``xsmom config``: validate, show and identify config files."""

from __future__ import annotations

from pathlib import Path

import click

from xsmom.config import dump_yaml, load_config, version_id


@click.group()
def config() -> None:
    """Validate, show and compare configs."""


@config.command()
@click.argument("file", type=click.Path(path_type=Path))
def validate(file: Path) -> None:
    """Check FILE against the schema; print its version id.

    \b
    Examples:
      xsmom config validate my.yaml
      xsmom config validate runs/opt/best_config.yaml
    """
    cfg = load_config(file)
    click.echo(f"ok: {file} (version {version_id(cfg)[:12]})")
    verdict = rejected_verdict(file)
    if verdict:
        click.echo(f"warning: {file} is a candidate the optimizer's gate REJECTED: {verdict}")


def rejected_verdict(file: Path) -> str:
    """Return the failed gate checks named in a rejected candidate's header ('' if none)."""
    lines = file.read_text(encoding="utf-8").splitlines()
    if not lines or not lines[0].startswith("# REJECTED"):
        return ""
    header = [ln for ln in lines if ln.startswith("#")]
    failed: list[str] = []
    if "# failed checks:" in header:
        for ln in header[header.index("# failed checks:") + 1 :]:
            if not ln.startswith("#   "):
                break
            failed.append(ln[4:].strip())
    return "; ".join(failed) or "see the file's header"


@config.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
def show(file: Path | None) -> None:
    """Print FILE resolved with every default (the built-in defaults without FILE).

    \b
    Examples:
      xsmom config show > my.yaml            # every key, defaults included
      xsmom config show runs/opt/best_config.yaml
    """
    cfg = load_config(file)
    click.echo(f"# version {version_id(cfg)}")
    click.echo(dump_yaml(cfg), nl=False)


# --- config versions (history and diff), see docs/optimize.md -----------------------------

_HISTORY_OPTION = click.option(
    "--history",
    "history_dir",
    type=click.Path(path_type=Path),
    default=Path("xsmom-state") / "configs",
    show_default=True,
    help="Config history folder.",
)


@config.command()
@_HISTORY_OPTION
def history(history_dir: Path) -> None:
    """List stored config versions: id, parent, status, time and key metrics.

    \b
    Examples:
      xsmom config history
      xsmom config history --history xsmom-state/history
    """
    from xsmom.config.history import ConfigHistory

    records = ConfigHistory(history_dir).records()
    if not records:
        click.echo(f"no config versions in {history_dir}")
        return
    for r in records:
        m = r.metrics
        shown = " ".join(
            f"{k}={m[k]:.3f}"
            for k in ("oos_sharpe", "deflated_sharpe", "pbo")
            if isinstance(m.get(k), int | float)
        )
        parent = r.parent[:12] if r.parent else "-"
        click.echo(f"{r.version[:12]}  {r.status:<9} parent {parent:<12}  {r.created_at}  {shown}")


@config.command()
@click.argument("a")
@click.argument("b")
@_HISTORY_OPTION
def diff(a: str, b: str, history_dir: Path) -> None:
    """Show the keys that differ between A and B (version id prefixes or config files).

    \b
    Examples:
      xsmom config diff 3f2a9c1b 8d0e4f77
      xsmom config diff my.yaml runs/opt/best_config.yaml
    """
    from xsmom.config.history import ConfigHistory, diff_configs

    hist = ConfigHistory(history_dir)
    label_a, cfg_a = hist.resolve(a)
    label_b, cfg_b = hist.resolve(b)
    rows = diff_configs(cfg_a, cfg_b)
    if not rows:
        click.echo(f"{label_a} and {label_b} are identical")
        return
    click.echo(f"--- {label_a}\n+++ {label_b}")
    for key, va, vb in rows:
        click.echo(f"{key}: {va!r} -> {vb!r}")
