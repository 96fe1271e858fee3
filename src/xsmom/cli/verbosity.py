"""Log levels for the CLI: ``-v`` info, ``-vv`` xsmom's debug, ``-vvv`` everyone's debug,
given before or after the sub-command (the counts add up)."""

from __future__ import annotations

import logging

import click

from xsmom import redaction

_KEY = "xsmom.verbose"


def configure_logging(verbose: int, *, force_level: bool = False) -> None:
    """Log to stderr at the level ``verbose`` asks for, with every secret masked.

    0 warnings, 1 info, 2 debug for xsmom only: third-party loggers (ccxt echoes request
    headers at debug, urllib3 every URL, numba its compiler passes) stay at INFO unless 3
    asks for them too. ``force_level`` sets the root level even when logging was configured
    already (a ``-v`` after the sub-command raises what the top level set).
    """
    root_level = logging.WARNING if verbose == 0 else logging.INFO
    if verbose >= 3:
        root_level = logging.DEBUG
    logging.basicConfig(level=root_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if force_level:
        logging.getLogger().setLevel(root_level)
    logging.getLogger("xsmom").setLevel(logging.DEBUG if verbose >= 2 else logging.NOTSET)
    logging.captureWarnings(True)  # warnings go through the redacting handlers too
    redaction.install()


def _more(ctx: click.Context, _param: click.Parameter, value: int) -> None:
    if not value:
        return
    root = ctx.find_root()
    total = int(root.meta.get(_KEY, 0)) + value
    root.meta[_KEY] = total
    configure_logging(total, force_level=True)


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
                help="More log output (-v info, -vv debug, -vvv libraries too); also before "
                "the command.",
            )
        )
    return command
