"""Log levels for the CLI: ``-v`` (info) and ``-vv`` (debug), before or after the sub-command.

Chatty libraries stay at INFO even at ``-vv`` (their DEBUG output would bury ours): ccxt's
every request, urllib3 and httpx connections, matplotlib's font search, numba's compiler.
"""

from __future__ import annotations

import logging

import click

QUIET_LIBRARIES = (
    "ccxt",
    "urllib3",
    "httpx",
    "httpcore",
    "matplotlib",
    "numba",
    "asyncio",
    "PIL",
    "selenium",
    "alembic",
    "sqlalchemy",
    "optuna",
    "filelock",
    "fsspec",
)
_KEY = "xsmom.verbose"


def configure_logging(verbose: int) -> None:
    """Set the root level for ``verbose`` (0 warning, 1 info, 2+ debug); libraries at most INFO."""
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    for name in QUIET_LIBRARIES:
        logging.getLogger(name).setLevel(max(level, logging.INFO))


def _more(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if not value:
        return
    root = ctx.find_root()
    total = int(root.meta.get(_KEY, 0)) + value
    root.meta[_KEY] = total
    configure_logging(total)


def remember(ctx: click.Context, verbose: int) -> None:
    """Record the top-level ``-v`` count and apply it."""
    ctx.meta[_KEY] = verbose
    configure_logging(verbose)


def add_verbose_option(command: click.Command) -> click.Command:
    """Give ``command`` and every sub-command below it a ``-v`` option (counted with the
    top-level one)."""
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_verbose_option(sub)
        return command
    if not any("-v" in p.opts for p in command.params):
        command.params.append(
            click.Option(
                ["-v", "--verbose"],
                count=True,
                expose_value=False,
                callback=_more,
                is_eager=True,
                help="More log output (-v info, -vv debug); also before the command.",
            )
        )
    return command
