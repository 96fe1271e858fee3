"""The ``xsmom`` command: one sub-command group per module in this package."""

from __future__ import annotations

import importlib
import logging
import sys

import click

from xsmom import __version__
from xsmom.errors import XsmomError

# name -> "module:attribute"; imported only when the command runs or help lists it.
COMMANDS: dict[str, str] = {
    "backtest": "xsmom.cli.backtest:backtest",
    "config": "xsmom.cli.config_cmd:config",
    "cycle": "xsmom.cli.cycle:cycle",
    "data": "xsmom.cli.data:data",
    "exchange": "xsmom.cli.exchange:exchange",
    "health": "xsmom.cli.ops:health",
    "live": "xsmom.cli.live:live",
    "notify": "xsmom.cli.notify:notify",
    "ledger": "xsmom.cli.ledger:ledger",
    "optimize": "xsmom.cli.optimize:optimize",
    "resume": "xsmom.cli.ops:resume",
    "status": "xsmom.cli.ops:status",
    "stop": "xsmom.cli.ops:stop",
    "venue": "xsmom.cli.venue:venue",
}


class LazyGroup(click.Group):
    """A group whose sub-commands live in their own modules and load on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = COMMANDS.get(cmd_name)
        if target is None:
            return None
        module, attr = target.split(":")
        command = getattr(importlib.import_module(module), attr)
        assert isinstance(command, click.Command)
        return command


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xsmom")
@click.option("-v", "--verbose", count=True, help="More log output (-v info, -vv debug).")
def cli(verbose: int) -> None:
    """Cross-sectional momentum for USDT-margined perpetual futures.

    \b
    Research:  xsmom backtest --store sample --out runs/demo
               xsmom optimize --store sample --trials 200 --out runs/opt
               xsmom cycle --store DIR --state xsmom-state
    Data:      xsmom data import SRC --store DIR
               xsmom data download --store DIR --symbols BTC/USDT:USDT
               xsmom data list --store DIR
    Config:    xsmom config validate FILE | show FILE | history | diff A B
    Exchange:  xsmom exchange check --exchange binanceusdm
    Venue:     xsmom venue serve --store sample --port 8765
    Notify:    xsmom notify test --config my.yaml
    Ledger:    xsmom ledger export --home xsmom-home --out DIR | info | backup
    Trading:   xsmom live --config my.yaml --home bot [--paper] [--venue URL]
               xsmom status --home bot [--json] | health | stop [--flatten] | resume

    Every command takes -h for its options.
    """
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def main() -> None:
    """Entry point of the console script: clean one-line errors instead of tracebacks."""
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except XsmomError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
