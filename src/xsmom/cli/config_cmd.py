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
    """Check FILE against the schema; print its version id."""
    cfg = load_config(file)
    click.echo(f"ok: {file} (version {version_id(cfg)[:12]})")


@config.command()
@click.argument("file", type=click.Path(path_type=Path), required=False)
def show(file: Path | None) -> None:
    """Print FILE resolved with every default (the built-in defaults without FILE)."""
    cfg = load_config(file)
    click.echo(f"# version {version_id(cfg)}")
    click.echo(dump_yaml(cfg), nl=False)
