"""The ``xsmom`` command: one sub-command group per module in this package."""

from __future__ import annotations

import importlib
import sys

import click

from xsmom import __version__, redaction
from xsmom.cli.verbosity import add_verbose_option, remember
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
    "meta": "xsmom.cli.meta:meta",
    "optimize": "xsmom.cli.optimize:optimize",
    "resume": "xsmom.cli.ops:resume",
    "status": "xsmom.cli.ops:status",
    "stop": "xsmom.cli.ops:stop",
    "report": "xsmom.cli.report:report",
    "rollout": "xsmom.cli.rollout:rollout",
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
        return add_verbose_option(command)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="xsmom")
@click.option(
    "-v",
    "--verbose",
    count=True,
    help="More log output: -v info, -vv xsmom debug, -vvv debug of libraries too (ccxt, "
    "urllib3). Keys and secrets are masked in every line.",
)
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
    Meta:      xsmom meta train --store DIR --out models | report MODEL_DIR
    Exchange:  xsmom exchange check --exchange binanceusdm
    Venue:     xsmom venue serve --store sample --port 8765
    Notify:    xsmom notify test --config my.yaml
    Ledger:    xsmom ledger export --home xsmom-home --out DIR | info | backup
    Rollout:   xsmom rollout submit FILE | status | promote V | rollback [V] | history
    Trading:   xsmom live --config my.yaml --home bot [--paper] [--venue URL]
               xsmom status --home bot [--json] | health | stop [--flatten] | resume
    Reports:   xsmom report daily --home xsmom-home --date 2026-01-02

    Every command takes -h for its options.
    """
    remember(click.get_current_context(), verbose)


def main() -> None:
    """Entry point of the console script: clean one-line errors instead of tracebacks."""
    redaction.register_env()  # before anything can fail and print
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except XsmomError as exc:
        message = " ".join(str(exc).split())  # one line, whatever the message held
        click.echo(f"error: {redaction.redact(message)}", err=True)
        sys.exit(2)


if __name__ == "__main__":
    main()
