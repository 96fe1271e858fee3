"""Operator commands: ``xsmom status``, ``health``, ``stop``, ``resume``.

They read the home folder and its ledger only (no exchange, no ccxt): safe to run beside the
engine, from cron or a monitor. ``status --json`` is a stable interface (docs/operations.md).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from xsmom.errors import ConfigError
from xsmom.exchange.clock import wall_ms
from xsmom.ledger import Ledger, LedgerReads, open_home_ledger
from xsmom.live.guards import StopMode
from xsmom.live.heartbeat import iso_utc, read_heartbeat
from xsmom.live.home import Home

HOME_HELP = "Home folder of the bot (default ./xsmom-home)."
DEFAULT_STALE_S = 900.0


def _home(path: Path | None, *, must_exist: bool = True) -> Home:
    home = Home(path or Path("xsmom-home"))
    if must_exist and not home.path.is_dir():
        raise ConfigError(f"no bot home at {home.path}: check --home")
    return home


def _positions(ledger: LedgerReads, account: dict[str, Any]) -> dict[str, dict[str, Any]]:
    seen = account.get("positions") or {}
    out = {}
    for s, p in ledger.positions().items():
        info = seen.get(s, {})
        out[s] = {
            "qty": p.qty,
            "entry_price": p.entry_price,
            "mark_price": info.get("mark_price"),
            "unrealized_pnl": info.get("unrealized"),
        }
    return out


def status_doc(home: Home, ledger: Ledger, now_wall_ms: int) -> dict[str, Any]:
    """Return the status document (``xsmom status --json``)."""
    with ledger.snapshot() as r:
        gate = r.guard_state("gate")
        change = r.trading_state()
        meta = r.meta()
        equity = r.last_equity()
        guards = {
            name: dict(v.state.get("verdict", {}))
            for name, v in r.guard_states().items()
            if name != "gate"
        }
        positions = _positions(r, meta.get("account") or {})
        open_orders = len(r.open_orders())
    if gate is not None:
        state, reason = str(gate.state["state"]), str(gate.state["reason"])
    elif change is not None:
        state, reason = change.to_state, change.reason
    else:
        state, reason = "halted", "the engine has not run a cycle yet"
    beat = read_heartbeat(home.heartbeat_path)
    stop = home.read_stop()
    last_bar = meta.get("last_bar")
    return {
        "state": state.upper(),
        "reason": reason,
        "last_bar": iso_utc(int(last_bar)) if last_bar is not None else None,
        "heartbeat_age_s": None if beat is None else round(beat.age_s(now_wall_ms), 3),
        "config_version": meta.get("config_version"),
        "equity": None if equity is None else equity.equity,
        "positions": positions,
        "open_orders": open_orders,
        "guards": guards,
        "breaker": guards.get("breaker"),
        "reconcile": meta.get("reconcile"),
        "stop_file": None if stop is None else stop.mode.value,
        "pid": None if beat is None else beat.pid,
        "home": str(home.path),
    }


def _print_status(doc: dict[str, Any]) -> None:
    click.echo(f"state        {doc['state']}  ({doc['reason'] or 'every guard clear'})")
    click.echo(f"last bar     {doc['last_bar']}")
    age = doc["heartbeat_age_s"]
    click.echo(f"heartbeat    {'none' if age is None else f'{age:.0f} s ago'}")
    click.echo(f"config       {doc['config_version']}")
    click.echo(f"equity       {doc['equity']}")
    click.echo(f"open orders  {doc['open_orders']}")
    if doc["stop_file"]:
        click.echo(f"STOP file    {doc['stop_file']}")
    for s, p in sorted(doc["positions"].items()):
        pnl = p["unrealized_pnl"]
        click.echo(
            f"position     {s} {p['qty']:+g} @ {p['entry_price']:g}"
            f"  pnl {'n/a' if pnl is None else f'{pnl:+.2f}'}"
        )
    for name, v in sorted(doc["guards"].items()):
        if v.get("state", "active") != "active":
            click.echo(f"guard        {name}: {v.get('state')} ({v.get('reason')})")
    rec = doc["reconcile"] or {}
    if rec and not rec.get("ok", True):
        click.echo(f"reconcile    FAILED: {'; '.join(rec.get('differences', []))}")


@click.command()
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), help=HOME_HELP)
@click.option("--db", help="Ledger database URL (default: HOME/ledger.sqlite).")
@click.option("--json", "as_json", is_flag=True, help="One JSON document (stable keys).")
def status(home: Path | None, db: str | None, as_json: bool) -> None:
    """Show trading state and why, positions, orders, guards, last bar, heartbeat age.

    \b
    Examples:
      xsmom status --home bot
      xsmom status --home bot --json | jq .state
    """
    bot = _home(home)
    with open_home_ledger(bot.path, db, must_exist=True) as ledger:
        doc = status_doc(bot, ledger, wall_ms())
    if as_json:
        click.echo(json.dumps(doc, sort_keys=True))
    else:
        _print_status(doc)


def health_problem(doc: dict[str, Any], max_age_s: float) -> str | None:
    """Return why the bot is unhealthy, or None."""
    age = doc["heartbeat_age_s"]
    if age is None:
        return "no heartbeat: the engine has never run in this home"
    if age > max_age_s:
        return f"heartbeat stale: {age:.0f} s old (limit {max_age_s:.0f} s)"
    rec = doc["reconcile"] or {}
    if rec and not rec.get("ok", True):
        return f"reconciliation failed: {'; '.join(rec.get('differences', []))}"
    if doc["state"] == "HALTED":
        return f"trading HALTED: {doc['reason']}"
    return None


@click.command()
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), help=HOME_HELP)
@click.option("--db", help="Ledger database URL (default: HOME/ledger.sqlite).")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Config: live.engine.heartbeat_stale_s and the notify channels.",
)
@click.option("--max-age", type=float, help="Stale beyond this many seconds (overrides config).")
@click.option("--notify", "notify_", is_flag=True, help="Enqueue a stale-heartbeat alert.")
def health(
    home: Path | None,
    db: str | None,
    config_path: Path | None,
    max_age: float | None,
    notify_: bool,
) -> None:
    """Exit 0 when healthy; else exit 1 with the reason on one line (for systemd, cron).

    \b
    Examples:
      xsmom health --home bot || echo unhealthy
      xsmom health --home bot --notify      # also alert on a stale heartbeat
    """
    from xsmom.config import load_config

    cfg = load_config(config_path)
    limit = max_age if max_age is not None else cfg.live.engine.heartbeat_stale_s
    bot = _home(home)
    with open_home_ledger(bot.path, db, must_exist=True) as ledger:
        doc = status_doc(bot, ledger, wall_ms())
        problem = health_problem(doc, limit)
        if problem and notify_ and problem.startswith(("heartbeat", "no heartbeat")):
            _notify_stale(bot, ledger, cfg, limit)
    if problem is None:
        click.echo(f"healthy: {doc['state']}, last bar {doc['last_bar']}")
        return
    click.echo(f"unhealthy: {problem}")
    sys.exit(1)


def _notify_stale(home: Home, ledger: Ledger, cfg: Any, limit: float) -> None:
    from xsmom.notify import StaleHeartbeatDetected, build_channels, enqueue

    beat = read_heartbeat(home.heartbeat_path)
    now = wall_ms()
    last = beat.wall_ms if beat is not None else 0
    msg = StaleHeartbeatDetected(
        ts_event=now, ts_init=now, last_beat_ms=last, threshold_s=limit, home=str(home.path)
    )
    enqueue(ledger, msg, build_channels(cfg.notify), now)


@click.command()
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), help=HOME_HELP)
@click.option("--flatten", is_flag=True, help="Close every position (else: pause, keep them).")
def stop(home: Path | None, flatten: bool) -> None:
    """Write the emergency stop file: the engine halts (or flattens) at its next look.

    \b
    Examples:
      xsmom stop --home bot                 # pause: no new orders
      xsmom stop --home bot --flatten       # close every position
    """
    bot = _home(home)
    bot.write_stop(StopMode.FLATTEN if flatten else StopMode.PAUSE)
    click.echo(f"STOP ({'flatten' if flatten else 'pause'}) written to {bot.stop_path}")


@click.command()
@click.option("--home", type=click.Path(path_type=Path, file_okay=False), help=HOME_HELP)
def resume(home: Path | None) -> None:
    """Remove the emergency stop file: trading resumes at the next bar (if no guard objects).

    \b
    Example:
      xsmom resume --home bot
    """
    bot = _home(home)
    if bot.clear_stop():
        click.echo(f"removed {bot.stop_path}")
    else:
        click.echo(f"no STOP file in {bot.path}")
