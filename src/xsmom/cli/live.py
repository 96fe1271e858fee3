"""``xsmom live``: run the trading engine (live or paper) of one home folder."""

from __future__ import annotations

import logging
from pathlib import Path

import click

from xsmom.config import Config, load_config
from xsmom.ledger import open_home_ledger
from xsmom.live.home import Home

log = logging.getLogger(__name__)
DEFAULT_HOME = Path("xsmom-home")


def resolve_home(home: Path | None, cfg: Config | None) -> Home:
    """Return the home of ``--home``, else ``live.engine.home``, else ./xsmom-home."""
    if home is not None:
        return Home(home)
    if cfg is not None and cfg.live.engine.home:
        return Home(cfg.live.engine.home)
    return Home(DEFAULT_HOME)


def _log_to_home(home: Home) -> logging.Handler:
    handler = logging.FileHandler(home.logs_dir / "engine.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.setLevel(logging.INFO)
    root = logging.getLogger()
    for h in root.handlers:  # the console keeps the level -v asked for
        if h.level == logging.NOTSET:
            h.setLevel(root.level)
    root.addHandler(handler)
    root.setLevel(min(root.level, logging.INFO) if root.level else logging.INFO)
    return handler


@click.command()
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="YAML config (default: built-in defaults); SIGHUP re-reads it.",
)
@click.option(
    "--home", type=click.Path(path_type=Path, file_okay=False), help="Home folder of the bot."
)
@click.option("--paper", is_flag=True, help="Paper trading on the exchange's (or venue's) data.")
@click.option("--venue", help="Trade the simulated venue at this URL (http://127.0.0.1:PORT).")
@click.option("--db", help="Ledger database URL (default: HOME/ledger.sqlite).")
@click.option(
    "--keys-file",
    type=click.Path(path_type=Path, dir_okay=False),
    help="JSON key file (mode 0600); default: XSMOM_<ID>_API_KEY / _API_SECRET.",
)
@click.option("--poll", "poll_s", type=float, help="Seconds between looks at the clock.")
@click.option(
    "--max-bars", type=click.IntRange(min=1), help="Stop after this many bars (tests, dry runs)."
)
def live(
    config_path: Path | None,
    home: Path | None,
    paper: bool,
    venue: str | None,
    db: str | None,
    keys_file: Path | None,
    poll_s: float | None,
    max_bars: int | None,
) -> None:
    """Trade the strategy: every closed bar, targets -> safety gate -> orders -> ledger.

    Reconciles the ledger with the exchange before any order (exit 2 when they cannot be
    reconciled). SIGTERM/SIGINT finish the current step and exit; SIGHUP reloads --config at
    the next bar. With ``rollout.enabled: true`` the engine also runs the staged rollout
    (paper candidates, the small stage's capital split, promotions; docs/rollout.md). See
    docs/operations.md.

    \b
    Examples:
      xsmom live --config my.yaml --home bot --paper                  # paper trading
      xsmom live --config my.yaml --home bot --venue http://127.0.0.1:8765
      xsmom live --config my.yaml --home bot --db postgresql://bot@db/xsmom
    """
    from xsmom.live.runner import LiveOptions, build_engine, run_loop
    from xsmom.live.signals import StopFlags
    from xsmom.notify import build_channels, worker_from

    cfg = load_config(config_path)
    bot = resolve_home(home, cfg).create()
    handler = _log_to_home(bot)
    opts = LiveOptions(
        home=bot.path, paper=paper, venue=venue, keys_file=keys_file, max_bars=max_bars
    )
    ledger = open_home_ledger(bot.path, db)
    channels = build_channels(cfg.notify)
    worker = worker_from(cfg.notify, ledger, channels)
    from xsmom.live.cycle import Alerts

    reload = (lambda: load_config(config_path)) if config_path is not None else None
    engine = build_engine(cfg, opts, bot, ledger, alerts=Alerts(channels), reload=reload)
    from xsmom.cli.live_daily import daily_report_hook

    engine.hooks.append(daily_report_hook(channels, bot.path / "reports"))
    from xsmom.cli.live_rollout import wire_rollout

    rollout = None
    flags = StopFlags()
    flags.install()
    worker.start()
    try:
        rollout = wire_rollout(engine, cfg, ledger, channels)
        n = run_loop(
            engine,
            flags,
            poll_s=poll_s or cfg.live.engine.poll_s,
            max_bars=max_bars,
            after_step=worker.wake,
        )
        click.echo(f"engine stopped after {n} bar(s); ledger {ledger.url}")
    finally:
        worker.wake()
        worker.stop(timeout_s=5.0)
        if rollout is not None:
            rollout.close()
        engine.parts.close()
        ledger.close()
        logging.getLogger().removeHandler(handler)
