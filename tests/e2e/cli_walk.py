"""Every runnable command of the CLI, from the CLI itself (for tests that must cover them all)."""

from __future__ import annotations

import click

from xsmom.cli.main import cli


def leaf_paths() -> list[list[str]]:
    """Return every runnable command as its words after ``xsmom`` (``["data", "import"]``)."""
    ctx = click.Context(cli)
    out: list[list[str]] = []

    def walk(cmd: click.Command, path: list[str]) -> None:
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                sub = cmd.get_command(ctx, name)
                assert sub is not None, f"{' '.join([*path, name])} is listed but does not load"
                walk(sub, [*path, name])
        else:
            out.append(path)

    walk(cli, [])
    return out
