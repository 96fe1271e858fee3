"""The systemd units: the engine is a notify service with a watchdog, restarted on failure but
not on exit 2 (a human must look), reloaded by SIGHUP; every command line parses."""

from __future__ import annotations

import configparser
import shlex
from pathlib import Path

import click
import pytest

from xsmom.cli.main import cli

UNITS = Path(__file__).resolve().parents[3] / "deploy" / "systemd"


def _unit(name: str) -> configparser.ConfigParser:
    p = configparser.ConfigParser(strict=False, interpolation=None)
    p.optionxform = str  # type: ignore[assignment,method-assign]
    p.read(UNITS / name)
    return p


def test_engine_unit_uses_sd_notify_watchdog_and_restart_policy() -> None:
    svc = _unit("xsmom-live.service")["Service"]
    assert svc["Type"] == "notify" and svc["Restart"] == "on-failure"
    assert int(svc["WatchdogSec"]) >= 10 * 2  # > 10 x poll_s (2 s): pings every look
    assert svc["RestartPreventExitStatus"] == "2"
    assert "-HUP" in svc["ExecReload"] and svc["KillSignal"] == "SIGTERM"


@pytest.mark.parametrize(
    "name", ["xsmom-live.service", "xsmom-health.service", "xsmom-cycle.service"]
)
def test_exec_start_parses(name: str) -> None:
    argv = shlex.split(_unit(name)["Service"]["ExecStart"])[1:]
    # parse under the group's context as `xsmom ...` does: a sub-command parsed on its own
    # would cache a help option without -h and break later -h calls in this process
    parent = click.Context(cli, info_name="xsmom", help_option_names=["-h", "--help"])
    sub = cli.get_command(parent, argv[0])
    assert sub is not None
    ctx = sub.make_context(argv[0], argv[1:], parent=parent, resilient_parsing=True)
    assert ctx.params


def test_timers_exist_for_health_and_cycle() -> None:
    assert "OnUnitActiveSec" in _unit("xsmom-health.timer")["Timer"]
    assert "OnCalendar" in _unit("xsmom-cycle.timer")["Timer"]
