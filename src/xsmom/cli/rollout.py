"""``xsmom rollout``: the staged rollout of a bot's config versions (see docs/rollout.md)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

HOME_HELP = "Bot home folder (ledger HOME/ledger.sqlite, store HOME/store)."
DB_HELP = "Ledger database URL instead of the home's file (sqlite:///FILE, postgresql://...)."
STORE_HELP = "Market-data store for the evaluator's backtest (default: HOME/store)."


def _options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option("--store", help=STORE_HELP)(f)
    f = click.option("--db", help=DB_HELP)(f)
    return click.option(
        "--home",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("xsmom-home"),
        show_default=True,
        help=HOME_HELP,
    )(f)


def iso(ms: int) -> str:
    """Return epoch ms as ISO 8601 UTC."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@contextmanager
def _pipeline(home: Path, db: str | None, store: str | None, *, alerts: bool) -> Iterator[Any]:
    from xsmom.data.bundled import resolve_store
    from xsmom.ledger import open_home_ledger
    from xsmom.rollout import Pipeline, active_config

    with open_home_ledger(home, db, must_exist=True) as led:
        channels: list[Any] = []
        cfg = active_config(led)
        if alerts and cfg is not None:
            from xsmom.notify import build_channels

            channels = build_channels(cfg.notify)
        yield Pipeline(led, resolve_store(store or home / "store"), channels=channels)


def ledger_now(led: Any) -> int:
    """Return the ledger's clock: its latest engine time (equity, stage change), else now.

    The engine stamps the ledger with the exchange's time; using it here keeps manual
    changes in step with a replayed or accelerated run.
    """
    times = [t.ts for t in led.rollout_history()[-1:]]
    last = led.last_equity()
    times += [last.ts] if last is not None else []
    return max(times) if times else int(time.time() * 1000)


@click.group()
def rollout() -> None:
    """Stage new config versions: candidate -> paper -> small -> full, with rollback.

    \b
    Examples:
      xsmom rollout submit new.yaml --home xsmom-home
      xsmom rollout status --home xsmom-home --json
      xsmom rollout promote 3f2a9c1d --home xsmom-home
      xsmom rollout rollback --home xsmom-home
      xsmom rollout history --home xsmom-home
    """


@rollout.command(short_help="Add a config as a candidate.")
@click.argument("config_file", type=click.Path(path_type=Path, dir_okay=False))
@_options
def submit(config_file: Path, home: Path, db: str | None, store: str | None) -> None:
    """Add CONFIG_FILE as a candidate (a version already in the rollout is not added twice).

    \b
    Example:
      xsmom rollout submit runs/opt/best_config.yaml --home bot
    """
    from xsmom.config import load_config
    from xsmom.ledger import open_home_ledger
    from xsmom.rollout import submit as do_submit

    cfg = load_config(config_file)
    if db is None:
        from xsmom.live import Home

        Home(home).create()
    with open_home_ledger(home, db) as led:
        res = do_submit(
            led, cfg, source=f"xsmom rollout submit {config_file}", now_ms=ledger_now(led)
        )
    if res.added:
        click.echo(f"added {res.version[:12]} as a candidate")
    else:
        click.echo(f"{res.version[:12]} is already in the rollout (stage {res.stage}): not added")


@rollout.command(short_help="Stages, verdicts and the active version.")
@_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(home: Path, db: str | None, store: str | None, as_json: bool) -> None:
    """Show every version's stage, since when, the evaluator's figures, and what traded.

    ``plan`` is what the engine traded at its last bar: each version's share of the capital
    (two versions while one is at small).

    \b
    Examples:
      xsmom rollout status --home bot
      xsmom rollout status --home bot --json
    """
    from xsmom.live.active import META_PLAN
    from xsmom.rollout import active_version

    with _pipeline(home, db, store, alerts=False) as pl:
        now = ledger_now(pl.ledger)
        active = active_version(pl.ledger)
        plan = pl.ledger.get_meta(META_PLAN)
        rows = list(pl.ledger.rollout_stages().values())
        settings = pl.settings
        entries = [_entry(pl, row, now, settings) for row in rows]
    if as_json:
        doc = {"active_version": active, "now": iso(now), "versions": entries, "plan": plan}
        click.echo(json.dumps(doc, indent=2, sort_keys=True))
        return
    click.echo(f"active version: {active or 'none'}")
    if plan:
        shares = ", ".join(f"{f:g} x {v[:12]}" for v, f in plan["shares"].items())
        note = f" ({plan['note']})" if plan.get("note") else ""
        click.echo(f"traded at bar {iso(int(plan['bar_ts']))}: {shares}{note}")
    for e in entries:
        mark = "*" if e["version"] == active else " "
        ev = e["evaluation"]
        verdict = (
            ""
            if ev is None
            else f"  {ev.get('action', 'error')}: "
            + "; ".join(ev.get("reasons", [ev.get("error", "")]))
        )
        click.echo(f"{mark} {e['version'][:12]}  {e['stage']:<11} since {e['since']}{verdict}")


def _entry(pl: Any, row: Any, now: int, settings: Any) -> dict[str, Any]:
    """Return one version of ``status``; an evaluation that cannot run shows its error."""
    from xsmom.errors import DataError

    try:
        verdict = pl.evaluate(row, now, settings)
        evaluation = None if verdict is None else verdict.to_json()
    except DataError as exc:  # e.g. a store without the live window: shown, not hidden
        evaluation = {"error": str(exc)}
    return {
        "version": row.version_id,
        "stage": row.stage,
        "since": iso(row.since_ms),
        "since_ms": row.since_ms,
        "detail": dict(row.detail),
        "evaluation": evaluation,
    }


@rollout.command(short_help="Move a version one stage forward.")
@click.argument("version")
@_options
def promote(version: str, home: Path, db: str | None, store: str | None) -> None:
    """Promote VERSION (a version-id prefix) by one stage; to full it becomes active.

    \b
    Example:
      xsmom rollout promote 9c326bee7bd8 --home bot
    """
    from xsmom.rollout import resolve

    with _pipeline(home, db, store, alerts=True) as pl:
        vid = resolve(pl.ledger, version)
        done = pl.promote(vid, ledger_now(pl.ledger), reason="promoted by hand")
    for t in done:
        click.echo(f"{t.version[:12]}: {t.from_stage} -> {t.to_stage}")


@rollout.command(short_help="Roll a version back (default: the active one).")
@click.argument("version", required=False)
@_options
def rollback(version: str | None, home: Path, db: str | None, store: str | None) -> None:
    """Roll back VERSION; the active version returns to the version it replaced.

    \b
    Examples:
      xsmom rollout rollback --home bot              # the version being rolled out
      xsmom rollout rollback 9c326bee7bd8 --home bot
    """
    from xsmom.rollout import resolve

    with _pipeline(home, db, store, alerts=True) as pl:
        vid = resolve(pl.ledger, version) if version else None
        done = pl.rollback(vid, ledger_now(pl.ledger), reason="rolled back by hand")
    for t in done:
        click.echo(f"{t.version[:12]}: {t.from_stage} -> {t.to_stage}")


@rollout.command(short_help="Every stage change, oldest first.")
@_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def history(home: Path, db: str | None, store: str | None, as_json: bool) -> None:
    """List every stage change with its reason.

    \b
    Example:
      xsmom rollout history --home bot
    """
    from xsmom.ledger import open_home_ledger

    with open_home_ledger(home, db, must_exist=True) as led:
        rows = led.rollout_history()
    if as_json:
        doc = [
            {
                "ts": iso(r.ts),
                "version": r.version_id,
                "from_stage": r.from_stage,
                "to_stage": r.to_stage,
                "reason": r.reason,
            }
            for r in rows
        ]
        click.echo(json.dumps(doc, indent=2))
        return
    for r in rows:
        click.echo(
            f"{iso(r.ts)}  {r.version_id[:12]}  {r.from_stage or 'new'} -> {r.to_stage}: {r.reason}"
        )
